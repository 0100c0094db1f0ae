"""bench/engine_dispatch_workers.py at a small size (30,000 contacts, three parts), so that its
path stays tested: a real Celery worker with two pool processes dispatches and submits the
campaign to the sandbox server while the script samples each process. `make bench` runs it at
1,000,000 contacts, `make bench BENCH_SCALE=10m` at ten million."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "engine_dispatch_workers.py"
TIMEOUT = 600

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the worker, this script and the seeding share a PostgreSQL database",
)


def test_two_worker_processes_dispatch_and_submit_every_recipient_once() -> None:
    process = subprocess.Popen(
        # At this size a process's memory is still warming up when the small phases end: the
        # tolerance is the full-size run's business.
        [sys.executable, str(SCRIPT), "--contacts", "30000", "--tolerance-mib", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
    )
    try:
        out, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the script stops what it started
        out, _ = process.communicate(timeout=60)
        pytest.fail(f"the benchmark did not end within {TIMEOUT} s:\n{out}")
    assert process.returncode == 0, out
    assert "29,700 recipients in 3 parts" in out
    assert '"messages": 29700,\n  "phones": 29700,\n  "reference_ids": 29700' in out
    assert out.count("pool process ") == 2
    assert "result: OK" in out
