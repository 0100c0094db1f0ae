"""Recurring campaigns: the cron maths, one copy of the template per run, and their set-up."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import selectors
from ..checks import campaign_check
from ..models import Campaign, CampaignEvent, CampaignPart, CampaignSchedule, Recipient
from .enqueue import campaign_enqueue_dispatch
from .events import event_record, person_or_none

logger = logging.getLogger(__name__)

State = CampaignPart.State
Status = Campaign.Status


def _cron_sets(schedule: CampaignSchedule):
    from celery.schedules import crontab

    cron = schedule.periodic_task.crontab
    parsed = crontab(
        minute=cron.minute,
        hour=cron.hour,
        day_of_week=cron.day_of_week,
        day_of_month=cron.day_of_month,
        month_of_year=cron.month_of_year,
    )
    return parsed, ZoneInfo(str(cron.timezone))


def _fires_on(parsed: Any, day: date) -> bool:
    # Celery counts days of the week from Sunday = 0, and requires both day fields to match.
    return (
        day.month in parsed.month_of_year
        and day.day in parsed.day_of_month
        and day.isoweekday() % 7 in parsed.day_of_week
    )


def _fire_times(parsed: Any, day: date, zone: ZoneInfo, *, reverse: bool) -> Iterator[datetime]:
    for hour in sorted(parsed.hour, reverse=reverse):
        for minute in sorted(parsed.minute, reverse=reverse):
            yield datetime.combine(day, time(hour, minute), tzinfo=zone)


def schedule_next_run(*, schedule: CampaignSchedule, now: datetime | None = None):
    """When beat next fires this schedule (None when paused or it never fires)."""
    if schedule.is_paused or schedule.periodic_task.crontab is None:
        return None
    parsed, zone = _cron_sets(schedule)
    local = (now or timezone.now()).astimezone(zone)
    for offset in range(0, 370 * 4):
        day = local.date() + timedelta(days=offset)
        if _fires_on(parsed, day):
            for moment in _fire_times(parsed, day, zone, reverse=False):
                if moment > local:
                    return moment
    return None


def _previous_run(schedule: CampaignSchedule, now: datetime) -> datetime | None:
    parsed, zone = _cron_sets(schedule)
    local = now.astimezone(zone)
    for offset in range(0, 370 * 4):
        day = local.date() - timedelta(days=offset)
        if _fires_on(parsed, day):
            for moment in _fire_times(parsed, day, zone, reverse=True):
                if moment <= local:
                    return moment
    return None


def schedule_run_key(*, schedule: CampaignSchedule, now: datetime) -> str:
    """The run a task belongs to: the latest time the schedule fired at or before now, so two
    beats firing for one minute, or a task delivered late or twice, name the same run."""
    fired = _previous_run(schedule, now) if schedule.periodic_task_id else None
    moment = (fired or now).astimezone(ZoneInfo("UTC"))
    return f"s{schedule.pk}-{moment:%Y%m%d%H%M}"


def schedule_run(*, schedule_id: int, now: datetime | None = None) -> Campaign | None:
    """One run of a recurring schedule: a fresh copy of the template, ready to send to its
    lists. None when paused, or this run already has its copy."""
    now = now or timezone.now()
    schedule = (
        CampaignSchedule.objects.select_related("template", "periodic_task__crontab")
        .filter(pk=schedule_id)
        .first()
    )
    if schedule is None or schedule.is_paused:
        logger.info("schedule %s: missing or paused; no run", schedule_id)
        return None
    key = schedule_run_key(schedule=schedule, now=now)
    if Campaign.objects.filter(schedule_run_key=key).exists():
        logger.info("schedule %s: run %s already has its copy", schedule_id, key)
        return None
    template = schedule.template
    list_ids = selectors.campaign_list_ids(campaign=template)
    problems = campaign_check(
        campaign=template, list_ids=list_ids, when=None, schedule=False, now=now
    )
    # The template's content only: its history (stopped, approved, priced) is not the run's.
    copy = template.content_copy()
    local = now.astimezone(ZoneInfo(str(schedule.periodic_task.crontab.timezone)))
    copy.name = f"{template.name} · {local:%Y-%m-%d %H:%M}"[:200]
    copy.status = Status.DRAFT if problems.errors else Status.READY
    copy.start_at = None
    copy.bsg_schedules = False
    copy.send_requested_at = now
    copy.duplicated_from = template
    copy.schedule = schedule
    copy.schedule_run_key = key
    try:
        with transaction.atomic():
            copy.save(force_insert=True)
            copy.lists.set(list_ids)
            CampaignSchedule.objects.filter(pk=schedule.pk).update(last_run_at=now)
            if problems.errors:
                text = "; ".join(m for ms in problems.errors.values() for m in ms)
                event_record(
                    copy.pk,
                    CampaignEvent.Kind.NEEDS_ATTENTION,
                    f"Not sent by schedule “{schedule.name}”: {text}",
                )
            else:
                event_record(
                    copy.pk,
                    CampaignEvent.Kind.SEND_REQUESTED,
                    f"Sent by schedule “{schedule.name}” (run {key}).",
                )
                campaign_enqueue_dispatch(campaign_id=copy.pk)
    except IntegrityError:
        # Another worker made this run's copy between our check and our insert.
        logger.info("schedule %s: run %s made by another worker", schedule_id, key)
        return None
    logger.info("schedule %s: run %s made campaign %s", schedule_id, key, copy.pk)
    return copy


def schedule_create(
    *,
    name: str,
    template_id: int,
    minute: str = "0",
    hour: str = "9",
    day_of_week: str = "*",
    day_of_month: str = "*",
    month_of_year: str = "*",
    time_zone: str = "",
    frequency_cap_days: int | None = None,
    user: Any = None,
) -> CampaignSchedule:
    """A recurring campaign: a CampaignSchedule and its beat PeriodicTask + CrontabSchedule."""
    import json

    from celery.schedules import ParseException, crontab
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    template = Campaign.objects.filter(pk=template_id).first()
    if template is None:
        raise ValidationError("Choose the campaign each run copies.")
    if template.created_elsewhere or not template.uses_lists:
        raise ValidationError(
            "A recurring campaign sends to contact lists: choose a campaign that uses lists."
        )
    if (
        settings.CAMPAIGNS_FOUR_EYES
        and user is not None
        and getattr(user, "pk", None) is not None
        and user.pk == template.created_by_id
    ):
        # Every run goes out without anyone pressing Send: setting it up is the approval.
        raise ValidationError(
            "You wrote this campaign; someone else must approve it (set up its schedule)."
        )
    if not name.strip():
        raise ValidationError("Give the schedule a name.")
    fields = {
        "minute": minute.strip() or "0",
        "hour": hour.strip() or "*",
        "day_of_week": day_of_week.strip() or "*",
        "day_of_month": day_of_month.strip() or "*",
        "month_of_year": month_of_year.strip() or "*",
    }
    try:
        crontab(**fields)
    except (ValueError, KeyError, ParseException) as error:
        raise ValidationError(f"That schedule is not a valid cron expression: {error}") from None
    zone_name = time_zone.strip() or settings.TIME_ZONE
    try:
        ZoneInfo(zone_name)
    except (ValueError, KeyError, OSError):
        raise ValidationError(f"Unknown time zone “{zone_name}”.") from None
    who = person_or_none(user)
    with transaction.atomic():
        cron, _ = CrontabSchedule.objects.get_or_create(**fields, timezone=zone_name)
        schedule = CampaignSchedule.objects.create(
            name=name.strip()[:200],
            template=template,
            frequency_cap_days=frequency_cap_days or None,
            created_by=who,
        )
        schedule.periodic_task = PeriodicTask.objects.create(
            name=f"Recurring campaign {schedule.pk}: {schedule.name}"[:200],
            task="campaigns.tasks.schedule_run",
            crontab=cron,
            args=json.dumps([schedule.pk]),
        )
        schedule.save(update_fields=["periodic_task"])
    return schedule


def schedule_set_paused(*, schedule_id: int, paused: bool) -> CampaignSchedule:
    """Pause or resume a recurring campaign (its beat task's `enabled`)."""
    schedule = CampaignSchedule.objects.select_related("periodic_task").get(pk=schedule_id)
    if schedule.periodic_task is None:
        raise ValidationError("This schedule's beat task was deleted in admin; create it again.")
    # save() rather than update(): django-celery-beat notices the change through it.
    schedule.periodic_task.enabled = not paused
    schedule.periodic_task.save(update_fields=["enabled"])
    return schedule


def schedule_capped_phones(*, campaign: Campaign, now: datetime) -> set[str]:
    """Phones this campaign's schedule messaged within its frequency cap (the ledger)."""
    if not campaign.schedule_id:
        return set()
    days = (
        CampaignSchedule.objects.filter(pk=campaign.schedule_id)
        .values_list("frequency_cap_days", flat=True)
        .first()
    )
    if not days:
        return set()
    return set(
        Recipient.objects.filter(
            campaign__schedule_id=campaign.schedule_id,
            campaign__dispatched_at__gte=now - timedelta(days=days),
            part__state=State.SUBMITTED,
        )
        .exclude(campaign_id=campaign.pk)
        .values_list("phone", flat=True)
        .distinct()
    )
