"""Recurring campaigns: the cron maths, one copy of the template per run, and their set-up."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import JSONField
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import time_zone_known
from audit.services import audit_record

from .. import handoffs, schedule_timing, selectors
from ..checks import campaign_check
from ..models import (
    CAMPAIGN_CONTENT_FIELDS,
    Campaign,
    CampaignEvent,
    CampaignPart,
    CampaignSchedule,
    Recipient,
)
from ..stored_text import (
    AN_APPROVER,
    CLAUSE_SEPARATOR,
    CRON_TEXT,
    OWN_AUTHOR_APPROVED,
    SCHEDULE_APPROVAL_VOID,
    SCHEDULE_APPROVED,
    SCHEDULE_NOT_SENT,
    SCHEDULE_SENT,
    SCHEDULE_SET_UP,
    SCHEDULE_TEMPLATE_CHANGED,
    SCHEDULE_TIMING_CHANGED,
    moment_stored,
)
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
    if not schedule.fires or schedule.periodic_task.crontab is None:
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


def schedule_content(*, campaign: Campaign) -> dict[str, Any]:
    """A campaign's content (CAMPAIGN_CONTENT_FIELDS, lists as ids) as JSON: what a schedule's
    approval freezes and each of its runs sends."""
    content = {name: getattr(campaign, name) for name in CAMPAIGN_CONTENT_FIELDS if name != "lists"}
    content["lists"] = selectors.campaign_list_ids(campaign=campaign)
    # Through JSON and back: what is compared with the stored copy is what the copy holds.
    return json.loads(json.dumps(content, cls=DjangoJSONEncoder))


def _content_campaign(content: dict[str, Any]) -> Campaign:
    """An unsaved campaign holding `content` (schedule_content's JSON)."""
    values = {}
    for name, value in content.items():
        if name in ("lists", "timing"):
            continue
        field = Campaign._meta.get_field(name)
        values[name] = value if isinstance(field, JSONField) else field.to_python(value)
    return Campaign(**values)


def schedule_run(*, schedule_id: int, now: datetime | None = None) -> Campaign | None:
    """One run of a recurring schedule: a fresh campaign with the content its approver
    approved, ready to send to its lists. None when it is not approved, paused, or this run
    already has its copy."""
    now = now or timezone.now()
    schedule = (
        CampaignSchedule.objects.select_related("template", "periodic_task__crontab")
        .filter(pk=schedule_id)
        .first()
    )
    if schedule is None or not schedule.fires:
        # Beat fires only approved, running schedules; an admin may have enabled the beat task
        # by hand, and a void may have raced the beat: four-eyes is checked here, again.
        logger.info("schedule %s: missing, paused or not approved; no run", schedule_id)
        return None
    if settings.CAMPAIGNS_FOUR_EYES and schedule.approved_by_id in schedule_authors(
        schedule=schedule
    ):
        # Approved by one of its own authors while four-eyes was off: four-eyes is on now.
        with transaction.atomic():
            _schedule_approval_void(schedule, reason=OWN_AUTHOR_APPROVED.stored(), who=None)
        return None
    approved_timing = schedule.approved_content.get("timing")
    if approved_timing is not None and approved_timing != _schedule_timing(schedule):
        # Its crontab, beat task or frequency cap was changed in Django admin after approval.
        with transaction.atomic():
            _schedule_approval_void(schedule, reason=SCHEDULE_TIMING_CHANGED.stored(), who=None)
        return None
    key = schedule_run_key(schedule=schedule, now=now)
    if Campaign.objects.filter(schedule_run_key=key).exists():
        logger.info("schedule %s: run %s already has its copy", schedule_id, key)
        return None
    template = schedule.template
    # The content as approved, not as the template reads now.
    copy = _content_campaign(schedule.approved_content)
    list_ids = list(schedule.approved_content.get("lists") or [])
    problems = campaign_check(campaign=copy, list_ids=list_ids, when=None, schedule=False, now=now)
    local = now.astimezone(ZoneInfo(str(schedule.periodic_task.crontab.timezone)))
    copy.name = f"{template.name} · {local:%Y-%m-%d %H:%M}"[:200]
    copy.status = Status.DRAFT if problems.errors else Status.READY
    copy.start_at = None
    copy.bsg_schedules = False
    copy.send_requested_at = now
    copy.duplicated_from = template
    copy.created_by_id = schedule.created_by_id
    copy.approved_at = schedule.approved_at
    copy.approved_by_id = schedule.approved_by_id
    copy.schedule = schedule
    copy.schedule_run_key = key
    try:
        with transaction.atomic():
            copy.save(force_insert=True)
            copy.lists.set(list_ids)
            CampaignSchedule.objects.filter(pk=schedule.pk).update(last_run_at=now)
            if problems.errors:
                text = CLAUSE_SEPARATOR.join(m for ms in problems.errors.values() for m in ms)
                event_record(
                    copy.pk,
                    CampaignEvent.Kind.NEEDS_ATTENTION,
                    SCHEDULE_NOT_SENT.stored(name=schedule.name, problems=text),
                )
            else:
                event_record(
                    copy.pk,
                    CampaignEvent.Kind.SEND_REQUESTED,
                    SCHEDULE_SENT.stored(
                        name=schedule.name,
                        run=key,
                        approver=schedule.approved_by or AN_APPROVER.stored(),
                        when=moment_stored(schedule.approved_at) if schedule.approved_at else "—",
                    ),
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
    """A recurring campaign, waiting for approval: a CampaignSchedule and its beat PeriodicTask
    + CrontabSchedule, the task disabled until someone other than its authors approves it."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    template = Campaign.objects.filter(pk=template_id).first()
    if template is None:
        raise ValidationError(_("Choose the campaign each run copies."))
    if template.is_archived:
        raise ValidationError(
            _("“%(campaign)s” is archived; restore it from the archive to schedule it.")
            % {"campaign": template}
        )
    if template.created_elsewhere or not template.uses_lists:
        raise ValidationError(
            _("A recurring campaign sends to contact lists: choose a campaign that uses lists.")
        )
    if not name.strip():
        raise ValidationError(_("Give the schedule a name."))
    fields = {
        "minute": minute.strip() or "0",
        "hour": hour.strip() or "*",
        "day_of_week": day_of_week.strip() or "*",
        "day_of_month": day_of_month.strip() or "*",
        "month_of_year": month_of_year.strip() or "*",
    }
    problems = [
        problem
        for name, value in fields.items()
        if (problem := schedule_timing.cron_field_error(name, value))
    ]
    if problems:
        raise ValidationError(" ".join(problems))
    zone_name = time_zone.strip() or settings.TIME_ZONE
    if not time_zone_known(zone_name):
        raise ValidationError(schedule_timing.UNKNOWN_TIME_ZONE)
    who = person_or_none(user)
    with transaction.atomic():
        cron, _created = CrontabSchedule.objects.get_or_create(**fields, timezone=zone_name)
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
            enabled=False,
        )
        schedule.save(update_fields=["periodic_task"])
        audit_record(
            action="schedule-create",
            target=schedule,
            changes={
                "template": [None, f"{template} (#{template.pk})"],
                "timing": [None, f"{_cron_text(cron)} {zone_name}"],
                "frequency_cap_days": [None, schedule.frequency_cap_days],
            },
            message=SCHEDULE_SET_UP.stored(),
            actor=who,
        )
        handoffs.handoff_mail(
            to=handoffs.approvers_who_may_approve(authors=schedule_authors(schedule=schedule)),
            say=lambda: handoffs.schedule_approval_requested(schedule=schedule, actor=who),
            actor=who,
        )
    return schedule


def schedule_authors(*, schedule: CampaignSchedule) -> set[int]:
    """Who may not approve this schedule: whoever set it up, and everyone who wrote the
    content it sends (the template's creator and its authors since its last approval)."""
    template = schedule.template
    ids = {schedule.created_by_id, template.created_by_id}
    ids.update(template.content_authors.values_list("id", flat=True))
    return {pk for pk in ids if pk is not None}


def schedule_is_own(*, schedule: CampaignSchedule, user: Any) -> bool:
    """Whether four-eyes keeps this user from approving this schedule."""
    who = person_or_none(user)
    return bool(
        settings.CAMPAIGNS_FOUR_EYES
        and who is not None
        and who.pk in schedule_authors(schedule=schedule)
    )


def schedule_approval_fingerprint(*, schedule: CampaignSchedule) -> str:
    """What the approver is shown (the template's content now, and the timing), posted back
    with Approve so an edit in between is caught."""
    shown = {"content": schedule_content(campaign=schedule.template), **_schedule_timing(schedule)}
    raw = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _schedule_timing(schedule: CampaignSchedule) -> dict[str, Any]:
    """When it runs and its frequency cap: approved with the content (Django admin can edit
    the crontab, the beat task and the cap, so each run compares them with the approved)."""
    cron = schedule.periodic_task.crontab if schedule.periodic_task else None
    return {
        "timing": _cron_text(cron) if cron else "",
        "zone": str(cron.timezone) if cron else "",
        "cap": schedule.frequency_cap_days,
    }


def schedule_approve(
    *, schedule_id: int, user: Any, seen: str | None = None, now: datetime | None = None
) -> CampaignSchedule:
    """Approve a recurring campaign as it reads now: its template's content is frozen into the
    schedule (every run sends that), and beat starts firing it unless it is paused."""
    now = now or timezone.now()
    who = person_or_none(user)
    if who is None or not who.has_perm("campaigns.approve_campaign"):
        raise ValidationError(_("You may not approve campaigns; ask a campaign approver."))
    with transaction.atomic():
        schedule = (
            CampaignSchedule.objects.select_for_update(of=("self",))
            .select_related("template", "periodic_task__crontab")
            .filter(pk=schedule_id)
            .first()
        )
        if schedule is None:
            raise CampaignSchedule.DoesNotExist
        if schedule.periodic_task is None:
            raise ValidationError(
                _("This schedule's beat task was deleted in admin; set the schedule up again.")
            )
        if schedule_is_own(schedule=schedule, user=who):
            raise ValidationError(
                _("You set up this schedule or wrote its campaign; someone else must approve it.")
            )
        if seen is not None and seen != schedule_approval_fingerprint(schedule=schedule):
            raise ValidationError(
                _(
                    "The campaign or its schedule changed while you were looking at it; read it "
                    "again before approving."
                )
            )
        template = schedule.template
        list_ids = selectors.campaign_list_ids(campaign=template)
        problems = campaign_check(
            campaign=template, list_ids=list_ids, when=None, schedule=False, now=now
        )
        if problems:
            raise problems.refusal()
        content = {**schedule_content(campaign=template), "timing": _schedule_timing(schedule)}
        before = schedule.approved_content
        schedule.approved_content = content
        schedule.approved_at = now
        schedule.approved_by = who
        schedule.approval_void_reason = ""
        schedule.save(
            update_fields=["approved_content", "approved_at", "approved_by", "approval_void_reason"]
        )
        _beat_sync(schedule)
        audit_record(
            action="schedule-approve",
            target=schedule,
            changes={
                key: [before.get(key), value]
                for key, value in content.items()
                if before.get(key) != value
            },
            message=SCHEDULE_APPROVED.stored(
                campaign=template,
                timing=_cron_text(schedule.periodic_task.crontab),
                zone=schedule.periodic_task.crontab.timezone,
            ),
            actor=who,
        )
        handoffs.handoff_mail(
            to=handoffs.people(ids=[schedule.created_by_id]),
            say=lambda: handoffs.schedule_approved(schedule=schedule, actor=who),
            actor=who,
        )
    return schedule


def schedules_void_for_template(*, campaign: Campaign, changed: list[str], user: Any) -> int:
    """An edit of a template's content voids the approval of every schedule that sends it:
    they stop firing until someone approves the new content. Returns how many were voided."""
    who = person_or_none(user)
    reason = SCHEDULE_TEMPLATE_CHANGED.stored(changed=", ".join(changed), campaign=campaign)
    voided = 0
    for schedule in (
        CampaignSchedule.objects.select_for_update(of=("self",))
        .select_related("periodic_task")
        .filter(template_id=campaign.pk, approved_at__isnull=False)
    ):
        _schedule_approval_void(schedule, reason=reason, who=who)
        voided += 1
    return voided


def _schedule_approval_void(schedule: CampaignSchedule, *, reason: str, who: Any) -> None:
    """Its runs stop until it is approved again (in the caller's transaction)."""
    schedule.approved_at = None
    schedule.approved_by = None
    schedule.approval_void_reason = reason
    schedule.save(update_fields=["approved_at", "approved_by", "approval_void_reason"])
    _beat_sync(schedule)
    audit_record(
        action="schedule-approval-void",
        target=schedule,
        message=SCHEDULE_APPROVAL_VOID.stored(reason=reason),
        actor=who,
    )
    handoffs.handoff_mail(
        to=handoffs.approvers_who_may_approve(authors=schedule_authors(schedule=schedule)),
        say=lambda: handoffs.schedule_approval_void(schedule=schedule, reason=reason),
        actor=who,
    )


def schedule_set_paused(*, schedule_id: int, paused: bool, user: Any = None) -> CampaignSchedule:
    """Pause or resume a recurring campaign. Resuming does not approve: an unapproved schedule
    stays silent until it is approved."""
    with transaction.atomic():
        schedule = (
            CampaignSchedule.objects.select_for_update(of=("self",))
            .select_related("periodic_task")
            .get(pk=schedule_id)
        )
        if schedule.periodic_task is None:
            raise ValidationError(
                _("This schedule's beat task was deleted in admin; set the schedule up again.")
            )
        if schedule.paused != paused:
            schedule.paused = paused
            schedule.save(update_fields=["paused"])
            audit_record(
                action="schedule-pause" if paused else "schedule-resume",
                target=schedule,
                changes={"paused": [not paused, paused]},
                actor=person_or_none(user),
            )
        _beat_sync(schedule)
    return schedule


def _beat_sync(schedule: CampaignSchedule) -> None:
    """Beat fires the schedule's task only while the schedule runs (approved, not paused)."""
    task = schedule.periodic_task
    if task is not None and task.enabled != schedule.fires:
        # save() rather than update(): django-celery-beat notices the change through it.
        task.enabled = schedule.fires
        task.save(update_fields=["enabled"])


def schedule_when_text(*, schedule: CampaignSchedule) -> str:
    """When it runs, as a sentence when its cron is one of the presets ("Every Monday at 09:00
    Europe/Kyiv"); "" otherwise (the page shows the cron fields)."""
    cron = schedule.periodic_task.crontab if schedule.periodic_task else None
    if cron is None:
        return ""
    words = schedule_timing.cron_describe(
        {name: getattr(cron, name) for name in schedule_timing.CRON_FIELDS}
    )
    return f"{words} {cron.timezone}" if words else ""


def _cron_text(cron: Any) -> str:
    return CRON_TEXT.stored(
        minute=cron.minute,
        hour=cron.hour,
        day_of_month=cron.day_of_month,
        month_of_year=cron.month_of_year,
        day_of_week=cron.day_of_week,
    )


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
