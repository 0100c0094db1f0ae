"""Issue 14's four ways around four-eyes, tried again the way the attacker tried them: through
the pages, with a real sandbox behind the engine. Each must end with nothing reaching a
recipient that a second person did not approve, as it is sent."""

import json
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEntry
from campaigns.engine import dispatch, schedules, submit
from campaigns.models import Campaign, CampaignSchedule, TestPhone, TestSend
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

from .conftest import make_person

pytestmark = pytest.mark.django_db

EVIL = "URGENT your account is locked, pay at http://evil.example/x"


@pytest.fixture
def engine_settings(bsg_settings):
    bsg_settings.ENGINE_BACKOFF_BASE = 0.0
    bsg_settings.ENGINE_BACKOFF_MAX = 0.01
    return bsg_settings


@pytest.fixture
def audience(db):
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    people = {}
    for phone, name in [("380501111111", "Olena"), ("380502222222", "Bob")]:
        people[name] = Contact.objects.create(phone=phone, name=name, fields={"first_name": name})
        ListMembership.objects.create(contact_list=spring, contact=people[name])
    return {"spring": spring, **people}


@pytest.fixture
def team(groups):
    both = make_person("author", groups, name="writer-approver")
    both.groups.add(groups["Campaign approvers"])
    return {
        "author": make_person("author", groups, name="olena"),
        "approver": make_person("approver", groups, name="ivan"),
        "both": both,
    }


def composer_data(audience, **overrides) -> dict:
    data = {
        "name": "Spring sale",
        "sms_mode": "individual",
        "text": "Hi {first_name}, spring sale",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_at": "",
        "start_time_zone": "Europe/Kyiv",
        "pasted_numbers": "",
        "lists": [audience["spring"].pk],
        "action": "save",
    }
    data.update(overrides)
    return data


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def sent_to_bsg(sandbox) -> str:
    """Every send request BSG received (not price estimates), as one string to search."""
    sends = [r for r in sandbox.state.requests if "/send" in str(r["path"])]
    return json.dumps(sends, ensure_ascii=False)


def send_out(campaign_id: int, now=None) -> dispatch.DispatchResult | None:
    """What the worker does with a due campaign: resolve its ledger, submit its parts."""
    result = dispatch.campaign_dispatch(campaign_id=campaign_id, now=now)
    for part_id in result.part_ids if result else []:
        submit.part_submit(part_id=part_id)
    return result


