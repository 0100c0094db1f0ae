"""System soak: the whole engine, as separate processes, against a misbehaving BSG for N minutes.

On loopback only it starts the BSG sandbox server injecting every fault it knows (5xx, 429,
slow answers, answers that never come, dropped connections), a private redis-server on a free
port, a dedicated PostgreSQL database, a real Celery worker (prefork, two children) and Celery
beat with the engine's schedule (sweep, poll, discovery). This process then plays the users:
it creates campaigns through the services the composer calls (campaign_save, send_plan_request,
campaign_request_send; now or a few seconds ahead), stops some at random moments through the
service the Stop button calls, restarts the worker at random moments (SIGKILL of the whole
process group, or SIGTERM's warm shutdown) and kills and restarts Redis once, half-way (no
persistence: every queued task is lost, the sweep must find the work in the database).

After the run the faults are switched off and the worker and beat get a bounded drain. Then it
checks, and exits 1 on any violation:

- every campaign is in a definite state: finished, stopped or cancelled with every part settled
  (done/stopped at BSG and polled, refused, cancelled), or a part stating that it needs a person
  (counted and listed);
- zero duplicate submissions: no part's reference ids processed by BSG twice, and no POST of a
  part after one of its POSTs had been processed (the sandbox's own request log, read as it
  grows);
- zero lost campaigns: every campaign asked to send reached BSG (each BSG campaign linked to
  exactly one part, with exactly that part's reference ids) or carries a reason; no BSG
  campaign of ours unknown to the dashboard;
- the dashboard's figures (selectors.campaign_totals: recipients, sent, delivered, price, and each
  part's BSG status) equal the sandbox's own.

    .venv/bin/python bench/soak_system.py [--minutes 30] [--seed 1] [--create-every 1.5]

Why this script is long: a soak is one file run as a script, read top to bottom as its parts
(the stack it starts, the users' side, the checks); split, they would be modules nothing else
imports.
"""

from __future__ import annotations

import argparse
import collections
import heapq
import logging
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:  # run as `python bench/soak_system.py`
        sys.path.insert(0, str(path))

from _stack import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    Stack,
    StackError,
    database_url_for,
    exit_on_sigterm,
    require_postgres,
)

# Every fault at once, each a few percent of the /api/ requests (logins are spared by the
# sandbox). A slow answer (2 s) outlasts the client's read timeout (1.5 s): the request lands
# after the client gave up, which is what the reconcile grace below must cover.
FAULTS = {
    "error_5xx": 0.05,
    "error_429": 0.04,
    "slow": 0.05,
    "hang": 0.03,
    "drop": 0.02,
    "slow_delay": 2.0,
    "hang_timeout": 5.0,
    "retry_after": 1,
}
# The engine's timings, shortened so that a few minutes see many cycles. The reconcile grace is
# longer than the slowest answer that can still land (slow_delay) plus a margin; a part is
# "stuck submitting" only well after connect + read timeouts.
ENGINE_SETTINGS = {
    "BSG_CONNECT_TIMEOUT": "1.0",
    "BSG_READ_TIMEOUT": "1.5",
    "BSG_POLL_INTERVAL": "2",
    "ENGINE_SWEEP_INTERVAL": "3",
    "ENGINE_DISCOVER_INTERVAL": "20",
    "ENGINE_RECONCILE_GRACE": "6",
    "ENGINE_STUCK_SUBMITTING": "10",
    # A worker killed while it resolved a ledger leaves the campaign to the sweep after this.
    "ENGINE_STUCK_DISPATCH": "30",
    "ENGINE_BACKOFF_BASE": "0.5",
    "ENGINE_BACKOFF_MAX": "4",
    "ENGINE_SUBMIT_MAX_ATTEMPTS": "8",
    "ENGINE_RECONCILE_MAX_TRIES": "12",
    "LOG_LEVEL": "INFO",
}
SEND_PATHS = frozenset(
    {
        "/api/campaigns/sms/send",
        "/api/campaigns/sms/send-individual",
        "/api/campaigns/rcs/send",
    }
)
# How long a request may stay unanswered in the sandbox's log before we stop re-reading it.
UNSETTLED_SECONDS = 30.0
SMALL_LIST = 40
BIG_LIST = 10_050  # two parts of an SMS campaign (10,000 a part)


