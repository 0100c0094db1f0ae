"""Celery tasks of the composer: thin, take ids, idempotent (the services compare-and-set)."""

from celery import shared_task

from . import sendplan


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def send_plan_compute(plan_id: int) -> None:
    """Count a send plan for every recipient; a plan already taken or done is left alone."""
    sendplan.send_plan_compute(plan_id=plan_id)
