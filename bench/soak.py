"""Fault soak: the real BsgClient hammering a misbehaving BSG sandbox for N minutes.

Starts `python -m sandbox` as its own process (so its RSS and threads are its own), injects
every fault it knows (5xx, 429 with Retry-After, slow answers, answers that never come, dropped
connections) and runs worker threads, each with its own `BsgClient` and one shared token store,
that send SMS campaigns, read them, stop them, list them and check the balance. After a send
whose outcome is unknown a worker does what the campaign engine does: it looks the reference
up instead of sending again.

The run is cut into rounds. Between rounds the workers pause, the round is checked against the
sandbox's inspection endpoint, and the sandbox is reset (so its memory can be compared round
after round). It fails (exit 1) when:

- the client sent any POST twice (every send carries reference ids used by no other send, and
  the sandbox's request log must show each exactly once, one POST per call);
- an error that says "nothing was accepted" (`BsgUnavailable`) came from a send the sandbox
  nevertheless created, or a successful send is missing from the sandbox;
- a send of unknown outcome was looked up, found, and yet the sandbox has no such campaign.
  (The opposite, "not found" at once and created a moment later, is counted, not failed: a
  request that timed out on our side may still be on its way, at BSG too.)
- the sandbox's memory after a reset keeps growing from round to round, or its threads
  (one per open connection) are not released after the hung connections end.

    .venv/bin/python bench/soak.py [--minutes 5] [--threads 4] [--round-seconds 60]
"""

from __future__ import annotations

