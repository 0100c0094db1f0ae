"""The campaigns page: filters, search, keyset pages, live rows that stop polling."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from campaigns import dashboard
from campaigns.models import Campaign, SendPlan
from tests.dashboard.conftest import campaign, many_campaigns, sending

pytestmark = pytest.mark.django_db

LIST = reverse("campaigns:list")


def names(response) -> list[str]:
    return [row.campaign.name for row in response.context["page"].rows]


def test_an_empty_list_invites_to_compose(signed_in):
    body = signed_in.get(LIST).content.decode()
    assert "No campaigns yet" in body and reverse("campaigns:new", args=["sms"]) in body


def test_filters_by_status_channel_sender_and_name(signed_in):
    campaign(name="Spring SMS", sender="Shop", status="finished")
    campaign(name="Spring RCS", channel="rcs", sender="", rcs_agent="agent", status="sending")
    campaign(name="Autumn bank", sender="Bank", status="finished")
    assert names(signed_in.get(LIST, {"status": "sending"})) == ["Spring RCS"]
    assert names(signed_in.get(LIST, {"channel": "sms"})) == ["Autumn bank", "Spring SMS"]
    assert names(signed_in.get(LIST, {"sender": "Bank"})) == ["Autumn bank"]
    assert names(signed_in.get(LIST, {"q": "spring"})) == ["Spring RCS", "Spring SMS"]
    assert names(signed_in.get(LIST, {"q": "spring", "status": "finished"})) == ["Spring SMS"]
    none = signed_in.get(LIST, {"q": "winter"})
    assert "No campaign matches these filters" in none.content.decode()


def test_filters_by_creation_date_range(signed_in):
    old = campaign(name="Last month")
    Campaign.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    campaign(name="Today")
    today = timezone.localdate()
    assert names(signed_in.get(LIST, {"created_from": today.isoformat()})) == ["Today"]
    last_week = (today - timedelta(days=7)).isoformat()
    assert names(signed_in.get(LIST, {"created_to": last_week})) == ["Last month"]


def test_bad_filters_are_refused_with_a_reason(signed_in):
    bad = signed_in.get(LIST, {"status": "exploded"})
    assert bad.status_code == 400
    assert "That status does not exist. Pick a status from the list." in bad.content.decode()
    backwards = signed_in.get(LIST, {"created_from": "2026-05-02", "created_to": "2026-05-01"})
    assert backwards.status_code == 400
    assert "The end date is before the start date." in backwards.content.decode()
    edited = signed_in.get(LIST, {"after": "yesterday"})
    assert edited.status_code == 400
    assert "That page link is not valid" in edited.content.decode()


def test_pages_go_older_and_back_newer_without_counting(signed_in):
    made = many_campaigns(60)
    newest_first = [c.name for c in reversed(made)]
    first = signed_in.get(LIST)
    assert names(first) == newest_first[:25] and first.context["newer_query"] == ""
    second = signed_in.get(LIST + "?" + first.context["older_query"])
    assert names(second) == newest_first[25:50]
    third = signed_in.get(LIST + "?" + second.context["older_query"])
    assert names(third) == newest_first[50:] and third.context["older_query"] == ""
    back = signed_in.get(LIST + "?" + third.context["newer_query"])
    assert names(back) == newest_first[25:50]
    assert names(signed_in.get(LIST + "?" + back.context["newer_query"])) == newest_first[:25]


def test_paging_keeps_the_filters(signed_in):
    many_campaigns(80)
    first = signed_in.get(LIST, {"sender": "Shop"})
    assert "sender=Shop" in first.context["older_query"]
    second = signed_in.get(LIST + "?" + first.context["older_query"])
    assert {row.campaign.sender for row in second.context["page"].rows} == {"Shop"}


def test_rows_show_figures_and_only_active_rows_are_polled(signed_in):
    live = sending(name="Live one", recipients=100, sent=40, delivered=30)
    done = sending(name="Done one", status="finished", recipients=10, sent=10, delivered=9)
    body = signed_in.get(LIST).content.decode()
    assert f'id="campaign-{live.pk}"' in body and f'id="campaign-{done.pk}"' in body
    assert "75.0%" in body  # delivered 30 of 40 sent
    assert f'hx-get="{reverse("campaigns:list-live")}?ids={live.pk}"' in body
    assert 'hx-trigger="every 5s"' in body


def test_live_rows_swap_in_place_and_the_poller_stops_when_none_is_active(signed_in):
    first = sending(name="First", recipients=100, sent=10)
    second = sending(name="Second", recipients=100, sent=20)
    url = reverse("campaigns:list-live")
    body = signed_in.get(url, {"ids": f"{first.pk},{second.pk}"}).content.decode()
    assert body.count('hx-swap-oob="true"') == 2 and "<template>" in body
    # Newest first, like the page.
    assert f"ids={second.pk},{first.pk}" in body and 'hx-trigger="every 5s"' in body
    Campaign.objects.filter(pk=first.pk).update(status="finished")
    body = signed_in.get(url, {"ids": f"{first.pk},{second.pk}"}).content.decode()
    # The finished row is refreshed once more, then no longer asked for.
    assert f'id="campaign-{first.pk}"' in body and "Finished" in body
    assert f'ids={second.pk}"' in body
    Campaign.objects.filter(pk=second.pk).update(status="stopped")
    body = signed_in.get(url, {"ids": f"{second.pk}"}).content.decode()
    assert "hx-trigger" not in body and "data-live" not in body


def test_live_rows_refuse_ids_that_are_not_ids(signed_in):
    response = signed_in.get(reverse("campaigns:list-live"), {"ids": "1;DROP TABLE"})
    assert response.status_code == 400
    assert "campaign ids separated by commas" in response.content.decode()


def test_the_list_reads_a_fixed_number_of_queries_with_1000_campaigns(
    signed_in, django_assert_num_queries
):
    many_campaigns(1_000)
    # session, user, the navigation's inbox count, saved senders, one page of campaigns, their
    # parts' figures
    with django_assert_num_queries(6):
        first = signed_in.get(LIST)
    deep = first
    for _ in range(10):
        deep = signed_in.get(LIST + "?" + deep.context["older_query"])
    with django_assert_num_queries(6):
        signed_in.get(LIST + "?" + deep.context["older_query"])
    # A search: one more, the window its walk stays in (dashboard._searched_page)
    with django_assert_num_queries(7):
        signed_in.get(LIST, {"q": "campaign 09", "status": "finished", "channel": "sms"})


def plan(owner: Campaign, *, recipients: int, status: str = SendPlan.Status.DONE) -> SendPlan:
    return SendPlan.objects.create(
        campaign=owner, fingerprint="f", status=status, result={"recipients": recipients}
    )


def recipients_cell(body: str, owner: Campaign) -> str:
    row = re.search(rf'<tr id="campaign-{owner.pk}".*?</tr>', body, re.S).group(0)
    return re.search(r'<td class="num" data-label="Recipients">(.*?)</td>', row).group(1)


def test_a_draft_shows_its_send_plans_count_and_a_dash_without_one(signed_in):
    """A newcomer's report: drafts showed "Recipients 0" although their send plan counted 2."""
    planned = campaign(name="Planned draft")
    plan(planned, recipients=1)
    plan(planned, recipients=2)  # the latest finished plan counts
    plan(planned, recipients=0, status=SendPlan.Status.PENDING)  # being counted again
    unplanned = campaign(name="Unplanned draft")
    failed = campaign(name="Failed plan")
    plan(failed, recipients=5, status=SendPlan.Status.FAILED)
    waiting = campaign(name="Waiting", status=Campaign.Status.AWAITING_APPROVAL)
    plan(waiting, recipients=1_708)
    went_out = sending(name="Went out", recipients=10)
    plan(went_out, recipients=12)  # its parts say how many, not the plan made before
    body = signed_in.get(LIST).content.decode()
    assert recipients_cell(body, planned) == "2"
    assert recipients_cell(body, unplanned) == "—"
    assert recipients_cell(body, failed) == "—"
    assert recipients_cell(body, waiting) == "1,708"
    assert recipients_cell(body, went_out) == "10"
    # The live rows (waiting for approval) say the same.
    live = signed_in.get(reverse("campaigns:list-live"), {"ids": str(waiting.pk)})
    assert recipients_cell(live.content.decode(), waiting) == "1,708"


