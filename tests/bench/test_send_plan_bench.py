"""bench/send_plan.py at a tiny size, as `make bench` and `bench/run.py --scale` start it: the
contacts seeded by SQL, the plan asked for as the composer asks for a big audience's, and
computed by a real Celery worker (two pool processes) against the sandbox server."""

import json
import os

import pytest

from tests.bench._scripts import run_bench

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the worker, this script and the seeding share a PostgreSQL database",
)


def _figures(out: str) -> dict:
    return json.loads(out[out.rindex("\n{") :])


def test_a_worker_plans_every_recipient_and_the_plans_are_printed() -> None:
    # bench/run.py --scale's arguments: the size in contacts, and the audience's plans.
    out = run_bench("send_plan", "--contacts", "300", "--plans", timeout=300)
    figures = _figures(out)
    assert figures["recipients"] == 297  # every hundredth contact is on the do-not-contact list
    assert figures["excluded_do_not_contact"] == 3
    assert figures["pushed_to_ucs2"] > 0  # the typographic apostrophes and Cyrillic names
    assert figures["price_error"] == ""
    assert figures["balance_covers"] is True
    assert 0 < figures["plan_seconds"] < 60
    assert figures["queued_seconds"] >= 0
    assert figures["peak_rss_mib"] > 0
    assert figures["contacts_reused"] is False
    assert "#### plan: send plan: the audience's rows, streamed" in out
