"""Dispatch at scale: a campaign to N contacts dispatched and submitted by a real Celery worker
with two processes (default 1,000,000 contacts; `--contacts 10000000` for issue 16's ten million).

Starts the BSG sandbox server in its own process (no faults), a private redis-server on a free
port, a dedicated PostgreSQL database (`<DATABASE_URL's name>_dispatch`, recreated) and one
Celery worker with the prefork pool and `--concurrency 2`, as production runs it. This process
seeds N contacts into one list by SQL (bench/_seed.py; 1% of them on the do-not-contact list,
personalised text as bench/send_plan.py), creates a campaign ready to send and asks for its
dispatch the way the app does (campaigns.engine.enqueue). From then on the worker does
everything: the `campaign_dispatch` task cuts the audience into slices of 10,000 and queues a
`dispatch_slice_write` task for each but the first; both processes write slices (the
dispatching one claims them in its own loop too), the one that writes the last checks the
ledger and queues a `part_submit` task for each part, which both processes take from the queue.

It samples, every --sample seconds, each worker process's RSS and CPU time from /proc, and
reports:
- the wall time from the request to the ledger resolved (the dispatch) and to every part
  submitted to the sandbox;
- each pool process's CPU seconds and the parts it submitted (from the worker's log), so it
  shows whether the two processes shared the work;
- each process's peak RSS and its growth after warm-up, in each phase (dispatch, then submit):
  flat means no process grew more than max(--tolerance-mib, 5 %) after the dispatch had made
  the first --warm-up fraction of the parts (at least three: 20,000 rows into the ledger), or
  after the first --warm-up fraction of the parts was submitted;
- the sandbox's own count (GET /_sandbox/messages): as many messages as distinct phones as
  distinct reference ids as recipients in the ledger, so no recipient was submitted twice.

Fails (exit 1) when a part ends other than submitted, the dispatch fails, a recipient was
submitted twice or missed, memory is not flat, any process peaks at --limit-rss-mib or more,
or the whole takes --limit-seconds or more (default 300 s, issue 16's five minutes for ten
million, scaled up above that).

    .venv/bin/python bench/engine_dispatch_workers.py [--contacts 1000000] [--concurrency 2]
        [--reuse-contacts]

`--reuse-contacts` keeps the database when it already holds that many seeded contacts and
empties only its campaign tables, so three runs at ten million seed once.

The dispatching task (campaigns.tasks.campaign_dispatch, which writes slices until none is
left to claim) has a soft time limit of
ENGINE_DISPATCH_TIME_LIMIT (1800 s); a dispatch that takes longer fails ("Dispatch failed:
SoftTimeLimitExceeded") and so does this benchmark. `--dispatch-time-limit 900` changes it for
this run only (the limits travel in the task message, which this process sends), e.g. to see a
limit fail.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:  # run as `python bench/engine_dispatch_workers.py`
        sys.path.insert(0, str(path))

import requests  # noqa: E402
from _stack import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    Stack,
    StackError,
    children_of,
    database_url_for,
    exit_on_sigterm,
    require_postgres,
    rss_mib,
    wait_until,
)

LIMIT_SECONDS = 300.0  # issue 16: ten million dispatched and submitted in five minutes
TEN_MILLION = 10_000_000
LIMIT_RSS_MIB = 400.0  # bench/engine_submit.py's bound for one process, at any size
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Celery's log line for a finished task names the pool process that ran it.
SUCCEEDED = re.compile(
    r"/(?P<process>ForkPoolWorker-\d+)\] Task campaigns\.tasks\.part_submit\[[^\]]+\] succeeded"
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


@dataclass
class Trace:
    """RSS samples of each worker process: pid -> [(seconds since the request, MiB)]."""

    rss: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)

    def sample(self, pids: list[int], at: float) -> None:
        for pid in pids:
            value = rss_mib(pid)
            if value:
                self.rss.setdefault(pid, []).append((at, value))
                self.cpu[pid] = cpu_seconds(pid)

    def growth(self, pid: int, start: float, warm: float, end: float) -> tuple[float, float]:
        """(RSS when the warm-up of [start, end] ended, growth after it) of one process."""
        inside = [(at, value) for at, value in self.rss.get(pid, []) if start <= at <= end]
        if not inside:
            return 0.0, 0.0
        warmed = [value for at, value in inside if at <= warm] or [inside[0][1]]
        after = [value for at, value in inside if at >= warm] or [warmed[-1]]
        return warmed[-1], max(after) - warmed[-1]

    def peak(self, pid: int) -> float:
        return max((value for _at, value in self.rss.get(pid, [])), default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument("--sample", type=float, default=0.5, help="seconds between samples")
    parser.add_argument(
        "--warm-up", type=float, default=0.1, help="fraction of each phase before growth counts"
    )
    parser.add_argument(
        "--tolerance-mib", type=float, default=8.0, help="growth allowed after warm-up, MiB"
    )
    parser.add_argument("--limit-seconds", type=float, default=None)
    parser.add_argument("--limit-rss-mib", type=float, default=LIMIT_RSS_MIB)
    parser.add_argument(
        "--dispatch-time-limit",
        type=float,
        default=None,
        help="soft time limit of the dispatch task for this run, seconds (default: the task's "
        "own, ENGINE_DISPATCH_TIME_LIMIT)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after, seconds")
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL + _dispatch")
    parser.add_argument(
        "--reuse-contacts",
        action="store_true",
        help="keep the database's contacts when it holds --contacts of them from an earlier run "
        "(every campaign table is emptied): ten million are seeded once, not once a run",
    )
    args = parser.parse_args(argv)
    exit_on_sigterm()
    if args.contacts < 1 or args.concurrency < 1:
        parser.error("--contacts and --concurrency must be at least 1")
    if args.limit_seconds is None:
        args.limit_seconds = LIMIT_SECONDS * max(1.0, args.contacts / TEN_MILLION)
    try:
        database_url = (
            require_postgres(args.database_url)
            if args.database_url
            else database_url_for(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), "dispatch")
        )
    except StackError as problem:
        parser.error(str(problem))

    stack = Stack(database_url=database_url)
    try:
        return _measure(stack, args)
    except StackError as problem:
        print(f"dispatch with workers: could not run: {problem} (logs in {stack.logs})")
        return 1
    finally:
        stack.close()


def _campaigns_emptied() -> None:
    """Every campaign, ledger, part and slice of an earlier run gone (TRUNCATE: deleting a
    ten-million-row ledger would take minutes), the contacts kept."""
    from django.db import connection

    with connection.cursor() as cursor:
        tables = [
            name
            for name in connection.introspection.table_names(cursor)
            if name.startswith("campaigns_")
        ]
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def _measure(stack: Stack, args: argparse.Namespace) -> int:
    from bench.send_plan import TEXT, seeded_stack

    list_id, reused, seeded = seeded_stack(stack, contacts=args.contacts, reuse=args.reuse_contacts)
    if reused:
        _campaigns_emptied()

    from campaigns.engine.enqueue import campaign_enqueue_dispatch
    from campaigns.models import Campaign, CampaignPart, Recipient

    print(f"dispatch with workers: {args.contacts:,} contacts seeded in {seeded:.1f} s", flush=True)
    campaign = Campaign.objects.create(
        name="bench dispatch with workers",
        text=TEXT,
        sender="BenchShop",
        sms_mode="individual",
        status=Campaign.Status.READY,
    )
    campaign.lists.set([list_id])

    worker = stack.start_worker(pool="prefork", concurrency=args.concurrency)
    log = stack.logs / "worker.log"
    wait_until(lambda: "ready." in log.read_text(), seconds=120, what="the worker to be ready")
    if args.dispatch_time_limit is not None:
        _dispatch_time_limit(args.dispatch_time_limit)
    pool = children_of(worker.pid)
    if len(pool) != args.concurrency:
        raise StackError(f"the worker has {len(pool)} pool processes, not {args.concurrency}")
    trace = Trace()
    trace.sample([worker.pid, *pool], 0.0)
    idle = {pid: rss_mib(pid) for pid in pool}
    cpu_before = {pid: cpu_seconds(pid) for pid in pool}
    print(
        f"  worker pid {worker.pid}, pool processes {pool} (RSS idle "
        + ", ".join(f"{idle[pid]:.1f}" for pid in pool)
        + " MiB)",
        flush=True,
    )

    parts = CampaignPart.objects.filter(campaign_id=campaign.pk)
    # Submitted, or still on the way there (an unclear answer is settled, not sent again).
    on_their_way = [
        CampaignPart.State.SUBMITTED,
        CampaignPart.State.PENDING,
        CampaignPart.State.SUBMITTING,
        CampaignPart.State.UNCONFIRMED,
    ]
    started = time.perf_counter()
    campaign_enqueue_dispatch(campaign_id=campaign.pk)
    resolved_at: float | None = None
    # The dispatch's progress: parts are made as the ledger reaches them (one per 10,000 rows).
    parts_made: list[tuple[float, int]] = []
    submitted_at: list[float] = []  # when the count of submitted parts first reached 1, 2, …
    total_parts = 0
    while True:
        time.sleep(args.sample)
        now = time.perf_counter() - started
        if worker.poll() is not None:
            raise StackError(f"the worker exited (see {log})")
        pids = [worker.pid, *children_of(worker.pid)]
        trace.sample(pids, now)
        state = Campaign.objects.values("ledger_resolved_at", "dispatch_error").get(pk=campaign.pk)
        if state["dispatch_error"]:
            raise StackError(f"the dispatch failed after {now:.0f} s: {state['dispatch_error']}")
        if resolved_at is None:
            parts_made.append((now, parts.count()))
        if resolved_at is None and state["ledger_resolved_at"] is not None:
            resolved_at = now
            total_parts = parts.count()
            print(f"  ledger resolved at {now:.1f} s: {total_parts} parts", flush=True)
        if resolved_at is not None:
            done = parts.filter(state=CampaignPart.State.SUBMITTED).count()
            submitted_at += [now] * (done - len(submitted_at))
            unsettled = parts.exclude(state__in=on_their_way).values_list("pk", "state", "error")
            unsettled = list(unsettled[:3])
            if unsettled:
                raise StackError(f"parts that will not be submitted: {unsettled}")
            if done == total_parts:
                break
        if now > args.timeout:
            raise StackError(f"not every part was submitted after {args.timeout:.0f} s")
    total = time.perf_counter() - started
    pool = sorted(pid for pid in trace.rss if pid != worker.pid)

    recipients = Recipient.objects.filter(campaign_id=campaign.pk).count()
    answer = requests.get(f"{stack.sandbox_url}/_sandbox/messages", timeout=600)
    answer.raise_for_status()
    at_bsg = answer.json()["data"]
    bsg_ids = parts.exclude(bsg_campaign_id=None).values("bsg_campaign_id").distinct().count()

    by_process: dict[str, int] = {}
    for match in SUCCEEDED.finditer(log.read_text()):
        by_process[match["process"]] = by_process.get(match["process"], 0) + 1

    tolerance = max(args.tolerance_mib, 0.05 * max(idle.values()))
    # Warmed up once the ledger is past its first batches (a third part is made after 20,000
    # rows; the ledger is written 5,000 at a time) and past the --warm-up fraction of the parts.
    warm_parts = max(3, int(total_parts * args.warm_up))
    warm_dispatch = next((at for at, made in parts_made if made >= warm_parts), resolved_at)
    warm_submit = submitted_at[max(1, int(len(submitted_at) * args.warm_up)) - 1]
    # The dispatch phase ends at the last sample before the ledger was seen resolved: the first
    # parts may already have been taken after it, and their memory is the submit phase's.
    dispatch_end = resolved_at - args.sample / 2
    lines = []
    growths = []
    for pid in pool:
        at_dispatch, grew_dispatch = trace.growth(
            pid, 0.0, min(warm_dispatch, dispatch_end), dispatch_end
        )
        at_submit, grew_submit = trace.growth(pid, resolved_at, warm_submit, total)
        growths += [grew_dispatch, grew_submit]
        lines.append(
            f"  pool process {pid}: CPU {trace.cpu.get(pid, 0.0) - cpu_before.get(pid, 0.0):.1f} "
            f"s, RSS idle {idle.get(pid, 0.0):.1f}, peak {trace.peak(pid):.1f} MiB; dispatch "
            f"phase {at_dispatch:.1f} MiB after warm-up, then {grew_dispatch:+.1f}; submit phase "
            f"{at_submit:.1f} MiB after warm-up, then {grew_submit:+.1f}"
        )
    figures = {
        "contacts": args.contacts,
        "recipients": recipients,
        "parts": total_parts,
        "concurrency": args.concurrency,
        "seed_seconds": round(seeded, 1),
        "dispatch_seconds": round(resolved_at, 1),
        "submit_seconds": round(total - resolved_at, 1),
        "total_seconds": round(total, 1),
        "peak_rss_mib": round(max(trace.peak(pid) for pid in pool), 1),
        "rss_growth_after_warm_up_mib": round(max(growths), 1),
        "parts_by_process": by_process,
        "sandbox": at_bsg,
        "bsg_campaigns_linked": bsg_ids,
    }
    print(f"  {recipients:,} recipients in {total_parts} parts; logs in {stack.logs}")
    print("\n".join(lines))
    failed = []
    if not at_bsg["messages"] == at_bsg["phones"] == at_bsg["reference_ids"] == recipients:
        failed.append(f"the sandbox holds {at_bsg} for {recipients} recipients")
    if not at_bsg["campaigns"] == bsg_ids == total_parts:
        failed.append(f"{at_bsg['campaigns']} BSG campaigns, {bsg_ids} linked, {total_parts} parts")
    if max(growths) > tolerance:
        failed.append(f"a process grew {max(growths):.1f} MiB after warm-up (> {tolerance:.1f})")
    if figures["peak_rss_mib"] >= args.limit_rss_mib:
        failed.append(f"peak RSS {figures['peak_rss_mib']} MiB >= {args.limit_rss_mib} MiB")
    if total >= args.limit_seconds:
        failed.append(f"{total:.1f} s >= {args.limit_seconds:.0f} s")
    print(json.dumps(figures, indent=1))
    print(f"  result: {'FAILED: ' + '; '.join(failed) if failed else 'OK'}", flush=True)
    return 1 if failed else 0


def _dispatch_time_limit(soft: float) -> None:
    """The dispatch task's time limits for this run only. They travel in each task message's
    headers, set by the process that sends it (this one: campaign_enqueue_dispatch), and the
    worker obeys the message's, so the code's own stay as they are."""
    from campaigns import tasks

    tasks.campaign_dispatch.soft_time_limit = soft
    tasks.campaign_dispatch.time_limit = soft + 60
    print(f"  the dispatch task's soft time limit is {soft:.0f} s for this run", flush=True)


if __name__ == "__main__":
    sys.exit(main())