def figure_cell(body: str, owner: Campaign, label: str) -> str:
    row = re.search(rf'<tr id="campaign-{owner.pk}".*?</tr>', body, re.S).group(0)
    return re.search(rf'<td class="num[^"]*" data-label="{label}">(.*?)</td>', row).group(1)


def test_a_campaign_not_sending_yet_shows_a_dash_for_sent_and_delivered(signed_in):
    """A newcomer's report: a draft showed "—" recipients beside 0 sent and 0 delivered, as if
    it had gone out to nobody. Until the engine takes it nothing is sent, so nothing is shown."""
    before = [
        campaign(name=f"Not yet {status}", status=status)
        for status in sorted(Campaign.BEFORE_SENDING)
    ]
    planned = campaign(name="Planned draft")
    plan(planned, recipients=2)
    started = sending(name="Started", recipients=10, sent=0, delivered=0)
    finished = sending(name="Done", status="finished", recipients=10, sent=10, delivered=9)
    body = signed_in.get(LIST).content.decode()
    for made in [*before, planned]:
        assert figure_cell(body, made, "Sent") == "—", made.status
        assert figure_cell(body, made, "Delivered") == "—", made.status
    assert recipients_cell(body, planned) == "2"
    # Once it is the engine's, a 0 is a real figure.
    assert figure_cell(body, started, "Sent") == "0"
    assert figure_cell(body, started, "Delivered") == "0"
    assert figure_cell(body, finished, "Sent") == "10"
    assert figure_cell(body, finished, "Delivered").startswith("9 ")
    # The live rows (waiting for approval or its time) say the same.
    waiting = next(c for c in before if c.status == Campaign.Status.AWAITING_APPROVAL)
    live = signed_in.get(reverse("campaigns:list-live"), {"ids": str(waiting.pk)})
    assert figure_cell(live.content.decode(), waiting, "Sent") == "—"


