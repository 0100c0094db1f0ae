"""Worker memory: does a real Celery worker grow while it submits and polls 1,000 campaigns?

Starts the BSG sandbox server (no faults), a private redis-server on a free port, a dedicated
PostgreSQL database (`<DATABASE_URL's name>_wmem`, recreated) and one Celery worker process
with the solo pool, so that the process measured is the one that runs every task. This process
creates the campaigns in batches through the composer's services (campaign_save,
send_plan_request, campaign_request_send: the worker dispatches and submits them) and sends the
periodic tasks as beat would (engine_poll, engine_sweep) until every campaign of the batch has
finished at BSG and been polled to the end. After each batch it reads the worker's RSS from
/proc.

It reports the RSS at the start (worker idle), after each batch, the peak and the slope after
warm-up (least squares, MiB per 100 campaigns), and fails (exit 1) when, after the warm-up
batches, memory grew by more than the tolerance: max(--tolerance-mib, 5 % of the RSS after
warm-up).

    .venv/bin/python bench/worker_memory.py [--campaigns 1000] [--batch 100] [--recipients 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:  # run as `python bench/worker_memory.py`
        sys.path.insert(0, str(path))

from _stack import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    Stack,
    StackError,
    database_url_for,
    exit_on_sigterm,
    require_postgres,
    rss_mib,
)

BATCH_TIMEOUT = 300.0  # seconds for one batch to finish at BSG before the run fails


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000, help="campaigns in all")
    parser.add_argument("--batch", type=int, default=100, help="campaigns between two samples")
    parser.add_argument("--recipients", type=int, default=5, help="numbers per campaign")
    parser.add_argument(
        "--warm-up", type=int, default=2, help="batches before the growth is measured"
    )
    parser.add_argument(
        "--tolerance-mib", type=float, default=8.0, help="growth allowed after warm-up, MiB"
    )
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL + _wmem")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    if args.campaigns < 1 or args.batch < 1 or args.recipients < 1:
        parser.error("--campaigns, --batch and --recipients must be at least 1")
    if args.campaigns // args.batch <= args.warm_up:
        parser.error("need more batches than --warm-up ones (raise --campaigns or lower --batch)")
    try:
        database_url = (
            require_postgres(args.database_url)
            if args.database_url
            else database_url_for(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), "wmem")
        )
    except StackError as problem:
        parser.error(str(problem))

    stack = Stack(database_url=database_url)
    try:
        return _measure(stack, args)
    except StackError as problem:
        print(f"worker memory: could not run: {problem} (logs in {stack.logs})")
        return 1
    finally:
        stack.close()


def _measure(stack: Stack, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    stack.start_sandbox(speed=50, seed=3)
    stack.start_redis()
    # Info-level logging of each BSG call would be most of what the worker does; WARNING is
    # what production runs with.
    os.environ.update(stack.environment(LOG_LEVEL="WARNING"))
    stack.migrate()

    import django

    django.setup()
    import redis
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("memory", password=os.urandom(16).hex())
    broker = redis.Redis(host="127.0.0.1", port=stack.redis_port)
    worker = stack.start_worker(pool="solo", concurrency=1)
    _wait_ready(stack)
    samples = [rss_mib(worker.pid)]
    print(
        f"worker memory: {args.campaigns} campaigns x {args.recipients} numbers, samples every "
        f"{args.batch}; worker pid {worker.pid} (solo pool), idle RSS {samples[0]:.1f} MiB",
        flush=True,
    )
    made = 0
    while made + args.batch <= args.campaigns:
        batch_started = time.perf_counter()
        ids = [_create(made + i, args.recipients, user) for i in range(args.batch)]
        made += args.batch
        _until_finished(ids, broker, stack)
        samples.append(rss_mib(worker.pid))
        print(
            f"  after {made:5d} campaigns: RSS {samples[-1]:6.1f} MiB "
            f"(batch in {time.perf_counter() - batch_started:.1f} s)",
            flush=True,
        )
    broker.close()

    measured = samples[args.warm_up :]  # samples[0] is idle, then one per batch
    xs = [(args.warm_up + i) * args.batch for i in range(len(measured))]
    slope = statistics.linear_regression(xs, measured).slope * 100 if len(measured) > 1 else 0.0
    growth = measured[-1] - measured[0]
    tolerance = max(args.tolerance_mib, measured[0] * 0.05)
    print(
        f"  RSS: idle {samples[0]:.1f} MiB, after warm-up ({args.warm_up * args.batch} "
        f"campaigns) {measured[0]:.1f} MiB, end {samples[-1]:.1f} MiB, peak {max(samples):.1f} "
        f"MiB; growth after warm-up {growth:+.1f} MiB (tolerance {tolerance:.1f}), slope "
        f"{slope:+.2f} MiB per 100 campaigns"
    )
    print(f"  {made} campaigns in {time.perf_counter() - started:.0f} s; logs {stack.logs}")
    # For bench/run.py, which reports min/median/max of these over its runs.
    print(f"figure: worker RSS idle = {samples[0]:.1f} MiB")
    print(f"figure: worker RSS after warm-up = {measured[0]:.1f} MiB")
    print(f"figure: worker RSS at the end = {samples[-1]:.1f} MiB")
    print(f"figure: worker RSS peak = {max(samples):.1f} MiB")
    print(f"figure: worker RSS growth after warm-up = {growth:.1f} MiB")
    print(f"figure: worker RSS slope = {slope:.2f} MiB per 100 campaigns")
    failed = growth > tolerance
    print(f"  result: {'FAILED: the worker keeps growing' if failed else 'OK'}", flush=True)
    return 1 if failed else 0


def _wait_ready(stack: Stack) -> None:
    from _stack import wait_until

    log = stack.logs / "worker.log"
    wait_until(lambda: "ready." in log.read_text(), seconds=120, what="the worker to be ready")


def _create(index: int, recipients: int, user: object) -> int:
    """One campaign as the composer makes it: save the draft, plan, ask to send now."""
    from campaigns import services
    from campaigns.models import Campaign

    campaign = Campaign(
        name=f"Memory {index}",
        channel=Campaign.Channel.SMS,
        sms_mode=Campaign.SmsMode.NUMBERS,
        text=f"Memory {index}: 20% off today",
        sender="Memory",
        pasted_numbers="\n".join(f"+38050{index * recipients + i:07d}" for i in range(recipients)),
    )
    saved = services.campaign_save(campaign=campaign, list_ids=[], user=user)
    services.send_plan_request(campaign_id=saved.pk, user=user)
    services.campaign_request_send(campaign_id=saved.pk, user=user, when=None)
    return saved.pk


def _until_finished(ids: list[int], broker, stack: Stack) -> None:
    """Beat's part, played here: poll and sweep while the queue is short, until every
    campaign of the batch has finished."""
    from campaigns import tasks
    from campaigns.models import Campaign

    deadline = time.monotonic() + BATCH_TIMEOUT
    while Campaign.objects.filter(pk__in=ids).exclude(status=Campaign.Status.FINISHED).exists():
        if stack.worker is None or stack.worker.poll() is not None:
            raise StackError(f"the worker exited (see {stack.logs / 'worker.log'})")
        if time.monotonic() > deadline:
            left = Campaign.objects.filter(pk__in=ids).exclude(status=Campaign.Status.FINISHED)
            raise StackError(f"{left.count()} campaigns did not finish in {BATCH_TIMEOUT:.0f} s")
        if broker.llen("engine") < 5:
            tasks.engine_poll.delay()
            tasks.engine_sweep.delay()
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
