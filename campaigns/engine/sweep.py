"""The sweep: what the database says is due, handed to workers (beat runs it every few seconds)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import Campaign, CampaignEvent, CampaignPart
from ..stored_text import PART_CANCELLED_STOPPED
from .dispatch import campaigns_abandoned_in_dispatch
from .enqueue import parts_enqueue_submit, task_send
from .events import event_record

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status


@dataclass
class SweepReport:
    dispatched: list[int] = field(default_factory=list)
    submit: list[int] = field(default_factory=list)
    reconcile: list[int] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def engine_sweep(*, now: datetime | None = None, enqueue: bool = True) -> SweepReport:
    """What is due, from the database: campaigns ready or scheduled and due (or abandoned in
    dispatch by a lost worker), parts pending and due, parts left `submitting` by a worker
    that died (they become unconfirmed: the request may have reached BSG), and unconfirmed
    parts to reconcile."""
    now = now or timezone.now()
    report = SweepReport()
    due = Campaign.objects.filter(
        Q(status=Status.READY)
        | Q(status=Status.SCHEDULED, bsg_schedules=True)
        | Q(status=Status.SCHEDULED, start_at__lte=now)
    ).values_list("id", flat=True)
    # And campaigns whose ledger a lost worker left half-written (dispatch.py).
    report.dispatched = list(due) + campaigns_abandoned_in_dispatch(now=now)
    cutoff = now - timedelta(seconds=settings.ENGINE_STUCK_SUBMITTING)
    stuck = list(
        Part.objects.filter(state=State.SUBMITTING, last_attempt_at__lt=cutoff).values_list(
            "id", flat=True
        )
    )
    for part_id in stuck:
        changed = Part.objects.filter(
            pk=part_id, state=State.SUBMITTING, last_attempt_at__lt=cutoff
        ).update(state=State.UNCONFIRMED, outcome_was_unknown=True)
        if changed:
            report.stuck.append(part_id)
            logger.warning("part %s: left submitting by a lost worker; now unconfirmed", part_id)
    # A part sent back to pending while its campaign was being stopped (a harmless failure, or
    # "none at BSG" after an unclear answer) would wait for ever: nothing submits a stopped
    # campaign's parts. Cancel it, as the stop would have (found by bench/soak_system.py).
    orphaned = Part.objects.filter(state=State.PENDING, campaign__status=Status.STOPPED)
    for part_id, campaign_id, number in orphaned.values_list("id", "campaign_id", "number"):
        if Part.objects.filter(pk=part_id, state=State.PENDING).update(
            state=State.CANCELLED, finished_at=now
        ):
            report.cancelled.append(part_id)
            event_record(
                campaign_id,
                CampaignEvent.Kind.CANCELLED,
                PART_CANCELLED_STOPPED.stored(number=number),
                part_id=part_id,
            )
    report.submit = list(
        Part.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            state=State.PENDING,
            campaign__status=Status.SENDING,
            campaign__ledger_resolved_at__isnull=False,
        ).values_list("id", flat=True)
    )
    report.reconcile = list(
        Part.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            state=State.UNCONFIRMED,
        ).values_list("id", flat=True)
    )
    if enqueue:
        from .. import tasks

        for campaign_id in report.dispatched:
            task_send(tasks.campaign_dispatch, campaign_id)
        parts_enqueue_submit(part_ids=report.submit)
        for part_id in report.reconcile:
            task_send(tasks.part_reconcile, part_id)
    return report
