"""Time one poll cycle of the campaign engine over many live parts (default 1,000).

Creates N BSG campaigns in an in-process sandbox whose clock is frozen (so they stay live),
links each to a submitted part here, then times one `campaigns.engine.poll.engine_poll` and
counts the BSG API calls it made, from the sandbox's request log. The target (issue 5): at most
ceil(N / 500) + 1 calls (E5 pages of 500, plus one spare) and under 5 s. Per-recipient reads
(E9) are a separate, rate-limited step and are not due for these parts. Everything it created
is deleted afterwards.

    .venv/bin/python bench/engine_poll.py [--parts 1000]

Runs in a database of its own beside DATABASE_URL's (`<name>_bench_poll`, bench/_database.py),
dropped at the end. Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LIMIT_SECONDS = 5.0
PAGE = 500


def call_limit(parts: int) -> int:
    return math.ceil(parts / PAGE) + 1


def run(*, parts: int, sandbox) -> dict:
    from django.core.cache import cache
    from django.utils import timezone

    from bsg.payloads import Recipient as BsgRecipient
    from campaigns.engine import poll
    from campaigns.models import Campaign, CampaignPart
    from config.bsg import bsg_client

    sandbox.state.clock.freeze()
    campaign = Campaign.objects.create(
        name="bench engine poll",
        sms_mode="numbers",
        text="x",
        sender="BenchShop",
        status=Campaign.Status.SENDING,
    )
    try:
        now = timezone.now()
        rows = []
        with bsg_client() as client:
            answers = [
                client.sms_send(
                    phones=[BsgRecipient(number=f"38050{8000000 + number}")],
                    text="x",
                    sender="Bench",
                )
                for number in range(1, parts + 1)
            ]
        for number, answer in enumerate(answers, start=1):
            rows.append(
                CampaignPart(
                    campaign=campaign,
                    number=number,
                    state=CampaignPart.State.SUBMITTED,
                    recipients=1,
                    bsg_campaign_id=answer.id,
                    bsg_status=answer.status or "",
                    submitted_at=now,
                )
            )
        CampaignPart.objects.bulk_create(rows)
        cache.delete(poll.POLL_LOCK_KEY)
        before = len(sandbox.state.requests)
        started = time.perf_counter()
        report = poll.engine_poll()
        seconds = time.perf_counter() - started
        requests = sandbox.state.requests[before:]
    finally:
        campaign.delete()
    api = [r for r in requests if r["path"].startswith("/api/") and "auth" not in r["path"]]
    return {
        "parts": report.parts,
        "api_calls": len(api),
        "engine_counted_calls": report.api_calls,
        "call_limit": call_limit(parts),
        "seconds": round(seconds, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=1000)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings

    from bench._database import own_database
    from sandbox.server import SandboxConfig, SandboxServer

    key = "bench_poll_key"
    sandbox = SandboxServer(
        SandboxConfig(api_key=key, balance=Decimal("1000000"), currency="EUR"), port=0
    )
    sandbox.start()
    settings.BSG_API_URL, settings.BSG_API_KEY = sandbox.url, key
    try:
        with own_database("bench_poll"):
            figures = run(parts=args.parts, sandbox=sandbox)
    finally:
        sandbox.shutdown()
    print(json.dumps(figures, indent=1))
    failed = figures["api_calls"] > figures["call_limit"] or figures["seconds"] >= LIMIT_SECONDS
    if failed:
        print("FAILED: over the call or time target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
