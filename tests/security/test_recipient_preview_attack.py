"""Hand attacks on the approver's read-only recipient preview (campaigns:recipient) and on the
detail page, which answers the same buttons without script: no answer is a 500, each is a
refusal, a redirect, or the panel saying in words why it shows what it shows, and it never
shows anyone who is not a recipient of that campaign."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from campaigns import approval, services
from campaigns.models import Campaign
from contacts.models import Contact, ContactField, ContactList, ListMembership
from tests.access.conftest import make_groups, make_person
from tests.access.test_approval import compose

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# Every parameter the panel reads (campaigns.forms.RecipientPreviewForm) gets each of these.
HOSTILE = [
    "-1",
    "0",
    "999999999",
    str(10**25),
    str(-(10**25)),
    "a\x00b",
    "\x00",
    "x" * 100_000,
    "1" * 100_000,
    "1.5",
    "1e3",
    "0x10",
    "[]",
    "NaN",
]
PARAMETERS = ("contact", "choose", "step", "search")


@pytest.fixture
def audience(db):
    """Spring: Olena and Ivan. Autumn, another campaign's list: Petro, who is no recipient."""
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    autumn = ContactList.objects.create(name="Autumn")
    for phone, name, into in [
        ("380501111111", "Olena", spring),
        ("380502222222", "Ivan", spring),
        ("380503333333", "Petro", autumn),
    ]:
        contact = Contact.objects.create(phone=phone, name=name, fields={"first_name": name})
        ListMembership.objects.create(contact_list=into, contact=contact)
    return {"spring": spring, "autumn": autumn}


@pytest.fixture
def team(db):
    groups = make_groups()
    team = {role: make_person(role, groups) for role in ("viewer", "author", "approver")}
    team["nobody"] = get_user_model().objects.create_user("nobody", password="a-long-pw-123")
    return team


@pytest.fixture
def waiting(team, audience, bsg_settings) -> Campaign:
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    return campaign


def signed_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def panel(response) -> str:
    """The recipient preview's words, tags stripped."""
    html = response.content.decode()
    assert 'id="recipient-preview"' in html, html[:500]
    section = html.split('id="recipient-preview"', 1)[1].split("</section>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def shown(response) -> str:
    # The number as contacts pages show it (+380 50 111 1111).
    found = re.search(r"Recipient: \+\d+(?: \d+)* · (\w+)", panel(response))
    return found.group(1) if found else ""


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:12]))
@pytest.mark.parametrize("parameter", PARAMETERS)
def test_hostile_values_get_the_first_recipient_and_a_reason(team, waiting, parameter, value):
    approver = signed_in(team["approver"])
    for url, headers in [
        (reverse("campaigns:recipient", args=[waiting.pk]), HTMX),
        (reverse("campaigns:detail", args=[waiting.pk]), {}),
    ]:
        response = approver.get(url, {parameter: value}, **headers)
        assert response.status_code == 200
        assert shown(response) == "Olena"
        words = panel(response)
        # Never the value echoed back whole (a 100,000-character page).
        assert len(words) < 5_000
        if parameter in ("contact", "choose") and value not in ("0",):
            assert (
                "That recipient link is not valid" in words
                or "not one of this campaign's recipients" in words.replace("&#x27;", "'")
            )


def test_all_parameters_hostile_at_once(team, waiting):
    approver = signed_in(team["approver"])
    for value in HOSTILE:
        response = approver.get(
            reverse("campaigns:recipient", args=[waiting.pk]),
            dict.fromkeys(PARAMETERS, value),
            **HTMX,
        )
        assert response.status_code == 200 and shown(response) == "Olena"


def test_another_campaigns_contact_is_never_shown(team, waiting, audience):
    """Petro is a recipient of another list, not of this campaign: his id, chosen or stepped
    from, and a search for his name or phone all show this campaign's own recipients."""
    petro = Contact.objects.get(name="Petro").pk
    approver = signed_in(team["approver"])
    url = reverse("campaigns:recipient", args=[waiting.pk])
    for asked in [
        {"contact": petro},
        {"choose": petro},
        {"contact": petro, "step": "next"},
        {"contact": petro, "step": "previous"},
        {"contact": petro, "step": "missing"},
        {"step": "search", "search": "Petro"},
        {"step": "search", "search": "380503333333"},
        {"step": "search", "search": "+380 50 333"},
    ]:
        response = approver.get(url, asked, **HTMX)
        assert response.status_code == 200
        assert shown(response) in ("Olena", "Ivan"), asked
        assert "+380503333333" not in panel(response), asked  # the search is said back
    searched = approver.get(url, {"step": "search", "search": "Petro"}, **HTMX)
    assert "No recipient of this campaign has “Petro”" in panel(searched)


@pytest.mark.parametrize("campaign_id", ["999999", str(10**25), "0"])
def test_a_campaign_that_does_not_exist_is_not_found(team, waiting, campaign_id):
    response = signed_in(team["approver"]).get(f"/campaigns/{campaign_id}/recipient/", **HTMX)
    assert response.status_code == 404


def test_a_path_that_is_not_a_campaign_id_is_not_found(team, waiting):
    approver = signed_in(team["approver"])
    for path in ["-1", "1.5", "%00", "x" * 5000, "1%0A"]:
        assert approver.get(f"/campaigns/{path}/recipient/").status_code == 404