def test_drafts_counts_cost_no_query_of_their_own(signed_in, django_assert_num_queries):
    many_campaigns(100)
    for i in range(10):
        draft = campaign(name=f"Draft {i}")
        if i % 2:
            plan(draft, recipients=i)
    # session, user, the navigation's inbox count, saved senders, one page of campaigns (with
    # the drafts' send plan counts), their parts' figures: as many as without drafts
    with django_assert_num_queries(6):
        body = signed_in.get(LIST).content.decode()
    assert body.count('data-label="Recipients">—</td>') == 5
    # Nor does leaving their sent and delivered figures out.
    assert body.count('class="num not-sent" data-label="Sent">—</td>') == 10
    assert 'data-label="Recipients">9</td>' in body


def test_a_search_tests_the_newest_rows_and_finds_older_matches_through_the_trigram_index(
    signed_in, django_assert_num_queries, monkeypatch
):
    """A name whose campaigns are all old made the newest-first walk read every newer campaign
    (3.6 s at a million). The walk now tests only the next SEARCH_WALK_ROWS campaigns, with
    STRPOS (which the trigram index cannot serve, or PostgreSQL ANDs its bitmap in: 30 ms for a
    common word), and the page comes from the trigram index when they hold too few
    (BENCHMARKS.md "Web under load", issue 16)."""
    monkeypatch.setattr(dashboard, "SEARCH_WALK_ROWS", 50)
    made = many_campaigns(300)
    Campaign.objects.filter(pk__in=[c.pk for c in made[:40]]).update(name="Black Friday 2024")
    # session, user, inbox count, saved senders, the window, the walk in it, the page from the
    # trigram index, their figures
    with CaptureQueriesContext(connection) as captured, django_assert_num_queries(8):
        found = signed_in.get(LIST, {"q": "friday 2024"})
    # Copied now: the next request empties the connection's log they are read from.
    queries = [q["sql"] for q in captured.captured_queries]
    assert names(found) == ["Black Friday 2024"] * 25
    newest_first = [c.pk for c in reversed(made[:40])]
    assert [row.campaign.pk for row in found.context["page"].rows] == newest_first[:25]
    older = signed_in.get(LIST + "?" + found.context["older_query"])
    assert [row.campaign.pk for row in older.context["page"].rows] == newest_first[25:]
    # A word the newest rows hold: the window and the walk in it.
    with django_assert_num_queries(7):
        signed_in.get(LIST, {"q": "campaign 02"})
    if connection.vendor != "postgresql":
        return
    walk_sql, far_sql = (sql for sql in queries if "LIMIT 26" in sql)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_campaign")
        # Tiny tables: forbid the sequential scan to see which indexes can serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {walk_sql}")
        walk_plan = "\n".join(row[0] for row in cursor.fetchall())
        # Nor walk the newest-first index end to end, as the far query must not.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {far_sql}")
        far_plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "campaign_created" in walk_plan and "strpos" in walk_plan
    assert "campaign_name_trgm" not in walk_plan
    assert "campaign_name_trgm" in far_plan


