"""The recipients tab: each recipient's text, parts and BSG status, a status filter, keyset
pages by seq, and the ledger export and "retry failed only" beside them."""

import pytest
from django.urls import reverse

from tests.dashboard.conftest import campaign, ledger

pytestmark = pytest.mark.django_db


def url(made) -> str:
    return reverse("campaigns:recipients", args=[made.pk])


def seqs(response) -> list[int]:
    return [r.seq for r in response.context["page"].items]


def status_of(seq: int) -> str:
    return {0: "delivered", 1: "undelivered", 2: ""}[seq % 3]


def test_each_recipient_shows_phone_text_parts_and_status(signed_in):
    made = campaign(status="finished")
    ledger(made, 3, status_of=status_of)
    body = signed_in.get(url(made)).content.decode()
    assert '<th scope="row" class="phone">+380 50 700 0000</th>' in body and "Hello 1" in body
    assert "+380507000000" not in body  # numbers as contacts pages show them
    assert "delivered" in body and "undelivered" in body and "no report yet" in body
    assert reverse("campaigns:ledger-csv", args=[made.pk]) in body
    assert reverse("campaigns:retry-failed", args=[made.pk]) in body
    assert 'aria-current="page" id="recipients-tab"' in body


def test_the_status_filter(signed_in):
    made = campaign(status="finished")
    ledger(made, 9, status_of=status_of)
    assert seqs(signed_in.get(url(made), {"status": "undelivered"})) == [1, 4, 7]
    assert seqs(signed_in.get(url(made), {"status": "none"})) == [2, 5, 8]
    empty = signed_in.get(url(made), {"status": "expired"})
    assert "No recipient has this status" in empty.content.decode()
    bad = signed_in.get(url(made), {"status": "exploded"})
    assert bad.status_code == 400 and "Pick a message status from the list." in bad.content.decode()


def test_keyset_pages_by_seq_forward_and_back(signed_in):
    made = campaign(status="finished")
    ledger(made, 120)
    first = signed_in.get(url(made))
    assert seqs(first) == list(range(50)) and first.context["previous_query"] == ""
    second = signed_in.get(url(made) + "?" + first.context["next_query"])
    assert seqs(second) == list(range(50, 100))
    third = signed_in.get(url(made) + "?" + second.context["next_query"])
    assert seqs(third) == list(range(100, 120)) and third.context["next_query"] == ""
    back = signed_in.get(url(made) + "?" + third.context["previous_query"])
    assert seqs(back) == list(range(50, 100))
    assert seqs(signed_in.get(url(made) + "?" + back.context["previous_query"])) == list(range(50))


def test_pages_keep_the_status_filter(signed_in):
    made = campaign(status="finished")
    ledger(made, 300, status_of=status_of)
    first = signed_in.get(url(made), {"status": "delivered"})
    assert "status=delivered" in first.context["next_query"]
    second = signed_in.get(url(made) + "?" + first.context["next_query"])
    assert seqs(second) == list(range(150, 300, 3))


def test_hand_edited_page_links_are_refused(signed_in):
    made = campaign(status="finished")
    for params in ({"after": "x"}, {"after": "-1"}, {"after": "1", "before": "5"}):
        response = signed_in.get(url(made), params)
        assert response.status_code == 400, params


def test_htmx_gets_only_the_table(signed_in):
    made = campaign(status="finished")
    ledger(made, 3)
    body = signed_in.get(url(made), headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<div id="ledger">') and "<html" not in body


def test_a_campaign_not_sent_yet_has_no_recipients_yet(signed_in):
    body = signed_in.get(url(campaign())).content.decode()
    assert "No recipients yet" in body


def test_the_tab_reads_a_fixed_number_of_queries_with_1000_recipients(
    signed_in, django_assert_num_queries
):
    made = campaign(status="finished")
    ledger(made, 1_000, status_of=status_of)
    # session, user, the navigation's inbox count, campaign, one page of recipients
    with django_assert_num_queries(5):
        first = signed_in.get(url(made))
    with django_assert_num_queries(5):
        signed_in.get(url(made) + "?" + first.context["next_query"])
    with django_assert_num_queries(5):
        signed_in.get(url(made), {"status": "delivered", "after": "600"})