def test_it_only_reads(team, waiting):
    url = reverse("campaigns:recipient", args=[waiting.pk])
    approver = signed_in(team["approver"])
    assert approver.post(url, {"step": "next"}).status_code == 405
    assert approver.delete(url).status_code == 405


def test_someone_without_the_view_permission_is_refused(team, waiting):
    nobody = signed_in(team["nobody"])
    url = reverse("campaigns:recipient", args=[waiting.pk])
    page = nobody.get(url)
    assert page.status_code == 403 and 'id="access-denied"' in page.content.decode()
    fragment = nobody.get(url, **HTMX)
    assert fragment.status_code == 403 and "<html" not in fragment.content.decode()
    assert "Olena" not in page.content.decode() + fragment.content.decode()
    detail = nobody.get(reverse("campaigns:detail", args=[waiting.pk]))
    assert detail.status_code == 403 and "Olena" not in detail.content.decode()


def test_a_viewer_reads_it_as_the_detail_page_shows_it(team, waiting):
    # Viewers read every campaign's page, this panel included; nothing in it writes.
    olena = Contact.objects.get(name="Olena").pk
    response = signed_in(team["viewer"]).get(
        reverse("campaigns:recipient", args=[waiting.pk]),
        {"contact": olena, "step": "next"},
        **HTMX,
    )
    assert response.status_code == 200 and shown(response) == "Ivan"


def test_a_signed_out_visitor_is_sent_to_log_in(waiting):
    url = reverse("campaigns:recipient", args=[waiting.pk])
    response = Client().get(url, {"step": "next"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert "Olena" not in response.content.decode()


def test_a_signed_out_htmx_request_loads_the_log_in_page_instead_of_swapping_it_in(waiting):
    """A session that ended while the approver stepped through recipients: htmx is told to load
    the log-in page as a page, coming back to the detail page, not to a bare panel."""
    detail = reverse("campaigns:detail", args=[waiting.pk])
    response = Client().get(
        reverse("campaigns:recipient", args=[waiting.pk]),
        {"step": "next"},
        HTTP_HX_CURRENT_URL=f"http://testserver{detail}?step=next",
        **HTMX,
    )
    assert response.status_code == 200 and not response.content
    assert response["HX-Redirect"] == f"{reverse('login')}?next={detail}%3Fstep%3Dnext"
    # A page on another site is not where a log-in sends anyone back to.
    elsewhere = Client().get(
        reverse("campaigns:recipient", args=[waiting.pk]),
        HTTP_HX_CURRENT_URL="https://evil.example/phish",
        **HTMX,
    )
    assert elsewhere["HX-Redirect"] == reverse("login")


@pytest.mark.parametrize("state", ["draft", "ready", "done", "cancelled"])
def test_a_campaign_no_longer_waiting_shows_no_recipient_and_says_why(
    team, audience, bsg_settings, state
):
    campaign = compose(team["author"], audience)
    Campaign.objects.filter(pk=campaign.pk).update(status=state)
    response = signed_in(team["approver"]).get(
        reverse("campaigns:recipient", args=[campaign.pk]),
        {"step": "next", "contact": Contact.objects.get(name="Olena").pk},
        **HTMX,
    )
    assert response.status_code == 200
    words = panel(response)
    assert "shown here while it waits for approval" in words
    assert "Olena" not in words and "Ivan" not in words
    # Nothing to step through: no search box, no buttons.
    assert 'name="step"' not in response.content.decode()
    detail = signed_in(team["approver"]).get(reverse("campaigns:detail", args=[campaign.pk]))
    assert 'id="recipient-preview"' not in detail.content.decode()


def test_a_waiting_campaign_whose_lists_were_emptied_says_so(team, waiting, audience):
    ListMembership.objects.filter(contact_list=audience["spring"]).delete()
    response = signed_in(team["approver"]).get(
        reverse("campaigns:recipient", args=[waiting.pk]), {"step": "next"}, **HTMX
    )
    assert response.status_code == 200
    assert "No recipients: the lists chosen have no contacts." in panel(response)


def test_a_waiting_rcs_campaign_without_an_sms_fallback_says_what_recipients_get(
    team, audience, bsg_settings
):
    rcs = services.campaign_save(
        campaign=Campaign(
            name="Spring RCS",
            channel=Campaign.Channel.RCS,
            rcs_agent="shop",
            rcs_cards=[{"title": "Hi {first_name}", "text": "Spring sale", "suggestions": []}],
            fallback_enabled=False,
        ),
        list_ids=[audience["spring"].pk],
        user=team["author"],
    )
    Campaign.objects.filter(pk=rcs.pk).update(status=Campaign.Status.AWAITING_APPROVAL)
    approver = signed_in(team["approver"])
    for response in (
        approver.get(reverse("campaigns:recipient", args=[rcs.pk]), **HTMX),
        approver.get(reverse("campaigns:detail", args=[rcs.pk])),
    ):
        assert response.status_code == 200
        words = panel(response)
        # Read-only: the approver is not told to change the campaign.
        assert "Turn on the SMS fallback" not in words
        assert "No SMS fallback" in words
