"""RCS to BSG contact-book groups (E6 rcs/send-groups), end to end: composed through the pages,
planned, approved by a second person, dispatched and submitted by the engine to the sandbox over
HTTP, polled for its figures, and stopped."""

import json

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.urls import reverse

from campaigns.engine import dispatch, poll, submit
from campaigns.models import Campaign, CampaignPart, CampaignSnapshot, Recipient, SendPlan
from contacts.models import Contact, ContactList, DoNotContact, ListMembership
from contacts.services import contact_list_push_run
from tests.access.conftest import make_person, migration

State = CampaignPart.State
SEND_GROUPS = "/api/campaigns/rcs/send-groups"
pytestmark = pytest.mark.django_db

CARD = {
    "title": "Spring sale",
    "text": "20% off everything today",
    "media_url": "https://example.test/spring.png",
}


@pytest.fixture
def team(db):
    """An author and an approver, in the groups campaigns/migrations/0004 makes."""
    if Group.objects.filter(name__in=migration.GROUPS).count() != len(migration.GROUPS):
        migration.create_groups(global_apps, None)
    groups = {group.name: group for group in Group.objects.filter(name__in=migration.GROUPS)}
    return {
        "author": make_person("author", groups, name="olena"),
        "approver": make_person("approver", groups, name="ivan"),
    }


def people_list(name: str, phones: list[str]) -> ContactList:
    contact_list = ContactList.objects.create(name=name)
    for number, phone in enumerate(phones):
        contact = Contact.objects.get_or_create(phone=phone, defaults={"name": f"P{number}"})[0]
        ListMembership.objects.create(contact_list=contact_list, contact=contact)
    return contact_list


@pytest.fixture
def linked(engine_settings, sandbox) -> ContactList:
    """A list of three pushed to the sandbox's contact book, so it is linked to a BSG group."""
    spring = people_list("Spring RCS", ["380661000001", "380661000002", "380661000003"])
    ContactList.objects.filter(pk=spring.pk).update(push_status=ContactList.PushStatus.QUEUED)
    contact_list_push_run(list_id=spring.pk)
    spring.refresh_from_db()
    assert spring.bsg_group_id is not None
    return spring


def rcs_data(contact_list: ContactList, **overrides) -> dict:
    data = {
        "name": "Spring RCS",
        "rcs_mode": "groups",
        "rcs_agent": "Shop agent",
        "lists": [contact_list.pk],
        "card-TOTAL_FORMS": "1",
        "card-INITIAL_FORMS": "0",
        "card-MIN_NUM_FORMS": "0",
        "card-MAX_NUM_FORMS": "10",
        "card-0-title": CARD["title"],
        "card-0-text": CARD["text"],
        "card-0-media_url": CARD["media_url"],
        "card-0-suggestion_1_label": "Shop now",
        "card-0-suggestion_1_target": "https://example.test/shop",
        "validity_hours": "24",
        "tariff_code": "0",
        "rcs_check_stop_list": "on",
        "fallback_enabled": "on",
        "fallback_text": "Spring sale: 20% off everything today",
        "fallback_sender": "Shop",
        "fallback_validity_hours": "12",
        "start": "now",
        "start_at": "",
        "start_time_zone": "Europe/Kyiv",
        "action": "save",
    }
    data.update(overrides)
    return data


