"""Celery tasks of the campaigns app: thin, take ids, idempotent (the services compare-and-set)."""

from celery import shared_task
from django.conf import settings

from . import handoffs, sendplan
from .engine import (
    delivery_reports,
    discovery,
    dispatch,
    poll,
    reconcile,
    schedules,
    submit,
    sweep,
)
from .engine.enqueue import task_send
from .models import CampaignPart


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def send_plan_compute(plan_id: int) -> None:
    """Count a send plan for every recipient; a plan already taken or done is left alone."""
    sendplan.send_plan_compute(plan_id=plan_id)


# --- the engine: each task re-fetches by id and calls one function of it ---------------------


@shared_task(
    acks_late=True,
    soft_time_limit=settings.ENGINE_DISPATCH_TIME_LIMIT,
    time_limit=settings.ENGINE_DISPATCH_TIME_LIMIT + 60,
)
def campaign_dispatch(campaign_id: int) -> None:
    """Take a due campaign, cut its audience into slices and write them with the other
    workers (dispatch_slice_write); the worker that writes the last one queues its parts."""
    dispatch.campaign_dispatch(campaign_id=campaign_id)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def dispatch_slice_write(slice_id: int) -> None:
    """Write one slice of a dispatching campaign's ledger (a part's worth of recipients); a
    slice another worker has or has written is left alone. The last one queues the parts."""
    dispatch.dispatch_slice_write(slice_id=slice_id)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def part_submit(part_id: int) -> None:
    """Submit one part; a part already claimed or moved is left alone."""
    outcome = submit.part_submit(part_id=part_id)
    if outcome is None or outcome.retry_in is None:
        return
    unconfirmed = outcome.state == CampaignPart.State.UNCONFIRMED
    task_send(part_reconcile if unconfirmed else part_submit, part_id, countdown=outcome.retry_in)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def part_reconcile(part_id: int) -> None:
    """Settle an unconfirmed part from BSG's records; ask again later while it is unclear."""
    outcome = reconcile.part_reconcile(part_id=part_id)
    if outcome is not None and outcome.state == CampaignPart.State.UNCONFIRMED:
        task_send(part_reconcile, part_id, countdown=outcome.retry_in)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def engine_poll() -> None:
    """Refresh live parts (one poll at a time, a lock guards it)."""
    poll.engine_poll()


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def engine_sweep() -> None:
    """Dispatch what the database says is due: campaigns, pending and stuck parts."""
    sweep.engine_sweep()


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def delivery_reports_apply() -> None:
    """Apply the statuses BSG pushed to the ledger (queued on receipt, and by beat as a sweep);
    applying a report twice changes nothing."""
    delivery_reports.delivery_reports_apply()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def schedule_run(schedule_id: int) -> None:
    """One run of a recurring campaign (beat's PeriodicTask); one copy per run, however many
    times it is delivered."""
    schedules.schedule_run(schedule_id=schedule_id)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def bsg_campaigns_discover() -> None:
    """Record BSG campaigns created elsewhere on the account, read-only."""
    discovery.bsg_campaigns_discover()


@shared_task(
    bind=True,
    acks_late=False,
    soft_time_limit=60,
    time_limit=90,
    max_retries=handoffs.MAIL_MAX_RETRIES,
)
def handoff_mail_send(self, to: str, subject: str, body: str) -> None:
    """One hand-off email (campaigns.handoffs), as rendered when it happened; a mail server
    that is down or busy is tried again later. Not acks_late (the settings' default): a worker
    lost mid-send would send it again, and a lost nudge costs less than two."""
    retry_in = handoffs.mail_send(to=to, subject=subject, body=body, attempt=self.request.retries)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)