def first_reference(body: object) -> str | None:
    """The first reference id of a send body (phones[] or messages[]): names the part."""
    if not isinstance(body, dict):
        return None
    for key in ("phones", "messages"):
        items = body.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return items[0].get("reference_id")
    return None


class SendLog:
    """The sandbox's record of every send POST, read as it grows (it keeps the last 10,000
    requests of any kind). Entries still unanswered are read again until they settle: a slow
    answer is processed seconds after it is logged."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.last_id = 0
        self.sends: dict[int, dict] = {}
        self.requests_seen = 0
        self.lost = 0
        self.statuses: collections.Counter[str] = collections.Counter()

    def _unsettled_from(self) -> int:
        now = time.time()
        waiting = [
            entry["id"]
            for entry in self.sends.values()
            if entry["status"] is None
            and entry["processed_status"] is None
            and entry.get("fault") != "drop"
            and now - entry["timestamp"] < UNSETTLED_SECONDS
        ]
        return min(waiting) - 1 if waiting else self.last_id

    def poll(self) -> None:
        since = self._unsettled_from()
        answer = self.session.get(
            f"{self.url}/_sandbox/requests", params={"since": since}, timeout=60
        )
        answer.raise_for_status()
        entries = answer.json()["data"]
        if entries and entries[0]["id"] > since + 1:
            self.lost += entries[0]["id"] - since - 1
        for entry in entries:
            if entry["id"] > self.last_id:
                self.requests_seen += 1
                self.last_id = entry["id"]
            if entry["method"] == "POST" and entry["path"] in SEND_PATHS:
                self.sends[entry["id"]] = entry

    def close(self) -> None:
        self.session.close()

    def duplicates(self) -> tuple[list[str], collections.Counter[str]]:
        """(problems, figures). A part is named by its first reference id."""
        problems: list[str] = []
        figures: collections.Counter[str] = collections.Counter()
        processed_ok: collections.Counter[str] = collections.Counter()
        first_ok: dict[str, int] = {}
        for entry in sorted(self.sends.values(), key=lambda e: e["id"]):
            key = first_reference(entry["json"])
            figures["send POSTs"] += 1
            if key is None:
                problems.append(f"send POST {entry['id']} carries no reference id")
                continue
            if entry["fault"]:
                figures[f"send POSTs met by fault {entry['fault']}"] += 1
            processed = entry["processed_status"]
            if key in first_ok:
                problems.append(
                    f"part {key} POSTed again (request {entry['id']}, answered "
                    f"{entry['status']}) after request {first_ok[key]} had been processed"
                )
            if processed is not None and 200 <= processed < 300:
                processed_ok[key] += 1
                first_ok.setdefault(key, entry["id"])
        figures["parts processed by BSG"] = len(processed_ok)
        figures["parts POSTed more than once (retries of unprocessed POSTs)"] = sum(
            1
            for key, count in collections.Counter(
                first_reference(e["json"]) for e in self.sends.values()
            ).items()
            if count > 1 and key is not None
        )
        twice = {key: n for key, n in processed_ok.items() if n > 1}
        if twice:
            problems.append(f"parts processed by BSG more than once: {dict(list(twice.items()))}")
        return problems, figures


@dataclass
class Run:
    """What the users did and saw."""

    requested: dict[int, str] = field(default_factory=dict)  # campaign id -> "now"/"scheduled"
    refused: dict[int, str] = field(default_factory=dict)  # campaign id -> the reason shown
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    stops: collections.Counter[str] = field(default_factory=collections.Counter)
    stop_refusals: list[str] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)
    died: list[str] = field(default_factory=list)  # processes that exited by themselves
    redis_restarts: int = 0
    worker_rss: list[float] = field(default_factory=list)
    # What the checks found, for the summary.
    send_figures: collections.Counter[str] = field(default_factory=collections.Counter)
    campaign_states: collections.Counter[str] = field(default_factory=collections.Counter)
    part_states: collections.Counter[str] = field(default_factory=collections.Counter)
    stated: list[str] = field(default_factory=list)
    bsg_campaigns: int = 0
    compared: int = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to soak")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--create-every", type=float, default=1.5, help="mean seconds between two campaigns"
    )
    parser.add_argument(
        "--restart-every", type=float, default=40.0, help="mean seconds between worker restarts"
    )
    parser.add_argument("--stop-share", type=float, default=0.15, help="share of campaigns stopped")
    parser.add_argument("--drain-seconds", type=float, default=300.0, help="bound of the drain")
    parser.add_argument("--speed", type=float, default=1.0, help="the sandbox's campaign pace")
    parser.add_argument(
        "--database-url",
        default=None,
        help="the dedicated database (default: DATABASE_URL's name + _soak, recreated)",
    )
    args = parser.parse_args(argv)
    exit_on_sigterm()
    if args.minutes <= 0 or args.create_every <= 0 or args.restart_every <= 0:
        parser.error("--minutes, --create-every and --restart-every must be positive")
    if not 0 <= args.stop_share <= 1:
        parser.error("--stop-share is a share between 0 and 1")
    try:
        database_url = (
            require_postgres(args.database_url)
            if args.database_url
            else database_url_for(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), "soak")
        )
    except StackError as problem:
        parser.error(str(problem))

    stack = Stack(database_url=database_url)
    started = time.monotonic()
    try:
        return _soak(stack, args, started)
    except StackError as problem:
        print(f"system soak: could not run: {problem} (logs in {stack.logs})")
        return 1
    finally:
        stack.close()


def _soak(stack: Stack, args: argparse.Namespace, started: float) -> int:
    rng = random.Random(args.seed)
    stack.start_sandbox(speed=args.speed, seed=args.seed)
    stack.start_redis()
    os.environ.update(stack.environment(**ENGINE_SETTINGS))
    stack.migrate()

    import django

    django.setup()
    # The users' side logs a warning for each injected fault and each task it could not queue
    # while Redis was down: thousands of lines that hide the figures. The worker's log is kept.
    logging.disable(logging.ERROR)
    setup = _setup_data()
    stack.start_beat()
    stack.start_worker()
    faults = {**FAULTS, "seed": args.seed}
    stack.set_faults(faults)
    send_log = SendLog(stack.sandbox_url)
    run = Run()

    total = args.minutes * 60
    deadline = time.monotonic() + total
    redis_down_at = time.monotonic() + total * rng.uniform(0.4, 0.6)
    redis_up_at: float | None = None
    next_create = time.monotonic()
    # The first restart early enough that even a short run has one; then at random moments.
    next_restart = time.monotonic() + min(rng.expovariate(1 / args.restart_every), total / 3)
    # SIGKILL and SIGTERM in turn (which comes first is drawn), so both are exercised.
    kinds = rng.sample([signal.SIGKILL, signal.SIGTERM], 2)
    next_read = next_report = time.monotonic()
    stops: list[tuple[float, int]] = []
    index = 0
    print(
        f"system soak: {args.minutes:g} min, sandbox {stack.sandbox_url} (speed {args.speed:g}), "
        f"redis port {stack.redis_port}, database {stack.database_url.rsplit('/', 1)[-1]}, "
        f"logs {stack.logs}",
        flush=True,
    )
    while (now := time.monotonic()) < deadline:
        if now >= next_create:
            index += 1
            campaign_id = _create(rng, index, setup, run)
            if campaign_id is not None and rng.random() < args.stop_share:
                heapq.heappush(stops, (now + rng.uniform(0, 12), campaign_id))
            next_create = now + rng.expovariate(1 / args.create_every)
        while stops and stops[0][0] <= now:
            _stop(heapq.heappop(stops)[1], setup, run)
        if stack.worker is not None and stack.worker.poll() is not None:
            # Died by itself (kombu 5.7 did when Redis went away under a running task, before
            # config/broker.py): restarted as systemd's Restart=always would, and counted.
            run.died.append(f"worker exited with {stack.worker.returncode}")
            time.sleep(1)
            stack.start_worker()
        if stack.beat is not None and stack.beat.poll() is not None:
            run.died.append(f"beat exited with {stack.beat.returncode}")
            stack.start_beat()
        if now >= next_restart:
            how = kinds[len(run.restarts) % 2]
            done = stack.stop_worker(how, grace=60)
            run.restarts.append(done)
            time.sleep(rng.uniform(0, 3))  # down for a moment, as a supervisor restarts it
            stack.start_worker()
            next_restart = time.monotonic() + rng.expovariate(1 / args.restart_every)
        if redis_down_at and now >= redis_down_at:
            stack.kill_redis()
            redis_down_at, redis_up_at = 0.0, now + rng.uniform(3, 8)
        if redis_up_at and now >= redis_up_at:
            stack.start_redis()
            run.redis_restarts += 1
            redis_up_at = None
        if now >= next_read:
            send_log.poll()
            next_read = now + 1.0
        if now >= next_report:
            _progress(started, run, send_log, stack)
            next_report = now + 30
        time.sleep(0.05)
    if redis_up_at:
        stack.start_redis()
        run.redis_restarts += 1
    # Stops still planned happen now: a user who clicks just as the run ends.
    for _, campaign_id in stops:
        _stop(campaign_id, setup, run)

    # The drain: no more faults, restarts or new campaigns; the worker and beat finish.
    stack.set_faults({})
    if stack.worker is None or stack.worker.poll() is not None:
        stack.start_worker()
    drained = _drain(args.drain_seconds, send_log)
    send_log.poll()
    drain_seconds = time.monotonic() - deadline
    run.worker_rss.append(_worker_rss(stack))
    problems = _check(stack, run, send_log, drained)
    send_log.close()
    _summary(started, drain_seconds, run, send_log, stack, problems, faults)
    return 1 if problems else 0


# --- the users' side ---------------------------------------------------------------------------


@dataclass
class Setup:
    author: object
    approver: object
    small_list: int
    big_list: int


def _setup_data() -> Setup:
    from django.contrib.auth import get_user_model

    from contacts.models import Contact, ContactList, ListMembership

    users = get_user_model().objects
    author = users.create_superuser("soak-author", password=os.urandom(16).hex())
    approver = users.create_superuser("soak-approver", password=os.urandom(16).hex())
    small = ContactList.objects.create(name="Soak small")
    big = ContactList.objects.create(name="Soak big")
    contacts = Contact.objects.bulk_create(
        Contact(phone=f"38067{i:07d}", name=f"Soak {i}") for i in range(BIG_LIST)
    )
    ListMembership.objects.bulk_create(
        [ListMembership(contact_list=big, contact=c) for c in contacts]
        + [ListMembership(contact_list=small, contact=c) for c in contacts[:SMALL_LIST]]
    )
    return Setup(author=author, approver=approver, small_list=small.pk, big_list=big.pk)


def _create(rng: random.Random, index: int, setup: Setup, run: Run) -> int | None:
    """One campaign as the composer makes it: save the draft, plan, ask to send; with
    four-eyes approval, another person approves it (or, now and then, sends it back)."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from campaigns import approval, checks, services
    from campaigns.models import Campaign

    roll = rng.random()
    campaign = Campaign(
        name=f"Soak {index}",
        channel=Campaign.Channel.SMS,
        text=f"Soak {index}: 20% off today",
        sender="Soak",
    )
    list_ids: list[int] = []
    if roll < 0.75:
        campaign.sms_mode = Campaign.SmsMode.NUMBERS
        count = rng.randint(1, 20)
        campaign.pasted_numbers = "\n".join(
            f"+38050{rng.randrange(10**7):07d}" for _ in range(count)
        )
    else:
        campaign.sms_mode = Campaign.SmsMode.INDIVIDUAL
        list_ids = [setup.big_list if roll > 0.97 else setup.small_list]
    when = timezone.now() + timedelta(seconds=rng.uniform(3, 20)) if rng.random() < 0.2 else None
    author, approver = setup.author, setup.approver
    try:
        saved = services.campaign_save(campaign=campaign, list_ids=list_ids, user=author)
        services.send_plan_request(campaign_id=saved.pk, user=author)
        submitted = approval.campaign_submit(campaign_id=saved.pk, user=author, when=when)
        if submitted.status == Campaign.Status.AWAITING_APPROVAL:
            if rng.random() < 0.05:
                reason = "Sent back by the soak's approver."
                approval.campaign_reject(campaign_id=saved.pk, user=approver, reason=reason)
                run.refused[saved.pk] = reason
                return None
            approval.campaign_approve(campaign_id=saved.pk, user=approver)
    except ValidationError as refusal:
        run.refused[campaign.pk] = checks.refusal_text(refusal) or "refused without a reason"
        return None
    except Exception as error:  # the page would show a server error
        run.errors[f"create: {type(error).__name__}: {str(error)[:80]}"] += 1
        asked = Campaign.objects.filter(pk=campaign.pk).exclude(status=Campaign.Status.DRAFT)
        if campaign.pk is None or not asked.exists():
            return None  # still a draft: nothing was asked
        run.requested[campaign.pk] = "now or scheduled, the page failed after the request"
        return campaign.pk
    run.requested[saved.pk] = "scheduled" if when else "now"
    return saved.pk