def approved_campaign(client, team, contact_list: ContactList) -> Campaign:
    """Composed and planned by the author, asked for approval, approved by the approver."""
    client.force_login(team["author"])
    response = client.post(reverse("campaigns:new", args=["rcs"]), rcs_data(contact_list))
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    response = client.post(reverse("campaigns:plan", args=[campaign.pk]))
    assert SendPlan.objects.get(campaign=campaign).status == SendPlan.Status.DONE
    response = client.post(
        reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"}
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL

    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    shown = page.content.decode()
    assert 'id="approval-covers-groups"' in shown
    assert "BSG contact-book groups of the lists" in shown
    client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": page.context["approval_seen"]}
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.READY
    assert campaign.approved_by == team["approver"]
    return campaign


def send_groups_requests(sandbox) -> list[dict]:
    return [r for r in sandbox.state.requests if r["path"] == SEND_GROUPS]


def test_the_composer_offers_both_rcs_modes_in_plain_words(client, team, db):
    client.force_login(team["author"])
    page = client.get(reverse("campaigns:new", args=["rcs"])).content.decode()
    assert "To contact lists, personalised here" in page
    assert "To BSG contact-book groups" in page
    # No API names on the composer.
    assert "rcs/send" not in page


def test_rcs_to_a_linked_group_is_approved_sent_once_polled_and_stopped(
    client, team, linked, sandbox
):
    campaign = approved_campaign(client, team, linked)
    assert campaign.rcs_mode == Campaign.RcsMode.GROUPS
    assert campaign.bsg_method == "rcs/send-groups"

    clock = sandbox.state.clock
    clock.freeze()
    try:
        result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
        assert not result.sent_back and not result.refused
        # One BSG campaign for the whole group; the ledger is our copy of the list.
        (part_id,) = result.part_ids
        assert result.recipients == 3
        assert submit.part_submit(part_id=part_id).state == State.SUBMITTED

        (request,) = send_groups_requests(sandbox)
        assert not [r for r in sandbox.state.requests if r["path"] == "/api/campaigns/rcs/send"]
        body = request["json"]
        assert body["groups"] == [linked.bsg_group_id]
        assert body["sender"] == "Shop agent"
        assert body["options"] == {
            "cards": [
                {
                    "title": CARD["title"],
                    "text": CARD["text"],
                    "media": {"url": CARD["media_url"]},
                    "suggestions": [
                        {"type": "link", "text": "Shop now", "url": "https://example.test/shop"}
                    ],
                }
            ]
        }
        fallback = {"text": "Spring sale: 20% off everything today", "sender": "Shop"}
        assert body["alternative_channel"] == {"sms": {**fallback, "validity": 12}}
        assert body["validity"] == 24 and body["check_stop_list"] is True
        assert "phones" not in body and "reference_id" not in json.dumps(body)
        assert request["status"] == 200

        # Poll: BSG's figures while it sends.
        clock.advance(0.052)
        poll.campaigns_poll_now(campaign_ids=[campaign.pk])
        part = CampaignPart.objects.get(pk=part_id)
        assert part.bsg_status == "sending" and part.sent == 3
        assert CampaignSnapshot.objects.filter(part=part, sent=3).exists()

        # Stop, as the approver: BSG is asked once.
        client.force_login(team["approver"])
        client.post(reverse("campaigns:stop", args=[campaign.pk]))
        stops = [r for r in sandbox.state.requests if r["path"].endswith("/stop")]
        assert [r["path"] for r in stops] == [f"/api/campaigns/{part.bsg_campaign_id}/stop"]
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.STOPPED

        clock.advance(10)  # every delivery report is in
        poll.campaigns_poll_now(campaign_ids=[campaign.pk])
        part.refresh_from_db()
        assert part.bsg_status == "stopped" and part.finished_at is not None
        assert part.price is not None and part.breakdown
        # Recipients' statuses come by phone: group sends carry no reference ids.
        statuses = set(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True))
        assert "" not in statuses
    finally:
        clock.unfreeze()
    assert len(send_groups_requests(sandbox)) == 1