def test_hole_1_a_recurring_schedule_sends_only_content_someone_else_approved(
    client, team, audience, engine_settings, sandbox
):
    # The author saves a draft nobody asked to approve.
    client.force_login(team["author"])
    client.post(reverse("campaigns:new", args=["sms"]), composer_data(audience))
    draft = Campaign.objects.get()

    # Someone who both writes and approves schedules it every minute: it waits for approval.
    client.force_login(team["both"])
    response = client.post(
        reverse("campaigns:schedules"),
        {"name": "Every minute", "template": draft.pk, "minute": "*", "hour": "*"},
    )
    assert response.status_code == 302
    schedule = CampaignSchedule.objects.get()
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert not schedule.is_approved and not task.enabled
    assert schedules.schedule_run(schedule_id=schedule.pk) is None  # beat firing: nothing

    # Who set it up may not approve it, nor may the campaign's author (not an approver).
    response = client.post(reverse("campaigns:schedule-approve", args=[schedule.pk]))
    assert "someone else must approve it" in said(response)
    client.force_login(team["author"])
    assert client.post(reverse("campaigns:schedule-approve", args=[schedule.pk])).status_code == 403
    schedule.refresh_from_db()
    assert not schedule.is_approved

    # Another approver reads it and approves it: beat fires it, each run sends that content.
    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:schedules"))
    assert "Hi {first_name}, spring sale" in page.content.decode()
    seen = page.context["rows"][0]["seen"]
    response = client.post(
        reverse("campaigns:schedule-approve", args=[schedule.pk]), {"seen": seen}
    )
    assert "Approved" in said(response)
    schedule.refresh_from_db()
    task.refresh_from_db()
    assert schedule.approved_by == team["approver"] and task.enabled
    run = schedules.schedule_run(schedule_id=schedule.pk)
    assert run.text == "Hi {first_name}, spring sale" and run.approved_by == team["approver"]
    send_out(run.pk)
    assert "Hi Bob, spring sale" in sent_to_bsg(sandbox)

    # The author edits the text: the approval is void, beat stops, no run sends it.
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:edit", args=[draft.pk]), composer_data(audience, text=f"Hi. {EVIL}")
    )
    schedule.refresh_from_db()
    task.refresh_from_db()
    assert not schedule.is_approved and not task.enabled
    assert "Text" in schedule.approval_void_reason
    later = timezone.now() + timedelta(minutes=5)
    assert schedules.schedule_run(schedule_id=schedule.pk, now=later) is None
    # Even with beat's task enabled by hand in admin, a run checks the approval again.
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=True)
    assert schedules.schedule_run(schedule_id=schedule.pk, now=later) is None
    assert "evil.example" not in sent_to_bsg(sandbox)

    # A run sends the content as approved even if the template changed behind the app's back.
    client.force_login(team["approver"])
    seen = client.get(reverse("campaigns:schedules")).context["rows"][0]["seen"]
    client.post(reverse("campaigns:schedule-approve", args=[schedule.pk]), {"seen": seen})
    Campaign.objects.filter(pk=draft.pk).update(text="Changed in the database")
    run = schedules.schedule_run(schedule_id=schedule.pk, now=later + timedelta(minutes=5))
    assert run.text == f"Hi. {EVIL}"  # what the approver approved the second time

    # Pausing too is in the audit log, with every other change.
    client.post(reverse("campaigns:schedule-pause", args=[schedule.pk]), {"paused": "1"})
    actions = list(
        AuditEntry.objects.filter(target_content_type__model="campaignschedule")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "schedule-create",
        "schedule-approve",
        "schedule-approval-void",
        "schedule-approve",
        "schedule-pause",
    ]


def test_hole_2_a_contact_changed_after_approval_sends_it_back_with_the_difference(
    client, team, audience, engine_settings, sandbox
):
    client.force_login(team["author"])
    client.post(reverse("campaigns:new", args=["sms"]), composer_data(audience))
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    start = timezone.now() + timedelta(hours=2)
    Campaign.objects.filter(pk=campaign.pk).update(start_at=start)
    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "schedule"})
    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert "Approving approves the messages as the send plan below shows them" in (
        page.content.decode()
    )
    client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": page.context["approval_seen"]}
    )
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SCHEDULED

    # Before the start, the author changes Bob's name (the text says {first_name}).
    client.force_login(team["author"])
    response = client.post(
        reverse("contacts:contact-edit", args=[audience["Bob"].pk]),
        {
            "phone": "+380502222222",
            "name": "Bob",
            "field_first_name": f"Bob. {EVIL}",
            "lists": [audience["spring"].pk],
        },
    )
    assert response.status_code == 302

    # At the start the engine finds the difference: nothing goes to BSG, back to approval.
    result = send_out(campaign.pk, now=start + timedelta(seconds=1))
    assert result.sent_back and not result.part_ids
    assert "evil.example" not in sent_to_bsg(sandbox)
    assert not sandbox.state.campaigns
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert campaign.approved_by is None and not campaign.parts.exists()

    # The approver sees why, with the changed value, and must look at a new plan.
    client.force_login(team["approver"])
    body = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Sent back for approval, nothing sent" in body
    assert "+380502222222" in body or "380502222222" in body
    response = client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": "what was shown before"}
    )
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    changes = {change.key for change in page.context["approval_changes"]}
    assert "audience" in changes
    # Approved as it now reads, it goes out as approved.
    client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": page.context["approval_seen"]}
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED  # still at the author's start time
    result = send_out(campaign.pk, now=start + timedelta(seconds=2))
    assert result.recipients == 2 and "evil.example" in sent_to_bsg(sandbox)