def _stop(campaign_id: int, setup: Setup, run: Run) -> None:
    from django.core.exceptions import ValidationError

    from campaigns.engine.stop import campaign_stop

    try:
        report = campaign_stop(campaign_id=campaign_id, user=setup.approver)
    except ValidationError as refusal:
        run.stops["refused"] += 1
        run.stop_refusals.append(f"{campaign_id}: {' '.join(refusal.messages)}")
        return
    except Exception as error:
        run.errors[f"stop: {type(error).__name__}: {str(error)[:80]}"] += 1
        return
    if report.cancelled_locally:
        run.stops["cancelled before sending"] += 1
    else:
        run.stops["stopped while sending"] += 1
        run.stops["parts stopped at BSG"] += len(report.stopped)
        run.stops["parts whose stop BSG refused or did not answer"] += len(report.refused)


def _worker_rss(stack: Stack) -> float:
    from _stack import tree_rss_mib

    return tree_rss_mib(stack.worker.pid) if stack.worker is not None else 0.0


def _open_counts() -> collections.Counter[str]:
    """What can still change by itself: campaigns waiting or sending, parts not settled."""
    from campaigns.models import Campaign, CampaignPart

    State, Status = CampaignPart.State, Campaign.Status
    counts: collections.Counter[str] = collections.Counter()
    counts["campaigns waiting"] = Campaign.objects.filter(
        status__in=[Status.READY, Status.SCHEDULED]
    ).count()
    # A dispatch a killed worker abandoned: the sweep takes it again (ENGINE_STUCK_DISPATCH).
    counts["campaigns resolving recipients"] = Campaign.objects.filter(
        status=Status.SENDING, ledger_resolved_at__isnull=True, dispatch_error=""
    ).count()
    counts["parts in flight"] = CampaignPart.objects.filter(
        state__in=[State.PENDING, State.SUBMITTING, State.UNCONFIRMED],
        campaign__status=Status.SENDING,
    ).count()
    counts["parts in flight of stopped campaigns"] = CampaignPart.objects.filter(
        state__in=[State.SUBMITTING, State.UNCONFIRMED], campaign__status=Status.STOPPED
    ).count()
    counts["parts live at BSG"] = CampaignPart.objects.filter(
        state=State.SUBMITTED, finished_at__isnull=True
    ).count()
    return +counts


