"""The worker memory benchmark at a small size (100 campaigns), so that its path stays tested:
a real Celery worker process submits and polls them through the sandbox server, and the
script reads the worker's RSS after each batch. `make bench` runs it at 1,000."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "worker_memory.py"
TIMEOUT = 600


def test_the_worker_memory_benchmark_runs_at_a_small_size() -> None:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--campaigns", "100", "--batch", "25", "--warm-up", "1"],
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
    assert "after   100 campaigns: RSS" in out
    assert "growth after warm-up" in out and "slope" in out
    assert "result: OK" in out


def test_the_worker_memory_benchmark_needs_batches_after_its_warm_up() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--campaigns", "100", "--batch", "50", "--warm-up", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "need more batches than --warm-up ones" in done.stderr
