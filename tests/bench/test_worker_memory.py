"""The worker memory benchmark at a small size (100 campaigns), so that its path stays tested:
a real Celery worker process submits and polls them through the sandbox server, and the
script reads the worker's RSS after each batch. `make bench` runs it at 1,000."""

import subprocess
import sys

from tests.bench._scripts import BENCH, run_bench

TIMEOUT = 600


def test_the_worker_memory_benchmark_runs_at_a_small_size() -> None:
    out = run_bench(
        "worker_memory", "--campaigns", "100", "--batch", "25", "--warm-up", "1", timeout=TIMEOUT
    )
    assert "after   100 campaigns: RSS" in out
    assert "growth after warm-up" in out and "slope" in out
    assert "result: OK" in out


def test_the_worker_memory_benchmark_needs_batches_after_its_warm_up() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "worker_memory.py"),
            "--campaigns",
            "100",
            "--batch",
            "50",
            "--warm-up",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "need more batches than --warm-up ones" in done.stderr