def _drain(seconds: float, send_log: SendLog) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        send_log.poll()
        if not _open_counts():
            return True
        time.sleep(1.0)
    return False


def _progress(started: float, run: Run, send_log: SendLog, stack: Stack) -> None:
    from campaigns.models import CampaignPart

    states = collections.Counter(CampaignPart.objects.values_list("state", flat=True))
    print(
        f"  {time.monotonic() - started:5.0f} s: {len(run.requested)} campaigns asked to send, "
        f"{sum(run.stops.values())} stop clicks, {len(run.restarts)} worker restarts, "
        f"{run.redis_restarts} redis restarts, {send_log.requests_seen:,} BSG requests; "
        f"parts {dict(states)}; worker RSS {_worker_rss(stack):.0f} MiB",
        flush=True,
    )


# --- the checks --------------------------------------------------------------------------------


def _check(stack: Stack, run: Run, send_log: SendLog, drained: bool) -> list[str]:
    from bsg.client import BsgClient
    from bsg.errors import BsgError
    from bsg.tokens import InMemoryTokenStore
    from campaigns import selectors
    from campaigns.models import Campaign, CampaignEvent, CampaignPart, Recipient

    State, Status = CampaignPart.State, Campaign.Status
    problems: list[str] = []
    if not drained:
        problems.append(f"not drained in time: still open {dict(_open_counts())}")
    if send_log.lost:
        problems.append(f"{send_log.lost} sandbox log entries were dropped before being read")

    # Zero duplicates.
    duplicate_problems, run.send_figures = send_log.duplicates()
    problems += duplicate_problems

    bsg = {c["id"]: c for c in stack.sandbox_campaigns()}
    references_at_bsg = collections.Counter(r for c in bsg.values() for r in c["reference_ids"])
    twice = [r for r, n in references_at_bsg.items() if n > 1]
    if twice:
        problems.append(f"reference ids in more than one BSG campaign: {twice[:5]}")

    parts = list(CampaignPart.objects.select_related("campaign"))
    linked = collections.Counter(p.bsg_campaign_id for p in parts if p.bsg_campaign_id)
    ours = {p.bsg_campaign_id for p in parts if not p.campaign.created_elsewhere}
    for bsg_id, count in linked.items():
        if count > 1:
            problems.append(f"BSG campaign {bsg_id} linked to {count} parts")
    orphans = sorted(set(bsg) - ours)
    if orphans:
        problems.append(
            f"{len(orphans)} BSG campaign(s) of ours the dashboard does not show as ours: "
            f"{orphans[:10]}"
        )

    # Definite states and zero lost campaigns.
    run.part_states = collections.Counter(p.state for p in parts)
    campaigns = {c.pk: c for c in Campaign.objects.filter(created_elsewhere=False)}
    run.campaign_states = collections.Counter(c.status for c in campaigns.values())
    parts_of: dict[int, list] = collections.defaultdict(list)
    for part in parts:
        parts_of[part.campaign_id].append(part)
    stated: list[str] = []
    for campaign_id, how in run.requested.items():
        campaign = campaigns.get(campaign_id)
        if campaign is None:
            problems.append(f"campaign {campaign_id} ({how}) is gone from the database")
            continue
        mine = parts_of.get(campaign_id, [])
        if campaign.status == Status.CANCELLED:
            if mine:
                problems.append(f"campaign {campaign_id} cancelled but has parts {mine}")
            continue
        waiting = (Status.DRAFT, Status.AWAITING_APPROVAL, Status.READY, Status.SCHEDULED)
        if campaign.status in waiting:
            problems.append(f"campaign {campaign_id} ({how}) never left {campaign.status}")
            continue
        if not mine:
            reason = CampaignEvent.objects.filter(
                campaign_id=campaign_id, kind=CampaignEvent.Kind.FINISHED
            ).first()
            if reason is None:
                problems.append(f"campaign {campaign_id} is {campaign.status} with no part")
            continue
        for part in mine:
            label = f"campaign {campaign_id} part {part.number}"
            if part.state == State.SUBMITTED:
                at_bsg = bsg.get(part.bsg_campaign_id)
                if at_bsg is None:
                    problems.append(f"{label}: BSG campaign {part.bsg_campaign_id} not at BSG")
                    continue
                ledger = set(
                    Recipient.objects.filter(part_id=part.pk).values_list("reference_id", flat=True)
                )
                if ledger != set(at_bsg["reference_ids"]):
                    problems.append(f"{label}: its ledger and BSG campaign {at_bsg['id']} differ")
                if part.finished_at is None:
                    problems.append(f"{label}: still live at BSG ({part.bsg_status})")
            elif part.state in (State.REJECTED, State.NEEDS_ATTENTION, State.HELD):
                if not part.error:
                    problems.append(f"{label}: {part.state} without a reason")
                elif part.state != State.REJECTED:
                    stated.append(f"{label}: {part.state}: {part.error[:160]}")
            elif part.state == State.CANCELLED:
                if campaign.status != Status.STOPPED:
                    problems.append(f"{label}: cancelled but the campaign is {campaign.status}")
            else:
                problems.append(f"{label}: left {part.state} (campaign {campaign.status})")
        if campaign.status == Status.SENDING and not any(
            p.state in (State.NEEDS_ATTENTION, State.HELD) for p in mine
        ):
            problems.append(f"campaign {campaign_id} still sending with every part settled")
    run.stated = stated
    unknown = set(campaigns) - set(run.requested) - set(run.refused)
    drafts = [pk for pk in unknown if campaigns[pk].status != Status.DRAFT]
    if drafts:
        problems.append(f"campaigns sent that nobody asked to send: {drafts[:10]}")

    # The dashboard's figures against the sandbox's own (faults are off now).
    client = BsgClient(stack.sandbox_url, stack.api_key, token_store=InMemoryTokenStore())
    compared = 0
    try:
        for campaign_id in run.requested:
            submitted = [p for p in parts_of.get(campaign_id, []) if p.state == State.SUBMITTED]
            if not submitted:
                continue
            totals = selectors.campaign_totals(campaign_id=campaign_id)
            expected = {"sent": 0, "delivered": 0, "price": Decimal(0)}
            recipients = 0
            for part in submitted:
                at_bsg = bsg.get(part.bsg_campaign_id)
                if at_bsg is None:
                    break
                try:
                    answer = client.campaign_get(campaign_id=part.bsg_campaign_id)
                except BsgError as error:
                    problems.append(
                        f"the sandbox did not answer for {part.bsg_campaign_id}: {error}"
                    )
                    break
                expected["sent"] += answer.statistics.sent
                expected["delivered"] += answer.statistics.delivered
                expected["price"] += Decimal(str(at_bsg["price"]))
                recipients += at_bsg["message_count"]
                if part.bsg_status != at_bsg["status"]:
                    problems.append(
                        f"campaign {campaign_id} part {part.number}: dashboard says "
                        f"{part.bsg_status!r}, BSG {at_bsg['status']!r}"
                    )
                if part.recipients != at_bsg["message_count"]:
                    problems.append(
                        f"campaign {campaign_id} part {part.number}: {part.recipients} "
                        f"recipients here, {at_bsg['message_count']} messages at BSG"
                    )
            else:
                got = {k: totals[k] for k in expected}
                got["price"] = Decimal(str(got["price"]))
                if got != expected:
                    problems.append(f"campaign {campaign_id}: dashboard {got}, sandbox {expected}")
                compared += 1
    finally:
        client.close()
    run.compared = compared
    run.bsg_campaigns = len(bsg)
    return problems