def test_live_rows_read_a_fixed_number_of_queries(signed_in, django_assert_num_queries):
    made = many_campaigns(1_000, status=Campaign.Status.SENDING)
    ids = ",".join(str(c.pk) for c in made[:50])
    with django_assert_num_queries(4):
        response = signed_in.get(reverse("campaigns:list-live"), {"ids": ids})
    assert response.content.decode().count('hx-swap-oob="true"') == 50


@pytest.mark.parametrize(
    "asked",
    [
        {},
        {"status": "sending", "channel": "sms", "q": " spring ", "sender": "Shop"},
        {"created_from": "2026-03-01", "created_to": "2026-02-01"},
        {"status": "nope", "channel": "fax", "created_from": "x", "q": "<b>"},
    ],
)
def test_the_written_out_filters_show_what_djangos_widgets_would(signed_in, asked):
    """campaigns/list.html writes its filter inputs out from form.typed, form.options and
    form.field_errors: the values, the selected options and the errors must be the ones
    Django's own widgets and the form's errors give."""
    response = signed_in.get(LIST, asked)
    body = response.content.decode()
    form = response.context["form"]
    for name in ("q", "sender", "created_from", "created_to"):
        ours = re.search(rf'<input type="\w+" name="{name}" id="id_{name}" value="([^"]*)"', body)
        theirs = re.search(r'value="([^"]*)"', str(form[name]))
        assert ours.group(1) == (theirs.group(1) if theirs else ""), name
    for name in ("status", "channel"):
        select = re.search(rf'<select name="{name}".*?</select>', body, re.S).group(0)
        ours = re.findall(r'<option value="([^"]*)" selected>', select)
        theirs = re.findall(r'<option value="([^"]*)" selected>', str(form[name]))
        assert ours == theirs, name
        assert re.findall(r"<option value=\"([^\"]*)\"", select) == [
            str(value) for value, _label in form.fields[name].choices
        ]
    inputs = ("q", "status", "channel", "sender", "created_from", "created_to")
    for name, errors in form.errors.items():
        for error in errors:
            assert f'<p class="error" role="alert">{escape(error)}</p>' in body, (name, error)
        if name in inputs:
            assert f'aria-describedby="id_{name}_error"' in body
    assert body.count('aria-invalid="true"') == len([n for n in form.errors if n in inputs])
