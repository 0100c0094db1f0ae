"""A real Celery worker killed with SIGKILL in the middle of a submit loses nothing and sends
nothing twice: the sweep finds the part left `submitting`, and a restarted worker settles it
from BSG's records instead of posting it again."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns import tasks
from campaigns.engine import dispatch, sweep
from campaigns.models import CampaignPart
from sandbox.faults import Faults
from tests.conftest import SANDBOX_API_KEY
from tests.engine.conftest import ready_campaign

ROOT = Path(__file__).resolve().parents[2]
State = CampaignPart.State
SEND_PATH = "/api/campaigns/sms/send"


def start_worker(queue: str, sandbox_url: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # The worker must see the test database this test writes to.
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "BSG_API_URL": sandbox_url,
        "BSG_API_KEY": SANDBOX_API_KEY,
        # Long enough that the worker is still waiting for BSG's answer when it is killed.
        "BSG_READ_TIMEOUT": "30",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_submit_neither_loses_nor_doubles_the_part(engine_settings, sandbox):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can share: PostgreSQL")
    campaign = ready_campaign(name="Killed mid-submit")
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    part = CampaignPart.objects.get(campaign=campaign)
    # BSG accepts the campaign and then never answers: the worker sits inside the POST.
    sandbox.set_faults(Faults(hang=1.0, hang_timeout=60, path_prefix=SEND_PATH))
    # A queue of this test's own, so no task left in the broker by another test interferes.
    queue = f"kill-{uuid.uuid4().hex[:8]}"

    worker = start_worker(queue, sandbox.url)
    try:
        tasks.part_submit.apply_async(args=[part.pk], queue=queue)
        wait_for(lambda: len(sandbox.state.campaigns) == 1, seconds=60, what="BSG to accept")
        part.refresh_from_db()
        assert part.state == State.SUBMITTING
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    sandbox.set_faults(Faults())

    # Beat's sweep, once the part has been `submitting` too long for a live worker.
    later = timezone.now() + timedelta(seconds=settings.ENGINE_STUCK_SUBMITTING + 1)
    report = sweep.engine_sweep(now=later, enqueue=False)
    assert report.stuck == [part.pk]
    part.refresh_from_db()
    assert part.state == State.UNCONFIRMED

    restarted = start_worker(queue, sandbox.url)
    try:
        tasks.part_reconcile.apply_async(args=[part.pk], queue=queue)
        wait_for(
            lambda: CampaignPart.objects.get(pk=part.pk).state == State.SUBMITTED,
            seconds=60,
            what="the restarted worker to settle the part",
        )
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)

    part.refresh_from_db()
    [created] = sandbox.state.campaigns
    assert part.bsg_campaign_id == created["id"]
    # Sent exactly once: the reconcile looked BSG's records up instead of posting again.
    assert len(sandbox.state.find_requests(path_prefix=SEND_PATH, method="POST")) == 1