import argparse
import collections
import logging
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/soak.py`: make `bsg` importable
    sys.path.insert(0, str(ROOT))

from bsg.client import BsgClient  # noqa: E402
from bsg.errors import (  # noqa: E402
    BsgError,
    BsgOutcomeUnknown,
    BsgRateLimited,
    BsgRejected,
    BsgUnavailable,
)
from bsg.payloads import Recipient  # noqa: E402
from bsg.tokens import InMemoryTokenStore  # noqa: E402

SMS_SEND = "/api/campaigns/sms/send"
# Every fault at once, each a few percent of the /api/ requests (logins are spared by the
# sandbox so that the faults are the only thing under test).
DEFAULT_FAULTS = {
    "error_5xx": 0.05,
    "error_429": 0.04,
    "slow": 0.05,
    "hang": 0.03,
    "drop": 0.02,
    "slow_delay": 0.2,
    "hang_timeout": 5.0,
    "retry_after": 1,
}
LOOKUP_ATTEMPTS = 8


def proc_status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in lines if ":" in line)


def rss_mib(pid: int) -> float | None:
    value = proc_status(pid).get("VmRSS")
    return int(value.split()[0]) / 1024 if value else None


def threads_of(pid: int) -> int | None:
    value = proc_status(pid).get("Threads")
    return int(value) if value else None


def start_sandbox(api_key: str, seed: int) -> tuple[subprocess.Popen[str], str]:
    # A fast pace (campaigns finish within a second) and a balance no soak can spend.
    options = ["--port", "0", "--speed", "50", "--seed", str(seed), "--balance", "1000000000"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", *options, "--api-key", api_key],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # "BSG sandbox listening on http://127.0.0.1:PORT"
    if "listening on" not in first:
        process.kill()
        raise RuntimeError(f"The sandbox did not start: {first!r}")
    return process, first.strip().rsplit(" ", 1)[-1]


@dataclass
class Tally:
    """What the workers saw; one per round, shared by its workers under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    # send key (the first reference id) -> "ok", "unavailable", "rate_limited", "unknown",
    # "rejected"; and for "unknown" sends, what the lookup found (True/False) or None.
    sends: dict[str, str] = field(default_factory=dict)
    looked_up: dict[str, bool | None] = field(default_factory=dict)
    # Sends looked up as "not created" that the sandbox created after the lookup.
    late: dict[str, bool] = field(default_factory=dict)
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    durations: list[float] = field(default_factory=list)

    def note(self, operation: str, outcome: str, seconds: float) -> None:
        with self.lock:
            self.calls[operation] += 1
            self.outcomes[f"{operation} {outcome}"] += 1
            self.durations.append(seconds)


def outcome_of(error: BsgError | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, BsgOutcomeUnknown):
        return "unknown"
    if isinstance(error, BsgRateLimited):
        return "rate_limited"
    if isinstance(error, BsgUnavailable):
        return "unavailable"
    if isinstance(error, BsgRejected):
        return "rejected"
    return type(error).__name__


class Worker(threading.Thread):
    def __init__(
        self,
        *,
        name: str,
        url: str,
        api_key: str,
        store: InMemoryTokenStore,
        deadline: float,
        tally: Tally,
        read_timeout: float,
        seed: int,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.client = BsgClient(
            url, api_key, token_store=store, connect_timeout=2.0, read_timeout=read_timeout
        )
        self.deadline = deadline
        self.tally = tally
        self.rng = random.Random(seed)
        self.sent = 0
        self.campaigns: list[int] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                self.step()
        except BaseException as exc:  # reported by the main thread
            self.failure = exc
        finally:
            self.client.close()

    def timed(self, operation: str, call: object) -> tuple[object, BsgError | None]:
        started = time.perf_counter()
        try:
            result, error = call(), None  # type: ignore[operator]
        except BsgError as exc:
            result, error = None, exc
        self.tally.note(operation, outcome_of(error), time.perf_counter() - started)
        return result, error

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.5 or not self.campaigns:
            self.send()
        elif roll < 0.7:
            campaign_id = self.rng.choice(self.campaigns)
            self.timed("get", lambda: self.client.campaign_get(campaign_id=campaign_id))
        elif roll < 0.8:
            campaign_id = self.campaigns[-1]
            self.timed("stop", lambda: self.client.campaign_stop(campaign_id=campaign_id))
        elif roll < 0.9:
            self.timed("list", lambda: self.client.campaigns_page(limit=30))
        else:
            self.timed("balance", self.client.balance)

    def send(self) -> None:
        self.sent += 1
        key = f"{self.name}n{self.sent}"
        count = self.rng.randint(1, 3)
        recipients = [
            Recipient(380_500_000_000 + self.rng.randrange(10**8), f"{key}p{i}")
            for i in range(count)
        ]
        campaign, error = self.timed(
            "send",
            lambda: self.client.sms_send(phones=recipients, text=f"Soak {key}", sender="Soak"),
        )
        outcome = outcome_of(error)
        with self.tally.lock:
            self.tally.sends[f"{key}p0"] = outcome
        if campaign is not None:
            self.campaigns.append(campaign.id)  # type: ignore[attr-defined]
        if outcome == "unknown":
            found = self.look_up(f"{key}p0")
            with self.tally.lock:
                self.tally.looked_up[f"{key}p0"] = found

    def look_up(self, reference: str) -> bool | None:
        """What the engine does after a send of unknown outcome: ask, never resend."""
        for attempt in range(LOOKUP_ATTEMPTS):
            messages, error = self.timed(
                "lookup", lambda: list(self.client.iter_messages(reference_ids=[reference]))
            )
            if error is None:
                if messages:
                    self.campaigns.append(messages[0].campaign_id)  # type: ignore[index]
                return bool(messages)
            time.sleep(min(0.05 * 2**attempt, 0.5))
        return None


class RequestCollector:
    """Reads the sandbox's request log as it grows (it keeps the last 10,000 entries), so that
    every POST of a long round is seen."""

    def __init__(self, session: requests.Session, url: str) -> None:
        self.session = session
        self.url = url
        self.last_id = 0
        self.send_keys: collections.Counter[str] = collections.Counter()
        self.statuses: collections.Counter[str] = collections.Counter()
        self.lost = 0

    def poll(self) -> None:
        answer = self.session.get(
            f"{self.url}/_sandbox/requests", params={"since": self.last_id}, timeout=30
        )
        answer.raise_for_status()
        entries = answer.json()["data"]
        if entries and entries[0]["id"] != self.last_id + 1:
            self.lost += entries[0]["id"] - self.last_id - 1
        for entry in entries:
            self.last_id = entry["id"]
            if entry["method"] == "POST" and entry["path"] == SMS_SEND:
                body = entry["json"] or {}
                self.send_keys[body["phones"][0]["reference_id"]] += 1
            self.statuses[str(entry["status"])] += 1


def run_round(
    *,
    url: str,
    api_key: str,
    store: InMemoryTokenStore,
    args: argparse.Namespace,
    round_number: int,
    seconds: float,
    pid: int,
    session: requests.Session,
) -> tuple[Tally, list[str], float]:
    """One round: workers for `seconds`, then every check. Returns (tally, problems, peak RSS)."""
    tally = Tally()
    collector = RequestCollector(session, url)
    deadline = time.monotonic() + seconds
    workers = [
        Worker(
            name=f"r{round_number}w{index}",
            url=url,
            api_key=api_key,
            store=store,
            deadline=deadline,
            tally=tally,
            read_timeout=args.read_timeout,
            seed=args.seed * 1000 + round_number * 100 + index,
        )
        for index in range(args.threads)
    ]
    for worker in workers:
        worker.start()
    peak = rss_mib(pid) or 0.0
    while any(worker.is_alive() for worker in workers):
        time.sleep(0.5)
        collector.poll()
        peak = max(peak, rss_mib(pid) or 0.0)
    for worker in workers:
        worker.join()
    collector.poll()

    problems = [
        f"{worker.name} crashed: {worker.failure!r}" for worker in workers if worker.failure
    ]
    if collector.lost:
        problems.append(f"{collector.lost} request log entries were lost before being read")
    twice = {key: n for key, n in collector.send_keys.items() if n > 1}
    if twice:
        problems.append(f"POSTs sent more than once: {dict(list(twice.items())[:5])}")
    sends_made = tally.calls["send"]
    sends_seen = sum(collector.send_keys.values())
    if sends_seen != sends_made:
        problems.append(f"{sends_made} sends made but the sandbox received {sends_seen} POSTs")

    campaigns = session.get(f"{url}/_sandbox/campaigns", timeout=30).json()["data"]
    created = {c["reference_ids"][0] for c in campaigns if c["reference_ids"]}
    for key, outcome in tally.sends.items():
        exists = key in created
        if outcome == "ok" and not exists:
            problems.append(f"send {key} succeeded but the sandbox has no such campaign")
        if outcome == "unavailable" and exists:
            problems.append(f"send {key} said 'nothing accepted' but the campaign exists")
        found = tally.looked_up.get(key)
        if outcome == "unknown" and found is True and not exists:
            problems.append(f"the lookup found {key} but the sandbox has no such campaign")
        if outcome == "unknown" and found is False and exists:
            # Not a client fault, and it happens at real BSG too: a request that timed out on
            # our side was still on its way (a slow answer) when we looked it up, and landed
            # after. "Not found" right after a timeout is not "never created": look again later.
            tally.late[key] = True
    return tally, problems, peak


def reset(session: requests.Session, url: str, faults: dict[str, object]) -> None:
    session.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
    # A reset clears the faults too: set them again.
    session.put(f"{url}/_sandbox/faults", json=faults, timeout=30).raise_for_status()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to soak")
    parser.add_argument("--threads", type=int, default=4, help="worker threads (clients)")
    parser.add_argument("--round-seconds", type=float, default=60.0, help="seconds per round")
    parser.add_argument("--read-timeout", type=float, default=0.5, help="client read timeout")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.threads < 1 or args.round_seconds <= 0:
        parser.error("--minutes and --round-seconds must be positive, --threads at least 1")

    total_seconds = args.minutes * 60
    rounds = max(2, round(total_seconds / args.round_seconds))  # two at least: memory is
    round_seconds = total_seconds / rounds  # compared between rounds
    faults = {**DEFAULT_FAULTS, "seed": args.seed}
    # The client logs a warning for each injected fault: thousands of lines that hide the
    # figures. Errors still show.
    client_log = logging.getLogger("bsg.client")
    log_level = client_log.level
    client_log.setLevel(logging.ERROR)
    api_key = "test_" + secrets.token_hex(8)
    process, url = start_sandbox(api_key, args.seed)
    session = requests.Session()
    problems: list[str] = []
    totals = Tally()
    rss_after: list[float] = []
    threads_after: list[int] = []
    peak = 0.0
    started = time.perf_counter()
    try:
        reset(session, url, faults)
        rss_start, threads_start = rss_mib(process.pid), threads_of(process.pid)
        store = InMemoryTokenStore()
        for number in range(1, rounds + 1):
            tally, found, round_peak = run_round(
                url=url,
                api_key=api_key,
                store=store,
                args=args,
                round_number=number,
                seconds=round_seconds,
                pid=process.pid,
                session=session,
            )
            problems += [f"round {number}: {problem}" for problem in found]
            peak = max(peak, round_peak)
            totals.calls.update(tally.calls)
            totals.outcomes.update(tally.outcomes)
            totals.durations += tally.durations
            totals.sends.update(tally.sends)
            totals.looked_up.update(tally.looked_up)
            totals.late.update(tally.late)
            reset(session, url, faults)
            # Hung connections end when their client gives up; give the server a moment.
            for _ in range(50):
                if (threads_of(process.pid) or 0) <= (threads_start or 0) + 2:
                    break
                time.sleep(0.1)
            rss_after.append(rss_mib(process.pid) or 0.0)
            threads_after.append(threads_of(process.pid) or 0)
    finally:
        process.terminate()
        process.wait(timeout=10)
        session.close()
        client_log.setLevel(log_level)
    elapsed = time.perf_counter() - started

    # Memory may grow while the first round warms the allocator up; after that, a reset must
    # bring the sandbox back to about the same size every round.
    if rss_after and rss_after[-1] > rss_after[0] * 1.25 + 16:
        problems.append(f"sandbox memory keeps growing after resets: {rss_after} MiB")
    if threads_start is not None and threads_after and threads_after[-1] > threads_start + 2:
        problems.append(f"sandbox threads not released: {threads_start} -> {threads_after}")

    requests_made = sum(totals.calls.values())
    sends = collections.Counter(totals.sends.values())
    found = collections.Counter(totals.looked_up.values())
    print(
        f"fault soak: {elapsed:.0f} s in {rounds} rounds, {args.threads} threads, "
        f"client read timeout {args.read_timeout} s"
    )
    print(f"  faults: {faults}")
    print(
        f"  calls: {requests_made:,} ({requests_made / elapsed:,.0f}/s); "
        + ", ".join(f"{name} {count:,}" for name, count in sorted(totals.calls.items()))
    )
    print(
        f"  sends: {sum(sends.values()):,}: ok {sends['ok']:,}, outcome unknown "
        f"{sends['unknown']:,} (looked up: {found[True]:,} created, {found[False]:,} not, "
        f"{found[None]:,} unresolved), unavailable {sends['unavailable']:,}, "
        f"rate limited {sends['rate_limited']:,}"
    )
    print(
        f"  sends looked up as 'not created' that BSG created after the lookup: "
        f"{len(totals.late):,}"
    )
    if totals.durations:
        print(
            f"  call time: median {statistics.median(totals.durations) * 1000:.0f} ms, "
            f"p95 {percentile(totals.durations, 0.95) * 1000:.0f} ms, "
            f"max {max(totals.durations) * 1000:.0f} ms"
        )
    print(
        f"  sandbox RSS: {rss_start or 0:.0f} MiB at start, peak {peak:.0f} MiB, after each "
        f"round's reset {[round(value) for value in rss_after]} MiB"
    )
    print(f"  sandbox threads: {threads_start} at start, after each round {threads_after}")
    print("  POSTs sent twice by the client: " + str(sum("more than once" in p for p in problems)))
    for problem in problems:
        print(f"  FAILED {problem}")
    print(f"  result: {'FAILED' if problems else 'OK'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
