"""Time the engine on a large personalised SMS campaign (default 1,000,000 contacts).

Loads the contacts as bench/send_plan.py does (made by SQL, 1% do-not-contact), then times
`campaigns.engine.dispatch.campaign_dispatch` (resolve, render and count every recipient, write
the ledger by COPY, cut it into parts of 10,000) and `part_submit` of every part against a BSG
sandbox. Its database is dropped afterwards.

    .venv/bin/python bench/engine_submit.py [--recipients 1000000] [--sandbox-in-process]

`--contacts` is another name for `--recipients` (bench/run.py's --scale passes it).

The parts are submitted one after another, as one Celery worker would. The sandbox runs in its
own process, as BSG runs on its own machines; `--sandbox-in-process` serves it from
a thread of this process instead (it then shares this interpreter's lock, so its work is added
to ours). `wait_seconds` is the time spent waiting for the sandbox's answers (its parsing and
validation of each part's 10,000 messages, and the loopback transfer): the sandbox's cost, not
ours.

Needs DATABASE_URL pointing at PostgreSQL; runs in a database of its own beside it
(`<name>_bench_engine`, bench/_database.py), dropped at the end. Fails (exit 1) at 90 s a
million recipients or more (90 s at least), or 400 MiB or more peak RSS of this process at any
size: memory must not grow with the campaign.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LIMIT_SECONDS = 90.0
LIMIT_RSS_MIB = 400.0
SANDBOX_KEY = "bench_engine_key"


def _peak_rss_mib() -> float:
    from bench._memory import peak_rss_mib

    return peak_rss_mib()


def _rss_mib() -> float:
    return _peak_rss_mib()


class _WaitTimer:
    """Seconds spent inside the HTTP adapter's `send` (the request body is already encoded by
    then): the round trip to the sandbox, summed over every call."""

    def __init__(self) -> None:
        from requests.adapters import HTTPAdapter

        self.seconds = 0.0
        self._lock = threading.Lock()
        self._adapter = HTTPAdapter
        self._send = HTTPAdapter.send
        timer = self

        def timed(adapter, *args, **kwargs):
            started = time.perf_counter()
            try:
                return timer._send(adapter, *args, **kwargs)
            finally:
                with timer._lock:
                    timer.seconds += time.perf_counter() - started

        HTTPAdapter.send = timed

    def close(self) -> None:
        self._adapter.send = self._send


def run(*, recipients: int, seed: int = 7, keep: bool = False) -> dict:
    """Load, dispatch, submit every part, clean up (unless `keep`); the figures."""
    from bench.send_plan import TEXT, _cleanup, _load
    from campaigns.engine import dispatch, submit
    from campaigns.models import Campaign, CampaignPart

    list_id, _ = _load(recipients, seed)
    rss_before = _rss_mib()
    timer = _WaitTimer()
    try:
        campaign = Campaign.objects.create(
            name="bench engine",
            text=TEXT,
            sender="BenchShop",
            sms_mode="individual",
            status=Campaign.Status.READY,
        )
        campaign.lists.set([list_id])
        started = time.perf_counter()
        result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
        dispatched = time.perf_counter() - started
        waited_in_dispatch = timer.seconds
        for part_id in result.part_ids:
            outcome = submit.part_submit(part_id=part_id)
            if outcome is None or outcome.state != CampaignPart.State.SUBMITTED:
                raise RuntimeError(f"part {part_id} not submitted: {outcome}")
        seconds = time.perf_counter() - started
    finally:
        timer.close()
        if not keep:
            _cleanup(list_id)
    submit_seconds = seconds - dispatched
    wait_seconds = timer.seconds - waited_in_dispatch
    return {
        "recipients": result.recipients,
        "parts": len(result.part_ids),
        "dispatch_seconds": round(dispatched, 2),
        "submit_seconds": round(submit_seconds, 2),
        "total_seconds": round(seconds, 2),
        # submit_seconds - wait_seconds is our own client-side work: reading the ledger,
        # building and encoding the messages, recording the answers.
        "wait_seconds": round(wait_seconds, 2),
        "peak_rss_mib": round(_rss_mib(), 1),
        "rss_before_mib": round(rss_before, 1),
    }


def time_limit(recipients: int) -> float:
    """Issue 5's pace, 90 s a million, and never less than 90 s. One process submits every part
    here; ten million with two worker processes are bench/engine_dispatch_workers.py's."""
    return LIMIT_SECONDS * max(1.0, recipients / 1_000_000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sandbox_process() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox", "--port", str(port)),
            *("--api-key", SANDBOX_KEY, "--balance", "1000000", "--currency", "EUR"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the sandbox did not start") from None
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", "--contacts", type=int, default=1_000_000)
    parser.add_argument("--sandbox-in-process", action="store_true")
    args = parser.parse_args(argv)
    limit_seconds = time_limit(args.recipients)

    import django

    django.setup()
    from django.conf import settings

    from bench._database import own_database
    from sandbox.server import SandboxConfig, SandboxServer

    if args.sandbox_in_process:
        server = SandboxServer(
            SandboxConfig(api_key=SANDBOX_KEY, balance=Decimal("1000000"), currency="EUR"),
            port=0,
        )
        server.start()
        url, stop = server.url, server.shutdown
    else:
        process, url = _sandbox_process()

        def stop() -> None:
            process.terminate()
            process.wait(timeout=10)

    settings.BSG_API_URL, settings.BSG_API_KEY = url, SANDBOX_KEY
    try:
        with own_database("bench_engine"):
            # Nothing to clean up: the database goes (deleting ten million rows would take
            # minutes).
            figures = run(recipients=args.recipients, keep=True)
    finally:
        stop()
    figures["sandbox"] = "in this process" if args.sandbox_in_process else "own process"
    print(json.dumps(figures, indent=1))
    failed = []
    if figures["total_seconds"] >= limit_seconds:
        failed.append(f"{figures['total_seconds']} s >= {limit_seconds:.0f} s")
    if figures["peak_rss_mib"] >= LIMIT_RSS_MIB:
        failed.append(f"peak RSS {figures['peak_rss_mib']} MiB >= {LIMIT_RSS_MIB} MiB")
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