def test_an_opt_out_after_approval_is_honoured_without_asking_again(
    client, team, audience, engine_settings, sandbox
):
    client.force_login(team["author"])
    client.post(reverse("campaigns:new", args=["sms"]), composer_data(audience))
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    client.force_login(team["approver"])
    seen = client.get(reverse("campaigns:detail", args=[campaign.pk])).context["approval_seen"]
    client.post(reverse("campaigns:approve", args=[campaign.pk]), {"seen": seen})

    DoNotContact.objects.create(phone="380502222222")
    result = send_out(campaign.pk)
    assert not result.sent_back and result.recipients == 1
    assert "380502222222" not in sent_to_bsg(sandbox)


def test_hole_3_whoever_changed_the_content_may_not_approve_it(client, team, audience, sandbox):
    client.force_login(team["author"])
    client.post(reverse("campaigns:new", args=["sms"]), composer_data(audience))
    campaign = Campaign.objects.get()
    # Someone holding both roles rewrites the text; the author asks for approval.
    client.force_login(team["both"])
    client.post(reverse("campaigns:edit", args=[campaign.pk]), composer_data(audience, text=EVIL))
    client.force_login(team["author"])
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL

    client.force_login(team["both"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert 'id="approve"' not in page.content.decode()
    response = client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": page.context["approval_seen"]}
    )
    assert "You wrote or changed this campaign" in said(response)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL
    # Nor the writer of a duplicate's original: the content is theirs.
    client.force_login(team["author"])
    client.post(reverse("campaigns:duplicate", args=[campaign.pk]))
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert team["both"].pk in set(copy.content_authors.values_list("id", flat=True))


def test_hole_4_test_sends_reach_only_test_phones_never_do_not_contact_and_are_limited(
    client, team, audience, bsg_settings, sandbox, settings
):
    settings.CAMPAIGNS_TEST_SENDS_PER_HOUR = 3
    client.force_login(team["author"])
    client.post(reverse("campaigns:new", args=["sms"]), composer_data(audience, text=EVIL))
    campaign = Campaign.objects.get()
    url = reverse("campaigns:test-send", args=[campaign.pk])

    # Any number at all: refused, nothing reaches BSG.
    response = client.post(url, {"phone": "+380 50 777 7777"}, HTTP_HX_REQUEST="true")
    # The number as contacts pages show it, beside the field.
    assert "+380 50 777 7777 is not one of your test phones" in response.content.decode()
    # A test phone on the do-not-contact list: refused too.
    TestPhone.objects.create(phone="380509999999", label="Team phone")
    TestPhone.objects.create(phone="380508888888", label="Left us")
    TestPhone.objects.create(phone="380506666666", label="Ivan's", owner=team["approver"])
    DoNotContact.objects.create(phone="380508888888")
    response = client.post(url, {"phone": "+380 50 888 8888"}, HTTP_HX_REQUEST="true")
    assert "+380 50 888 8888 is on the do-not-contact list" in response.content.decode()
    # Someone else's own phone: not this author's to use.
    response = client.post(url, {"phone": "+380 50 666 6666"}, HTTP_HX_REQUEST="true")
    assert "is not one of your test phones" in response.content.decode()
    assert not sandbox.state.campaigns

    # The team's phone: sent, audited, and only so many an hour.
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Team phone (+380 50 999 9999)" in page and "Ivan" not in page
    assert "+380509999999" not in page
    for _ in range(3):
        client.post(url, {"phone": "380509999999"}, HTTP_HX_REQUEST="true")
    response = client.post(url, {"phone": "380509999999"}, HTTP_HX_REQUEST="true")
    assert "the most allowed (3)" in response.content.decode()
    assert TestSend.objects.count() == 3
    assert len([r for r in sandbox.state.requests if "/send" in str(r["path"])]) == 3
    assert AuditEntry.objects.filter(action="campaign-test-send").count() == 3
