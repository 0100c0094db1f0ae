"""Time the engine on a large personalised SMS campaign (default 1,000,000 contacts).

Loads the contacts as bench/send_plan.py does (PostgreSQL COPY, 1% do-not-contact), then times
`campaigns.engine.campaign_dispatch` (resolve, render and count every recipient, write the
ledger by COPY, cut it into parts of 10,000) and `part_submit` of every part against an
in-process BSG sandbox. Everything it created is deleted afterwards.

    .venv/bin/python bench/engine_submit.py [--recipients 1000000]

Needs DATABASE_URL pointing at PostgreSQL. Fails (exit 1) at 90 s or more, or 400 MiB peak RSS
grown during the timed part.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LIMIT_SECONDS = 90.0


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(*, recipients: int, seed: int = 7) -> dict:
    from bench.send_plan import TEXT, _cleanup, _load
    from campaigns import engine
    from campaigns.models import Campaign, CampaignPart

    list_id, _ = _load(recipients, seed)
    rss_before = _rss_mib()
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
        result = engine.campaign_dispatch(campaign_id=campaign.pk)
        dispatched = time.perf_counter() - started
        for part_id in result.part_ids:
            outcome = engine.part_submit(part_id=part_id)
            if outcome is None or outcome.state != CampaignPart.State.SUBMITTED:
                raise RuntimeError(f"part {part_id} not submitted: {outcome}")
        seconds = time.perf_counter() - started
    finally:
        _cleanup(list_id)
    return {
        "recipients": result.recipients,
        "parts": len(result.part_ids),
        "dispatch_seconds": round(dispatched, 2),
        "total_seconds": round(seconds, 2),
        "peak_rss_mib": round(_rss_mib(), 1),
        "rss_before_mib": round(rss_before, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings

    from bsg.sandbox.server import SandboxConfig, SandboxServer

    key = "bench_engine_key"
    sandbox = SandboxServer(
        SandboxConfig(api_key=key, balance=Decimal("1000000"), currency="EUR"), port=0
    )
    sandbox.start()
    settings.BSG_API_URL, settings.BSG_API_KEY = sandbox.url, key
    try:
        figures = run(recipients=args.recipients)
    finally:
        sandbox.shutdown()
    print(json.dumps(figures, indent=1))
    if figures["total_seconds"] >= LIMIT_SECONDS:
        print(f"FAILED: {figures['total_seconds']} s >= {LIMIT_SECONDS} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
