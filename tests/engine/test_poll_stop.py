"""Polling, snapshots, per-recipient statuses, stopping, the sweep and a broker that is down."""

import time
from datetime import timedelta

import kombu.pools
import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from bsg import rules
from campaigns import selectors, services
from campaigns.engine import dispatch, poll, stop, submit, sweep
from campaigns.models import Campaign, CampaignPart, CampaignSnapshot, Recipient
from config.bsg import bsg_client
from config.celery import app as celery_app
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State
pytestmark = pytest.mark.django_db


def submitted_campaign(**overrides) -> Campaign:
    campaign = ready_campaign(**overrides)
    for part_id in dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids:
        assert submit.part_submit(part_id=part_id).state == State.SUBMITTED
    return campaign


def poll_until_finished(campaign: Campaign, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING:
        assert time.monotonic() < deadline, "the campaign never finished"
        poll.engine_poll()
        time.sleep(0.1)


def test_polling_follows_parts_to_the_end_and_records_figures(engine_settings, sandbox):
    campaign = submitted_campaign(pasted_numbers=numbers(4))
    poll_until_finished(campaign)
    part = CampaignPart.objects.get(campaign=campaign)
    assert part.bsg_status == "done"
    assert part.finished_at is not None
    assert part.price is not None and part.currency == "EUR"
    assert part.breakdown
    snapshots = list(CampaignSnapshot.objects.filter(part=part))
    assert snapshots and snapshots[-1].bsg_status == "done"
    # A snapshot only when something changed.
    figures = [(s.bsg_status, s.sent, s.delivered) for s in snapshots]
    assert len(figures) == len(set(figures)) or figures[-1] == figures[-2]
    # Terminal parts are not asked again.
    before = len(sandbox.state.requests)
    report = poll.engine_poll()
    assert report.parts == 0
    assert all(
        not r["path"].startswith(f"/api/campaigns/{part.bsg_campaign_id}")
        for r in sandbox.state.requests[before:]
    )


def test_per_recipient_statuses_come_from_bsg_messages(engine_settings, sandbox):
    campaign = submitted_campaign(pasted_numbers=numbers(3))
    poll_until_finished(campaign)
    part = CampaignPart.objects.get(campaign=campaign)
    with bsg_client() as client:
        poll.part_messages_refresh(part=part, client=client, now=timezone.now())
    statuses = set(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert "" not in statuses
    rows = list(selectors.ledger_csv_rows(campaign_id=campaign.pk))
    assert rows[0].startswith("phone,part,reference_id,received,status,reason")
    assert len(rows) == 4


def test_the_poll_that_sees_a_part_end_reads_its_recipients_statuses_too(engine_settings, sandbox):
    campaign = submitted_campaign(pasted_numbers=numbers(3))
    poll_until_finished(campaign)
    # No separate refresh: the recipients tab agrees with "Finished" at once.
    statuses = set(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True))
    pending = {*poll.IN_FLIGHT_MESSAGE_STATUSES, "", "scheduled"}
    assert statuses and not statuses & pending


def test_many_parts_are_polled_with_the_paged_list(engine_settings, sandbox, monkeypatch):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 2)
    submitted_campaign(pasted_numbers=numbers(12))
    assert CampaignPart.objects.count() == 6
    report = poll.engine_poll()
    assert report.parts == 6
    # One page of E5 for six parts, plus per-recipient pages (E9) and any E8 for ended parts.
    list_calls = [r for r in sandbox.state.requests if r["path"] == "/api/campaigns"]
    assert len(list_calls) == 1
    single = [
        r for r in sandbox.state.requests if r["path"].rstrip("0123456789").endswith("/campaigns/")
    ]
    assert single == []


def test_only_one_poll_runs_at_a_time(engine_settings):
    cache.add(poll.POLL_LOCK_KEY, "1", timeout=30)
    assert poll.engine_poll().skipped is True


def test_stop_asks_bsg_for_every_live_part_and_records_who(engine_settings, sandbox, user):
    campaign = submitted_campaign(pasted_numbers=numbers(3))
    report = stop.campaign_stop(campaign_id=campaign.pk, user=user)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.STOPPED
    assert campaign.stopped_by == user and campaign.stopped_at
    part = CampaignPart.objects.get(campaign=campaign)
    assert part.stop_answer
    stops = [r for r in sandbox.state.requests if r["path"].endswith("/stop")]
    assert len(stops) == 1
    assert report.stopped or report.refused
    with pytest.raises(ValidationError, match="nothing left to stop"):
        stop.campaign_stop(campaign_id=campaign.pk, user=user)


def test_a_locally_scheduled_campaign_is_cancelled_without_calling_bsg(engine_settings, sandbox):
    campaign = ready_campaign(
        status=Campaign.Status.SCHEDULED, start_at=timezone.now() + timedelta(days=3)
    )
    report = stop.campaign_stop(campaign_id=campaign.pk, user=None)
    assert report.cancelled_locally
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert sandbox.state.requests == []
    assert sweep.engine_sweep(enqueue=False).dispatched == []


def test_the_sweep_dispatches_due_campaigns_only(engine_settings):
    ready = ready_campaign()
    later = ready_campaign(
        status=Campaign.Status.SCHEDULED, start_at=timezone.now() + timedelta(hours=1)
    )
    due = ready_campaign(
        status=Campaign.Status.SCHEDULED, start_at=timezone.now() - timedelta(seconds=1)
    )
    report = sweep.engine_sweep(enqueue=False)
    assert sorted(report.dispatched) == sorted([ready.pk, due.pk])
    assert later.pk not in report.dispatched


def _forget_broker_connections() -> None:
    """Make Celery connect anew to whatever broker_url now says."""
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_redis_down_at_send_saves_the_campaign_and_it_goes_out_later(
    engine_settings, sandbox, user, django_capture_on_commit_callbacks
):
    campaign = ready_campaign(status=Campaign.Status.DRAFT)
    saved = {k: celery_app.conf[k] for k in ("broker_url", "task_publish_retry")}
    try:
        # Nothing listens on port 9: publishing to this broker fails.
        celery_app.conf.update(broker_url="redis://127.0.0.1:9/0", task_publish_retry=False)
        _forget_broker_connections()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.campaign_request_send(
                campaign_id=campaign.pk, user=user, when=None, require_fresh_plan=False
            )
        assert len(callbacks) == 1
    finally:
        celery_app.conf.update(saved)
        _forget_broker_connections()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.READY
    # Redis is back: the sweep finds it in the database and it is sent, once.
    report = sweep.engine_sweep(enqueue=False)
    assert report.dispatched == [campaign.pk]
    for part_id in dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids:
        submit.part_submit(part_id=part_id)
    assert dispatch.campaign_dispatch(campaign_id=campaign.pk) is None
    assert len(sandbox.state.campaigns) == 1