def test_rcs_to_a_linked_group_runs_to_the_end_with_fallback_figures(client, team, linked, sandbox):
    campaign = approved_campaign(client, team, linked)
    clock = sandbox.state.clock
    clock.freeze()
    try:
        (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
        submit.part_submit(part_id=part_id)
        clock.advance(3_600)
        poll.engine_poll()
    finally:
        clock.unfreeze()
    campaign.refresh_from_db()
    part = CampaignPart.objects.get(pk=part_id)
    assert campaign.status == Campaign.Status.FINISHED
    assert part.bsg_status == "done" and part.sent == 3
    # E8's breakdown, the SMS fallback's counts beside the RCS ones.
    assert any(key.startswith(poll.FALLBACK_PREFIX) for key in part.breakdown)
    assert part.currency == "EUR"


def test_a_member_added_after_approval_sends_it_back_and_nothing_goes_to_bsg(
    client, team, linked, sandbox
):
    campaign = approved_campaign(client, team, linked)
    newcomer = Contact.objects.create(phone="380661000009", name="Late")
    ListMembership.objects.create(contact_list=linked, contact=newcomer)

    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)

    assert result.sent_back and not result.part_ids
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL
    assert send_groups_requests(sandbox) == []


def test_an_unlinked_list_is_refused_beside_the_field_before_any_plan(client, team, db):
    local = people_list("Local only", ["380661000011"])
    client.force_login(team["author"])

    response = client.post(
        reverse("campaigns:new", args=["rcs"]), rcs_data(local, action="plan"), follow=True
    )

    # Saved, not planned: back in the composer, with what stops it beside its field.
    assert response.redirect_chain
    errors = response.context["form"].errors
    assert "“Local only” is not linked to a BSG contact book" in " ".join(errors["lists"])
    campaign = Campaign.objects.get()  # saved as a draft: nothing typed is lost
    assert campaign.rcs_mode == Campaign.RcsMode.GROUPS
    assert not SendPlan.objects.exists()
    # The detail page's plan button says the same, and plans nothing either.
    panel = client.post(reverse("campaigns:plan", args=[campaign.pk]), HTTP_HX_REQUEST="true")
    assert "is not linked to a BSG contact book" in panel.content.decode()
    assert not SendPlan.objects.exists()
    # To the lists' numbers the same list is fine.
    response = client.post(
        reverse("campaigns:edit", args=[campaign.pk]),
        # As the edit page's form sends it: its saved card is an initial form.
        {**rcs_data(local, rcs_mode="lists", action="plan"), "card-INITIAL_FORMS": "1"},
        follow=True,
    )
    assert SendPlan.objects.filter(campaign=campaign).exists(), response.content.decode()[:3000]


def test_a_linked_list_with_a_do_not_contact_member_is_refused_for_groups(
    client, team, linked, sandbox
):
    DoNotContact.objects.create(phone="380661000002")
    client.force_login(team["author"])

    response = client.post(
        reverse("campaigns:new", args=["rcs"]), rcs_data(linked, action="plan"), follow=True
    )

    assert response.redirect_chain
    message = " ".join(response.context["form"].errors["rcs_mode"])
    assert "do-not-contact" in message and "Choose “To contact lists”" in message
    assert not SendPlan.objects.exists()


def test_groups_take_at_most_five_thousand_rcs_contacts(db):
    from campaigns import checks

    big = ContactList.objects.create(name="Big", bsg_group_id=4242)
    contacts = Contact.objects.bulk_create(
        Contact(phone=f"38066{2000000 + n}") for n in range(5_001)
    )
    ListMembership.objects.bulk_create(
        ListMembership(contact_list=big, contact=contact) for contact in contacts
    )
    campaign = Campaign(
        name="Big RCS",
        channel=Campaign.Channel.RCS,
        rcs_mode=Campaign.RcsMode.GROUPS,
        rcs_agent="Agent",
        rcs_cards=[{"text": "Hi"}],
    )

    problems = checks.campaign_check(campaign=campaign, list_ids=[big.pk])

    assert "BSG sends at most 5,000" in problems.errors["rcs_mode"][0]
    # SMS groups take up to 10,000, so the same lists pass there.
    assert not checks.groups_size_refusal(list_ids=[big.pk], channel=Campaign.Channel.SMS)