def _summary(
    started: float,
    drain_seconds: float,
    run: Run,
    send_log: SendLog,
    stack: Stack,
    problems: list[str],
    faults: dict,
) -> None:
    elapsed = time.monotonic() - started
    kills = collections.Counter(run.restarts)
    print(f"system soak: {elapsed:.0f} s in all, drain {drain_seconds:.0f} s")
    print(f"  faults: {faults}")
    print(
        f"  campaigns asked to send: {len(run.requested)} "
        f"({sum(v == 'scheduled' for v in run.requested.values())} scheduled ahead), refused at "
        f"the request: {len(run.refused)}, request errors: {sum(run.errors.values())}"
    )
    for reason, count in collections.Counter(run.refused.values()).most_common(5):
        print(f"    refused {count} x: {reason[:160]}")
    for error, count in run.errors.most_common(5):
        print(f"    {count} x {error}")
    print(f"  stops: {dict(run.stops)}")
    for refusal in run.stop_refusals[:3]:
        print(f"    stop refused, campaign {refusal[:160]}")
    print(
        f"  worker restarts: {len(run.restarts)} ({dict(kills)}), "
        f"redis restarts: {run.redis_restarts}"
    )
    print(
        f"  processes that exited by themselves (and were restarted): {len(run.died)} "
        f"{dict(collections.Counter(run.died))}"
    )
    print(f"  campaign states: {dict(run.campaign_states)}")
    print(f"  part states: {dict(run.part_states)}")
    print(
        f"  BSG campaigns at the sandbox: {run.bsg_campaigns}; campaigns whose "
        f"dashboard totals were compared with the sandbox: {run.compared}"
    )
    figures = run.send_figures
    print(f"  BSG requests seen: {send_log.requests_seen:,}; sends: {dict(figures)}")
    print(
        "  duplicate submissions: "
        + str(sum("POSTed again" in p or "more than once" in p for p in problems))
    )
    print(f"  lost campaigns: {sum('never left' in p or 'not at BSG' in p for p in problems)}")
    for line in run.stated[:10]:
        print(f"  needs a person (stated): {line}")
    if run.worker_rss:
        print(f"  worker RSS at the end: {run.worker_rss[-1]:.0f} MiB (pool included)")
    print(f"  logs: {stack.logs}")
    for problem in problems[:40]:
        print(f"  FAILED {problem}")
    if len(problems) > 40:
        print(f"  ... and {len(problems) - 40} more")
    print(f"  result: {'FAILED' if problems else 'OK'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
