"""Recurring campaigns, campaigns created elsewhere, and repeated failures to do-not-contact."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from bsg.payloads import Recipient as BsgRecipient
from campaigns import selectors
from campaigns.engine import discovery, dispatch, followup, schedules, stop, submit
from campaigns.models import Campaign, CampaignPart, CampaignSchedule, Recipient
from config.bsg import bsg_client
from contacts.models import DoNotContact
from sandbox.faults import Faults
from tests.engine.conftest import numbers, ready_campaign

pytestmark = pytest.mark.django_db
State = CampaignPart.State


def template(audience) -> Campaign:
    return ready_campaign(
        name="Weekly news",
        status=Campaign.Status.DRAFT,
        sms_mode=Campaign.SmsMode.INDIVIDUAL,
        text="Hello {first_name}",
        pasted_numbers="",
        lists=[audience["spring"]],
    )


def approved(schedule: CampaignSchedule) -> CampaignSchedule:
    """Approved by an approver who neither set it up nor wrote its campaign (four-eyes)."""
    approver = get_user_model().objects.create_superuser("schedule-approver")
    return schedules.schedule_approve(schedule_id=schedule.pk, user=approver)


def test_a_schedule_is_a_beat_periodic_task_with_a_crontab(audience, user):
    schedule = schedules.schedule_create(
        name="Mondays",
        template_id=template(audience).pk,
        hour="9",
        day_of_week="1",
        time_zone="Europe/Kyiv",
        frequency_cap_days=3,
        user=user,
    )
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    # Nothing fires until it is approved.
    assert not task.enabled and schedules.schedule_next_run(schedule=schedule) is None
    schedule = approved(schedule)
    task.refresh_from_db()
    assert task.enabled
    assert task.task == "campaigns.tasks.schedule_run"
    assert task.args == f"[{schedule.pk}]"
    assert (task.crontab.hour, task.crontab.day_of_week, str(task.crontab.timezone)) == (
        "9",
        "1",
        "Europe/Kyiv",
    )
    # 2026-01-14 is a Wednesday; the next Monday 09:00 Kyiv is 07:00 UTC on the 19th.
    wednesday = datetime(2026, 1, 14, 12, tzinfo=UTC)
    assert schedules.schedule_next_run(schedule=schedule, now=wednesday) == datetime(
        2026, 1, 19, 7, tzinfo=UTC
    )
    schedules.schedule_set_paused(schedule_id=schedule.pk, paused=True)
    schedule.refresh_from_db()
    assert schedule.is_paused and schedules.schedule_next_run(schedule=schedule) is None
    schedules.schedule_set_paused(schedule_id=schedule.pk, paused=False)
    schedule.refresh_from_db()
    assert not schedule.is_paused


def test_first_of_the_month_next_run(audience):
    schedule = schedules.schedule_create(
        name="Monthly",
        template_id=template(audience).pk,
        hour="10",
        day_of_month="1",
        time_zone="UTC",
    )
    schedule = approved(schedule)
    assert schedules.schedule_next_run(
        schedule=schedule, now=datetime(2026, 1, 14, tzinfo=UTC)
    ) == datetime(2026, 2, 1, 10, tzinfo=UTC)


def test_bad_schedules_are_refused_with_a_reason(audience):
    tpl = template(audience)
    # In words, not celery's "Invalid end range: 25 > 23".
    with pytest.raises(ValidationError, match="Hour must be 0\u201323, not 25"):
        schedules.schedule_create(name="x", template_id=tpl.pk, hour="25")
    with pytest.raises(ValidationError, match="time zone"):
        schedules.schedule_create(name="x", template_id=tpl.pk, time_zone="Mars/Base")
    numbers_only = ready_campaign(status=Campaign.Status.DRAFT)
    with pytest.raises(ValidationError, match="lists"):
        schedules.schedule_create(name="x", template_id=numbers_only.pk)
    assert CampaignSchedule.objects.count() == 0


def test_each_run_sends_one_fresh_copy_and_two_beats_make_one(audience, engine_settings, sandbox):
    schedule = schedules.schedule_create(
        name="Daily", template_id=template(audience).pk, hour="9", time_zone="UTC"
    )
    schedule = approved(schedule)
    fired = datetime(2026, 1, 15, 9, 0, 2, tzinfo=UTC)
    copy = schedules.schedule_run(schedule_id=schedule.pk, now=fired)
    assert copy.status == Campaign.Status.READY and copy.schedule_id == schedule.pk
    assert copy.duplicated_from_id == schedule.template_id
    assert list(copy.lists.all()) == [audience["spring"]]
    # A second beat for the same run, even a little late, makes nothing.
    assert (
        schedules.schedule_run(schedule_id=schedule.pk, now=fired + timedelta(seconds=40)) is None
    )
    assert schedules.schedule_run(schedule_id=schedule.pk, now=fired + timedelta(hours=3)) is None
    # The next day's run is a new copy.
    assert schedules.schedule_run(schedule_id=schedule.pk, now=fired + timedelta(days=1))
    assert Campaign.objects.filter(schedule=schedule).count() == 2
    # The template itself is never sent.
    assert Campaign.objects.get(pk=schedule.template_id).status == Campaign.Status.DRAFT


def test_a_paused_schedule_makes_no_copy(audience):
    schedule = approved(schedules.schedule_create(name="Daily", template_id=template(audience).pk))
    schedules.schedule_set_paused(schedule_id=schedule.pk, paused=True)
    assert schedules.schedule_run(schedule_id=schedule.pk) is None


def test_the_frequency_cap_skips_recent_recipients(audience, engine_settings, sandbox):
    schedule = schedules.schedule_create(
        name="Daily",
        template_id=template(audience).pk,
        hour="9",
        time_zone="UTC",
        frequency_cap_days=2,
    )
    schedule = approved(schedule)
    now = timezone.now()
    first = schedules.schedule_run(schedule_id=schedule.pk, now=now - timedelta(days=1))
    result = dispatch.campaign_dispatch(campaign_id=first.pk)
    assert result.recipients == 3  # four in Spring, one on do-not-contact
    for part_id in result.part_ids:
        submit.part_submit(part_id=part_id)
    second = schedules.schedule_run(schedule_id=schedule.pk, now=now)
    assert dispatch.campaign_dispatch(campaign_id=second.pk).recipients == 0
    second.refresh_from_db()
    assert second.status == Campaign.Status.FINISHED
    assert "frequency cap" in second.events.last().message
    # Without a cap the same run sends again, once approved so (the cap is approved with it).
    CampaignSchedule.objects.filter(pk=schedule.pk).update(frequency_cap_days=None)
    assert schedules.schedule_run(schedule_id=schedule.pk, now=now + timedelta(days=1)) is None
    schedules.schedule_approve(schedule_id=schedule.pk, user=schedule.approved_by)
    third = schedules.schedule_run(schedule_id=schedule.pk, now=now + timedelta(days=1))
    assert dispatch.campaign_dispatch(campaign_id=third.pk).recipients == 3


def test_campaigns_created_elsewhere_are_recorded_read_only(engine_settings, sandbox):
    ours = ready_campaign(pasted_numbers=numbers(2))
    for part_id in dispatch.campaign_dispatch(campaign_id=ours.pk).part_ids:
        submit.part_submit(part_id=part_id)
    with bsg_client() as client:
        theirs = client.sms_send(
            phones=[BsgRecipient(number="380509990001")], text="From the web", sender="Other"
        )
    later = timezone.now() + timedelta(minutes=10)
    found = discovery.bsg_campaigns_discover(now=later)
    assert found == [theirs.id]
    elsewhere = Campaign.objects.get(created_elsewhere=True)
    assert elsewhere.is_read_only and elsewhere.sender == "Other"
    assert elsewhere.parts.get().bsg_campaign_id == theirs.id
    # Once recorded, it is not recorded again; ours never is.
    assert discovery.bsg_campaigns_discover(now=later) == []
    assert Campaign.objects.filter(created_elsewhere=True).count() == 1
    with pytest.raises(ValidationError, match="created elsewhere"):
        stop.campaign_stop(campaign_id=elsewhere.pk)


def test_discovery_waits_for_the_next_run_when_bsg_is_busy(engine_settings, sandbox, log_of):
    with bsg_client() as client:
        theirs = client.sms_send(
            phones=[BsgRecipient(number="380509990002")], text="x", sender="Other"
        )
    later = timezone.now() + timedelta(minutes=10)
    sandbox.set_faults(Faults(error_429=1.0, path_prefix="/api/campaigns", seed=1))
    messages = log_of("campaigns.engine")
    assert discovery.bsg_campaigns_discover(now=later) == []
    assert not Campaign.objects.filter(created_elsewhere=True).exists()
    assert any("discover: BSG not read to the end this time" in m for m in messages), messages
    sandbox.set_faults(Faults())
    assert discovery.bsg_campaigns_discover(now=later) == [theirs.id]


def test_a_fresh_unknown_campaign_is_left_until_ours_could_have_settled(engine_settings, sandbox):
    with bsg_client() as client:
        client.sms_send(phones=[BsgRecipient(number="380509990001")], text="x", sender="Other")
    # It may be one of ours whose answer is still in doubt.
    assert discovery.bsg_campaigns_discover() == []


def test_repeated_failures_go_to_do_not_contact(engine_settings, sandbox, user):
    campaigns = []
    for index in range(3):
        campaign = ready_campaign(name=f"C{index}", pasted_numbers=numbers(3))
        dispatch.campaign_dispatch(campaign_id=campaign.pk)
        campaigns.append(campaign)
    failing = "380507000000"
    Recipient.objects.filter(phone=failing).update(status="undelivered")
    # Another number failed only twice.
    Recipient.objects.filter(phone="380507000001", campaign__in=campaigns[:2]).update(
        status="failed"
    )
    assert selectors.repeated_failures(campaign_id=campaigns[2].pk) == {failing: 3}
    # Once its statuses stop changing by the minute (not while sending).
    Campaign.objects.filter(pk=campaigns[2].pk).update(status=Campaign.Status.FINISHED)
    added = followup.do_not_contact_add_repeated_failures(campaign_id=campaigns[2].pk, user=user)
    assert added == 1
    entry = DoNotContact.objects.get(phone=failing)
    assert entry.source == DoNotContact.Source.DELIVERY_FAILURES and entry.created_by == user
    with pytest.raises(ValidationError, match="3 or more"):
        followup.do_not_contact_add_repeated_failures(campaign_id=campaigns[2].pk)
