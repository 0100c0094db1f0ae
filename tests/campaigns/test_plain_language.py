"""Issue 15, "Composing": plain language, and mistakes caught where they are made.

An empty text, a 2,000-character text, a 27-character or Cyrillic sender and a past start used
to be saved, planned (price 0.0000, "No recipients yet" beside "Recipients 1708") and refused
only at "Ask for approval". Now each is beside its field as it is typed, after the draft is
saved, and instead of a plan; and the pages speak the marketer's words, not BSG's API."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, SendPlan
from contacts.models import Contact, ContactList, ListMembership

pytestmark = pytest.mark.django_db

YESTERDAY = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

# (what is typed, the field it is beside, what is said there)
MISTAKES = [
    pytest.param({"text": ""}, "text", "Write the text of the SMS.", id="empty-text"),
    pytest.param(
        {"text": "a" * 2000},
        "text",
        # Plain words: "standard characters", not GSM-7 (campaigns.bsg_words).
        "The text is 2000 characters long; with standard characters BSG accepts at most 765",
        id="2000-characters",
    ),
    pytest.param(
        {"sender": "A" * 27},
        "sender",
        "is 27 characters; an alphanumeric sender is at most 11.",
        id="27-character-sender",
    ),
    pytest.param(
        {"sender": "Магазин"},
        "sender",
        "The sender must use Latin letters and digits only",
        id="cyrillic-sender",
    ),
    pytest.param(
        {"start": "at", "start_at": YESTERDAY},
        "start_at",
        "That moment has passed; choose a time in the future or send now.",
        id="past-start",
    ),
]


@pytest.fixture
def author(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def spring(db):
    spring = ContactList.objects.create(name="Spring")
    for phone in ("380501111111", "380502222222"):
        contact = Contact.objects.create(phone=phone, name="Olena")
        ListMembership.objects.create(contact_list=spring, contact=contact)
    return spring


def composer(spring, **overrides) -> dict:
    data = {
        "name": "Spring sale",
        "sms_mode": "individual",
        "text": "Spring sale: -20%",
        "missing_values": "fallback",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_at": "",
        "start_time_zone": "Europe/Kyiv",
        "pasted_numbers": "",
        "lists": [spring.pk],
        "action": "save",
    }
    data.update(overrides)
    return data


def beside(body: str, name: str) -> str:
    """The errors shown beside one field: its errors block, as the page or the live preview's
    out-of-band swap renders it."""
    match = re.search(
        rf'<div class="errors-beside" id="errors-{name}"[^>]*>(.*?)</div>', body, re.S
    )
    assert match, f"no errors block beside {name}"
    return " ".join(re.findall(r'<p class="error field-error">(.*?)</p>', match.group(1), re.S))


def said(body: str) -> str:
    return body.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.mark.parametrize(("typed", "field", "message"), MISTAKES)
def test_each_mistake_is_beside_its_field_instead_of_a_plan(author, spring, typed, field, message):
    response = author.post(
        reverse("campaigns:new", args=["sms"]),
        composer(spring, action="plan", **typed),
        follow=True,
    )
    # Saved, so back to the composer (a redirect: a 422 page is an error in the console).
    assert response.redirect_chain and response.status_code == 200
    assert message in said(beside(response.content.decode(), field))
    assert "Draft saved. No send plan: fix what is marked first." in response.content.decode()
    assert Campaign.objects.get().status == Campaign.Status.DRAFT  # saved, as typed
    assert not SendPlan.objects.exists()  # and nothing counted or priced


@pytest.mark.parametrize(("typed", "field", "message"), MISTAKES)
def test_each_mistake_is_beside_its_field_live_as_it_is_typed(
    author, spring, typed, field, message
):
    body = author.post(
        reverse("campaigns:preview"), {**composer(spring, **typed), "channel": "sms"}
    ).content.decode()
    assert f'id="errors-{field}" aria-live="polite" hx-swap-oob="true"' in body
    if typed.get("text") == "":
        # A new campaign's empty field is not a mistake yet: the page has just opened.
        assert beside(body, "text") == ""
    else:
        assert message in said(beside(body, field))
    # The fields without a mistake are cleared, so a fixed one loses its error.
    assert beside(body, "name") == ""


@pytest.mark.parametrize(("typed", "field", "message"), MISTAKES)
def test_a_draft_with_a_mistake_saves_and_reopens_with_it_beside_the_field(
    author, spring, typed, field, message
):
    response = author.post(reverse("campaigns:new", args=["sms"]), composer(spring, **typed))
    campaign = Campaign.objects.get()
    assert response.status_code == 302  # drafts may be incomplete
    page = author.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert message in said(beside(page, field))
    assert "This draft cannot be sent yet: fix the fields marked below." in page
    # "Ask for approval" waits, and says why.
    assert 'value="send" disabled title="Fix the fields marked in red first"' in page
    assert "Asking for approval waits until the fields marked in red are fixed." in page

    # The live preview of the saved draft keeps it there (an empty text included).
    live = author.post(
        reverse("campaigns:preview"),
        {**composer(spring, **typed), "channel": "sms", "campaign_id": campaign.pk},
    ).content.decode()
    assert message in said(beside(live, field))

    # The detail page's plan button refuses it too, saying what to fix.
    panel = author.post(
        reverse("campaigns:plan", args=[campaign.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert message in said(panel.split('id="plan-refused"')[1])
    assert not SendPlan.objects.exists()


def test_a_draft_without_mistakes_plans_and_may_ask_for_approval(author, spring, bsg_settings):
    response = author.post(reverse("campaigns:new", args=["sms"]), composer(spring, action="plan"))
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert SendPlan.objects.get(campaign=campaign).result["recipients"] == 2
    page = author.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'class="field-error"' not in page and "cannot be sent yet" not in page
    assert 'value="send" disabled' not in page


def test_the_preview_of_an_empty_text_asks_for_the_text_not_for_recipients(author, spring):
    body = author.post(
        reverse("campaigns:preview"), {**composer(spring, text=""), "channel": "sms"}
    ).content.decode()
    assert "No recipients yet" not in body
    assert "Write the text to see it as each recipient gets it." in body


def test_the_composer_speaks_the_marketers_words(author, spring):
    page = author.get(reverse("campaigns:new", args=["sms"])).content.decode()
    for api_name in ("sms/send", "BSG method", "send-individual", "send-groups"):
        assert api_name not in page
    assert "To contact lists, personalised here" in page
    advanced = page.split('<details class="advanced" id="advanced">')[1].split("</details>")[0]
    assert "<summary>Advanced</summary>" in advanced
    for name in ("validity_hours", "tariff_code", "bsg_schedules"):
        assert f'name="{name}"' in advanced
    assert "How long the network keeps trying" in advanced
    assert "tariff number" in advanced and "BSG holds the campaign" in advanced

    rcs = author.get(reverse("campaigns:new", args=["rcs"])).content.decode()
    assert "rcs/send" not in rcs
    advanced = rcs.split('<details class="advanced" id="advanced">')[1].split("</details>")[0]
    assert 'name="rcs_check_stop_list"' in advanced and 'name="tariff_code"' in advanced


def test_the_detail_page_keeps_bsg_names_in_its_as_sent_to_bsg_disclosure(author, spring):
    author.post(reverse("campaigns:new", args=["sms"]), composer(spring, tariff_code="3"))
    campaign = Campaign.objects.get()
    page = author.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    disclosure = page.split('id="as-sent-to-bsg"')[1].split("</details>")[0]
    assert "<summary>As sent to BSG</summary>" in disclosure
    assert "sms/send-individual" in disclosure and "<code>3</code>" in disclosure
    elsewhere = page.replace(disclosure, "")
    assert "sms/send" not in elsewhere and "BSG method" not in elsewhere
    assert "SMS to contact lists, personalised here" in elsewhere


def test_the_history_says_what_changed_in_words(author, spring, user):
    newsletter = ContactList.objects.create(name="Newsletter")
    author.post(reverse("campaigns:new", args=["sms"]), composer(spring))
    campaign = Campaign.objects.get()
    author.post(
        reverse("campaigns:edit", args=[campaign.pk]),
        composer(
            spring,
            text="Spring sale: -30%",
            sender="Market",
            lists=[spring.pk, newsletter.pk],
            validity_hours="24",
        ),
    )
    page = author.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    history = page.split('id="audit-log-title"')[1].split("</section>")[0]
    assert "Created" in history and "Edited" in history
    assert "Text changed" in history
    assert "Lists: Newsletter added" in history
    assert "Sender: Shop → Market" in history
    assert "Validity (hours): 72 → 24" in history
    assert "Send to: To contact lists, personalised here" in history  # on creation
    # No raw keys, and nothing of RCS on an SMS campaign.
    for raw in ("rcs_check_stop_list", "campaign-update", "campaign-create", "sms_mode"):
        assert raw not in history
    assert "stop-list" not in history and "RCS" not in history
