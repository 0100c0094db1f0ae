"""Personalised RCS to contact lists, end to end: composed with `{first_name}` in a card and in
the SMS fallback through the pages, previewed, planned, approved by a second person, then
dispatched and submitted by the engine to the sandbox over HTTP.

BSG's rcs/send takes one message for all its phones, so recipients are grouped by their
rendered message: each group is its own part (its own rcs/send request), and the plan's
"Batches sent to BSG" says how many before approval (campaigns.rcs_content)."""

from collections import defaultdict

import pytest
from django.urls import reverse

from campaigns.engine import dispatch, submit
from campaigns.models import Campaign, CampaignPart, Recipient, SendPlan
from contacts.models import Contact, ContactField, ContactList, ListMembership
from tests.engine.test_rcs_groups import team  # noqa: F401  (the author and the approver)

State = CampaignPart.State
RCS_SEND = "/api/campaigns/rcs/send"
pytestmark = pytest.mark.django_db


@pytest.fixture
def friends(db) -> ContactList:
    """Two Olenas, an Ivan and someone without a first name."""
    ContactField.objects.create(key="first_name", label="First name")
    friends = ContactList.objects.create(name="Friends")
    for phone, first in [
        ("380661000001", "Olena"),
        ("380661000002", "Ivan"),
        ("380661000003", "Olena"),
        ("380661000004", ""),
    ]:
        contact = Contact.objects.create(phone=phone, name=first, fields={"first_name": first})
        ListMembership.objects.create(contact_list=friends, contact=contact)
    return friends


def personalised_data(contact_list: ContactList, **overrides) -> dict:
    data = {
        "name": "Personal RCS",
        "rcs_mode": "lists",
        "rcs_agent": "Shop agent",
        "lists": [contact_list.pk],
        "card-TOTAL_FORMS": "2",
        "card-INITIAL_FORMS": "0",
        "card-0-title": "For {first_name|you}",
        "card-0-text": "Hi {first_name|friend}, 20% off today",
        "card-0-media_url": "https://example.test/spring.png",
        "card-0-suggestion_1_label": "Shop now",
        "card-0-suggestion_1_target": "https://example.test/shop",
        "card-1-text": "See you soon",
        "validity_hours": "24",
        "tariff_code": "0",
        "rcs_check_stop_list": "on",
        "fallback_enabled": "on",
        "fallback_text": "Hi {first_name|friend}: 20% off at the shop today",
        "fallback_sender": "Shop",
        "fallback_validity_hours": "12",
        "start": "now",
        "start_time_zone": "Europe/Kyiv",
        "action": "save",
    }
    data.update(overrides)
    return data


def test_cards_and_fallback_are_personalised_in_preview_plan_ledger_and_at_bsg(
    client,
    team,  # noqa: F811
    friends,
    engine_settings,
    sandbox,
):
    client.force_login(team["author"])
    data = personalised_data(friends)
    response = client.post(reverse("campaigns:new", args=["rcs"]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert campaign.rcs_cards[0]["text"] == "Hi {first_name|friend}, 20% off today"

    # The preview renders each recipient's cards and fallback.
    preview = client.post(
        reverse("campaigns:preview"),
        {**data, "channel": "rcs", "campaign_id": campaign.pk},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "For Olena" in preview and "Hi Olena, 20% off today" in preview
    assert "Hi Ivan, 20% off today" in preview
    assert "Hi Olena: 20% off at the shop today" in preview  # the fallback, as Olena gets it
    assert 'id="rcs-distinct"' in preview and "3 different messages" in preview
    assert "BSG prices RCS when it is delivered" in preview
    assert "\U0001f517" not in preview and "\U0001f4de" not in preview  # no emoji icons

    # The plan: one BSG campaign per distinct message, the fallback priced as SMS.
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    plan = SendPlan.objects.get(campaign=campaign)
    assert plan.status == SendPlan.Status.DONE, plan.error
    assert plan.result["recipients"] == 4
    assert plan.result["bsg_campaigns"] == 3 and plan.result["rcs_messages"] == 3
    assert plan.result["price"] is None
    assert plan.result["price_error"] == "BSG prices RCS when it is delivered."
    assert plan.result["fallback_price"]["amount"]
    page = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "BSG prices RCS when it is delivered." in page
    assert 'id="plan-fallback-price"' in page

    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    client.force_login(team["approver"])
    shown = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": shown.context["approval_seen"]}
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.READY

    # Dispatch: the digest of the values matches the approved one (not sent back), and the
    # recipients are grouped by message, one part each.
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert not result.sent_back, campaign.sent_back_reason
    assert len(result.part_ids) == 3
    texts = dict(Recipient.objects.filter(campaign=campaign).values_list("phone", "text"))
    assert texts == {
        "380661000001": "Hi Olena: 20% off at the shop today",
        "380661000002": "Hi Ivan: 20% off at the shop today",
        "380661000003": "Hi Olena: 20% off at the shop today",
        "380661000004": "Hi friend: 20% off at the shop today",
    }
    for part_id in result.part_ids:
        assert submit.part_submit(part_id=part_id).state == State.SUBMITTED

    # What the sandbox received: each request carries one message and only its phones.
    requests = [r for r in sandbox.state.requests if r["path"] == RCS_SEND]
    assert len(requests) == 3 and all(r["status"] == 200 for r in requests)
    received: dict[str, list[str]] = defaultdict(list)
    for request in requests:
        body = request["json"]
        cards = body["options"]["cards"]
        assert [card.get("text") for card in cards][1] == "See you soon"
        assert cards[0]["media"] == {"url": "https://example.test/spring.png"}
        key = (cards[0]["title"], cards[0]["text"], body["alternative_channel"]["sms"]["text"])
        received["|".join(key)] += [phone["number"] for phone in body["phones"]]
    assert {key: sorted(phones) for key, phones in received.items()} == {
        "For Olena|Hi Olena, 20% off today|Hi Olena: 20% off at the shop today": [
            "380661000001",
            "380661000003",
        ],
        "For Ivan|Hi Ivan, 20% off today|Hi Ivan: 20% off at the shop today": ["380661000002"],
        "For you|Hi friend, 20% off today|Hi friend: 20% off at the shop today": ["380661000004"],
    }
    # The ledger's text for each phone is the fallback its request carried.
    for request in requests:
        fallback = request["json"]["alternative_channel"]["sms"]["text"]
        for phone in request["json"]["phones"]:
            assert texts[phone["number"]] == fallback


def test_a_value_changed_after_approval_sends_it_back_instead_of_out(
    client,
    team,  # noqa: F811
    friends,
    engine_settings,
    sandbox,
):
    """The digest covers the cards' values too: a first name changed after approval could
    otherwise put anything into an approved RCS card."""
    client.force_login(team["author"])
    data = personalised_data(friends, fallback_enabled="", fallback_text="")
    client.post(reverse("campaigns:new", args=["rcs"]), data)
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    client.force_login(team["approver"])
    shown = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": shown.context["approval_seen"]}
    )
    Contact.objects.filter(phone="380661000002").update(
        fields={"first_name": "Bob. Pay at http://evil.example"}
    )
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.sent_back
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert not [r for r in sandbox.state.requests if r["path"] == RCS_SEND]
