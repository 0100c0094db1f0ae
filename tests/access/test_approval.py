"""Four-eyes approval: the author asks, someone else approves (or sends it back), and any edit
after an approval asks for a new one; the approver sees what changed since the last approval."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from campaigns import approval, services
from campaigns.models import Campaign, CampaignEvent, SendPlan
from contacts.models import Contact, ContactField, ContactList, ListMembership

from .conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience(db):
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    vip = ContactList.objects.create(name="VIP")
    for phone, name in [("380501111111", "Olena"), ("380502222222", "Ivan")]:
        contact = Contact.objects.create(phone=phone, name=name, fields={"first_name": name})
        ListMembership.objects.create(contact_list=spring, contact=contact)
    vip_contact = Contact.objects.create(phone="380503333333", fields={"first_name": "Petro"})
    ListMembership.objects.create(contact_list=vip, contact=vip_contact)
    return {"spring": spring, "vip": vip}


@pytest.fixture
def team(groups):
    """An author, two approvers, and someone who both writes and approves."""
    both = make_person("author", groups, name="writer-approver")
    both.groups.add(groups["Campaign approvers"])
    return {
        "author": make_person("author", groups, name="olena"),
        "approver": make_person("approver", groups, name="ivan"),
        "approver2": make_person("approver", groups, name="petro"),
        "both": both,
    }


def compose(user, audience, *, text="Hi {first_name}, spring sale", lists=("spring",)):
    """A draft as the composer saves it, with a fresh send plan: ready to ask for approval."""
    campaign = services.campaign_save(
        campaign=Campaign(
            name="Spring sale",
            channel=Campaign.Channel.SMS,
            sms_mode=Campaign.SmsMode.INDIVIDUAL,
            text=text,
            sender="Shop",
        ),
        list_ids=[audience[name].pk for name in lists],
        user=user,
    )
    services.send_plan_request(campaign_id=campaign.pk, user=user)
    return campaign


def edit(campaign, user, audience, **changes):
    campaign = Campaign.objects.get(pk=campaign.pk)
    lists = changes.pop("lists", None)
    for name, value in changes.items():
        setattr(campaign, name, value)
    list_ids = (
        [audience[n].pk for n in lists]
        if lists
        else list(campaign.lists.values_list("id", flat=True))
    )
    saved = services.campaign_save(campaign=campaign, list_ids=list_ids, user=user)
    services.send_plan_request(campaign_id=saved.pk, user=user)
    return Campaign.objects.get(pk=saved.pk)


def kinds(campaign):
    events = CampaignEvent.objects.filter(campaign=campaign).order_by("id")
    return list(events.values_list("kind", flat=True))


def test_an_author_cannot_approve_their_own_campaign(client, team, audience, bsg_settings):
    campaign = compose(team["both"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["both"], when=None)
    with pytest.raises(ValidationError) as refused:
        approval.campaign_approve(campaign_id=campaign.pk, user=team["both"])
    assert refused.value.messages == [
        "You wrote or changed this campaign; someone else must approve it."
    ]

    client.force_login(team["both"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "You wrote or changed this campaign; someone else must approve it." in page
    assert 'id="approve"' not in page
    response = client.post(reverse("campaigns:approve", args=[campaign.pk]), follow=True)
    assert "someone else must approve it" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL


def test_the_composer_send_asks_for_approval_and_nothing_goes_out(
    client, team, audience, bsg_settings
):
    campaign = compose(team["author"], audience)
    client.force_login(team["author"])
    page = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "Ask for approval to send now" in page
    response = client.post(
        reverse("campaigns:edit", args=[campaign.pk]),
        {
            "name": "Spring sale",
            "sms_mode": "individual",
            "text": "Hi {first_name}, spring sale",
            "sender": "Shop",
            "lists": [audience["spring"].pk],
            "validity_hours": "72",
            "tariff_code": "0",
            "start": "now",
            "action": "send",
        },
        follow=True,
    )
    assert "Sent for approval" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert campaign.approval_requested_by == team["author"]
    assert campaign.approval_send_at is None
    assert campaign.send_requested_at is None
    assert not campaign.is_due(now=timezone.now())
    assert kinds(campaign)[-1] == CampaignEvent.Kind.APPROVAL_REQUESTED


def test_another_approver_approves_and_it_goes_out(client, team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert page.context["approval_changes"] is None
    assert "Never approved before" in page.content.decode()
    assert "Approve and send" in page.content.decode()
    response = client.post(
        reverse("campaigns:approve", args=[campaign.pk]),
        {"seen": page.context["approval_seen"]},
        follow=True,
    )
    assert "Approved: sending has been requested." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.READY
    assert campaign.approved_by == team["approver"]
    assert campaign.send_requested_by == team["approver"]
    assert campaign.approval_snapshot["text"] == "Hi {first_name}, spring sale"
    assert CampaignEvent.Kind.APPROVED in kinds(campaign)
    entry = AuditEntry.objects.get(action="campaign-approve", target_object_id=str(campaign.pk))
    assert entry.actor == team["approver"]


def test_approve_and_schedule_keeps_the_authors_start_time(team, audience, bsg_settings):
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=when)
    approved = approval.campaign_approve(campaign_id=campaign.pk, user=team["approver"])
    assert approved.status == Campaign.Status.SCHEDULED
    assert approved.start_at == when


def test_an_edit_after_approval_voids_it_and_the_diff_shows_text_lists_and_schedule(
    client, team, audience, bsg_settings
):
    first = timezone.now() + timedelta(days=2)
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=first)
    approval.campaign_approve(campaign_id=campaign.pk, user=team["approver"])
    services.campaign_unschedule(campaign_id=campaign.pk)

    edited = edit(
        campaign, team["author"], audience, text="Hi {first_name}, 30% off", lists=["spring", "vip"]
    )
    assert edited.approved_at is None
    assert kinds(edited)[-1] == CampaignEvent.Kind.APPROVAL_VOID
    client.force_login(team["author"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "needs approval again" in page

    later = timezone.now() + timedelta(days=3)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=later)
    client.force_login(team["approver2"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    changes = {change.key: change for change in page.context["approval_changes"]}
    # The recipients too: VIP's contact joined them.
    assert set(changes) == {"text", "lists", "send_at", "audience"}
    assert changes["audience"].before.startswith("2 recipients")
    assert changes["audience"].after.startswith("3 recipients")
    assert changes["text"].before == "Hi {first_name}, spring sale"
    assert changes["text"].after == "Hi {first_name}, 30% off"
    assert changes["lists"].added == (f"VIP (#{audience['vip'].pk})",)
    assert changes["lists"].removed == ()
    body = page.content.decode()
    assert 'id="approval-changes"' in body and "30% off" in body and "Approve and schedule" in body

    approval.campaign_approve(
        campaign_id=campaign.pk, user=team["approver2"], seen=page.context["approval_seen"]
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.start_at == later
    assert campaign.approved_by == team["approver2"]


def test_asking_again_without_changes_shows_nothing_changed(client, team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    when = timezone.now() + timedelta(days=2)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=when)
    approval.campaign_approve(campaign_id=campaign.pk, user=team["approver"])
    services.campaign_unschedule(campaign_id=campaign.pk)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=when)
    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert page.context["approval_changes"] == []
    assert "Nothing changed since it was approved" in page.content.decode()


def test_a_change_while_the_approver_reads_it_is_caught(client, team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    client.force_login(team["approver"])
    seen = client.get(reverse("campaigns:detail", args=[campaign.pk])).context["approval_seen"]
    ContactList.objects.filter(pk=audience["spring"].pk).update(name="Spring (all)")
    with pytest.raises(ValidationError) as refused:
        approval.campaign_approve(campaign_id=campaign.pk, user=team["approver"], seen=seen)
    assert "changed while you were looking at it" in refused.value.messages[0]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL


def test_sending_back_needs_a_reason_and_returns_a_draft(client, team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    with pytest.raises(ValidationError) as refused:
        approval.campaign_reject(campaign_id=campaign.pk, user=team["approver"], reason="  ")
    assert "Say why you are sending it back" in refused.value.messages[0]

    client.force_login(team["approver"])
    client.post(
        reverse("campaigns:reject", args=[campaign.pk]), {"reason": "Say which stores, please."}
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.sent_back_reason == "Say which stores, please."
    assert kinds(campaign)[-1] == CampaignEvent.Kind.SENT_BACK
    assert AuditEntry.objects.filter(action="campaign-reject", message__contains="stores").exists()
    client.force_login(team["author"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Say which stores, please." in page
    with pytest.raises(ValidationError):
        approval.campaign_approve(campaign_id=campaign.pk, user=team["approver"])


def test_its_author_withdraws_a_request(client, team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    client.force_login(team["author"])
    client.post(reverse("campaigns:unschedule", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.approval_requested_at is None


def test_a_stale_plan_is_computed_again_when_the_approver_approves(team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    SendPlan.objects.filter(campaign=campaign).update(
        finished_at=timezone.now() - timedelta(hours=2)
    )
    approved = approval.campaign_approve(campaign_id=campaign.pk, user=team["approver"])
    assert approved.status == Campaign.Status.READY
    assert SendPlan.objects.filter(campaign=campaign).count() == 2


def test_a_duplicate_carries_no_approval(team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    approval.campaign_approve(campaign_id=campaign.pk, user=team["approver"])
    copy = services.campaign_duplicate(campaign_id=campaign.pk, user=team["author"])
    assert copy.approved_at is None and copy.approved_by is None
    assert copy.approval_snapshot == {}


def test_four_eyes_off_lets_an_approver_send_directly(client, team, audience, bsg_settings):
    bsg_settings.CAMPAIGNS_FOUR_EYES = False
    campaign = compose(team["both"], audience)
    client.force_login(team["both"])
    page = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert ">Send now</button>" in page
    sent = approval.campaign_submit(campaign_id=campaign.pk, user=team["both"], when=None)
    assert sent.status == Campaign.Status.READY
    assert sent.approved_by == team["both"]

    # An author who may not approve still asks; with four-eyes off an approver may approve their
    # own request too.
    other = compose(team["author"], audience)
    asked = approval.campaign_submit(campaign_id=other.pk, user=team["author"], when=None)
    assert asked.status == Campaign.Status.AWAITING_APPROVAL
    own = compose(team["both"], audience)
    approval.campaign_approval_request(campaign_id=own.pk, user=team["both"], when=None)
    assert approval.campaign_approve(campaign_id=own.pk, user=team["both"]).status == "ready"


def test_only_a_draft_that_could_be_sent_is_sent_for_approval(team, audience, bsg_settings):
    # Not even planned: a plan of a text that cannot go out is refused (tests/campaigns).
    with pytest.raises(ValidationError):
        compose(team["author"], audience, text="")
    campaign = Campaign.objects.get(text="")
    with pytest.raises(ValidationError) as invalid:
        approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    assert "Write the text of the SMS." in invalid.value.messages
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_the_demo_has_a_second_person_to_approve_the_demo_users_campaigns(groups, capsys):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("demo_setup")
    out = capsys.readouterr().out
    password = out.split("user: demo-approver  password: ")[1].split()[0]
    approver = get_user_model().objects.get(username="demo-approver")
    assert approver.check_password(password)
    assert not approver.is_superuser
    assert approver.has_perm("campaigns.approve_campaign")
    assert not approver.has_perm("campaigns.change_campaign")


def recipient_shown(body: str) -> str:
    section = body.split('id="recipient-preview"')[1]
    # The number as contacts pages show it (+380 50 111 1111).
    found = re.search(r"Recipient: \+\d+(?: \d+)* · (\w+)", section)
    return found.group(1) if found else ""


def test_the_approver_steps_through_each_recipients_text_before_approving(
    client, team, audience, bsg_settings
):
    campaign = compose(team["author"], audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=team["author"], when=None)
    client.force_login(team["approver"])
    detail = reverse("campaigns:detail", args=[campaign.pk])
    page = client.get(detail).content.decode()
    assert "One recipient&#x27;s text" in page or "One recipient's text" in page
    assert recipient_shown(page) == "Olena" and "Hi Olena, spring sale" in page
    # Read-only: the saved campaign, no form as typed posted, nothing to edit.
    assert reverse("campaigns:preview-recipient") not in page
    olena = Contact.objects.get(name="Olena").pk

    # With htmx: the read-only view answers the same buttons with the section alone.
    following = client.get(
        reverse("campaigns:recipient", args=[campaign.pk]),
        {"contact": olena, "step": "next"},
        HTTP_HX_REQUEST="true",
    )
    assert following.status_code == 200
    body = following.content.decode()
    assert recipient_shown(body) == "Ivan" and "Hi Ivan, spring sale" in body
    assert "<html" not in body
    # Without script: the detail page itself.
    assert (
        recipient_shown(client.get(detail, {"contact": olena, "step": "next"}).content.decode())
        == "Ivan"
    )
    found = client.get(detail, {"step": "search", "search": "Ivan"}).content.decode()
    assert recipient_shown(found) == "Ivan"

    # Reading it is all an approver may do: the composer's preview of a form as typed stays
    # the authors'.
    assert (
        client.post(reverse("campaigns:preview-recipient"), {"channel": "sms"}).status_code == 403
    )


def test_no_recipient_preview_once_it_is_no_longer_waiting(client, team, audience, bsg_settings):
    campaign = compose(team["author"], audience)
    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="recipient-preview"' not in page
    section = client.get(reverse("campaigns:recipient", args=[campaign.pk])).content.decode()
    assert "Olena" not in section


def test_the_approver_sees_an_rcs_campaigns_cards_and_fallback_per_recipient(
    client, team, audience, bsg_settings
):
    rcs = services.campaign_save(
        campaign=Campaign(
            name="Spring RCS",
            channel=Campaign.Channel.RCS,
            rcs_agent="shop",
            rcs_cards=[{"title": "Hi {first_name}", "text": "Spring sale", "suggestions": []}],
            fallback_enabled=True,
            fallback_text="Hi {first_name}: -20% this week",
            fallback_sender="Shop",
        ),
        list_ids=[audience["spring"].pk],
        user=team["author"],
    )
    services.send_plan_request(campaign_id=rcs.pk, user=team["author"])
    approval.campaign_approval_request(campaign_id=rcs.pk, user=team["author"], when=None)
    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:detail", args=[rcs.pk])).content.decode()
    cards = page.split('id="approval-rcs"')[1].split("</section>")[0]
    assert "Hi Olena" in cards and "Hi Ivan" in cards
    assert recipient_shown(page) == "Olena" and "Hi Olena: -20% this week" in page
