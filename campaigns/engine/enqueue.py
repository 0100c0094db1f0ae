"""The engine's one edge to Celery: ask a worker for work, and survive a broker that is down
(the sweep finds the work in the database). Tasks are imported late: they import the engine."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import Campaign

logger = logging.getLogger(__name__)


def task_send(task, *args: Any, countdown: float | None = None) -> bool:
    """Enqueue, and survive a broker that is down: the sweep finds the work in the database."""
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as error:  # kombu raises several types; all mean "not queued now"
        logger.warning("%s%s not queued (%s); the sweep will take it", task.name, args, error)
        return False
    return True


def parts_enqueue_submit(*, part_ids: Iterable[int]) -> None:
    from .. import tasks

    for part_id in part_ids:
        task_send(tasks.part_submit, part_id)


def campaign_enqueue_dispatch(*, campaign_id: int) -> None:
    """After the transaction that made a campaign due commits, ask a worker for it. A campaign
    scheduled here for later is not parked in the broker: the sweep dispatches it when due."""
    from .. import tasks

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or not campaign.is_due(now=timezone.now()):
        return
    transaction.on_commit(lambda: task_send(tasks.campaign_dispatch, campaign_id), robust=True)
