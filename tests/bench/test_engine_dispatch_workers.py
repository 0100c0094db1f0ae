"""bench/engine_dispatch_workers.py at a small size (30,000 contacts, three parts), so that its
path stays tested: a real Celery worker with two pool processes dispatches and submits the
campaign to the sandbox server while the script samples each process. `make bench` runs it at
1,000,000 contacts, `make bench BENCH_SCALE=10m` at ten million."""

import os

import pytest

from tests.bench._scripts import run_bench

TIMEOUT = 600

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the worker, this script and the seeding share a PostgreSQL database",
)


def test_two_worker_processes_dispatch_and_submit_every_recipient_once() -> None:
    # At this size a process's memory is still warming up when the small phases end: the
    # tolerance is the full-size run's business.
    out = run_bench(
        "engine_dispatch_workers", "--contacts", "30000", "--tolerance-mib", "40", timeout=TIMEOUT
    )
    assert "29,700 recipients in 3 parts" in out
    assert '"messages": 29700,\n  "phones": 29700,\n  "reference_ids": 29700' in out
    assert out.count("pool process ") == 2
    assert "result: OK" in out
