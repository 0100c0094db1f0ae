"""Time the send plan of a personalised SMS campaign to a large list (default 1,000,000).

Loads N contacts into one list (PostgreSQL COPY; 1% of them on the do-not-contact list, first
names drawn from a pool in which some carry a typographic apostrophe or are Cyrillic, so the
plan has recipients pushed into UCS-2 and into more parts), then times
`campaigns.sendplan.send_plan_compute` end to end: streaming every recipient, rendering, counting
parts, and BSG's price estimate and balance (an in-process BSG sandbox). Everything it created is
deleted afterwards.

    .venv/bin/python bench/send_plan.py [--recipients 1000000] [--keep]

Needs DATABASE_URL pointing at PostgreSQL (the Makefile's TEST_ENV does); runs in a database
of its own beside it (`<name>_bench_send_plan`, bench/_database.py), dropped at the end unless
--keep. Fails (exit 1) when the plan takes 60 s or more.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LIMIT_SECONDS = 60.0
PHONE_PREFIX = "4479"  # 4479 + 8 digits: 12-digit numbers no real contact list here uses
FIELD_NAME, FIELD_CITY = "bench_first_name", "bench_city"
TEXT = (
    "Hi {bench_first_name}, the {bench_city} store has 20% off everything this weekend. "
    "Show this SMS at the till. Reply STOP to opt out."
)


def _peak_rss_mib() -> float:
    from bench._memory import peak_rss_mib

    return peak_rss_mib()


def _names(rng: random.Random) -> list[str]:
    syllables = ["an", "na", "ol", "ena", "iv", "mar", "ko", "li", "sa", "ter", "do", "ri"]
    names = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).title()
        for _ in range(2_000)
    ]
    names += ["O\u2019Brien", "D\u2019Arcy", "Олена", "Іван", "Zoë", "Renée", "Søren", "A" * 120]
    return names


def _load(recipients: int, seed: int) -> tuple[int, list[int]]:
    from django.db import connection
    from django.utils import timezone

    from contacts.models import ContactField, ContactList, DoNotContact, ListMembership

    ContactField.objects.get_or_create(key=FIELD_NAME, defaults={"label": "Bench first name"})
    ContactField.objects.get_or_create(key=FIELD_CITY, defaults={"label": "Bench city"})
    contact_list = ContactList.objects.create(name=f"bench send plan {time.time_ns()}")
    rng = random.Random(seed)
    names = _names(rng)
    weights = [1.0] * (len(names) - 8) + [40.0, 20.0, 30.0, 20.0, 10.0, 10.0, 5.0, 2.0]
    cities = ["Kyiv", "Lviv", "Odesa", "Dnipro", "Kharkiv", "Ternopil"]
    # The same draws as `rng.choices(names, weights)` row by row (choices accumulates the
    # weights on every call, which alone took a minute per million rows), so the contacts, and
    # the figures in BENCHMARKS.md, do not change.
    cum_weights = list(itertools.accumulate(weights))
    payloads: dict[tuple[str, str], str] = {}
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY contacts_contact (phone, name, fields, created_at, updated_at) FROM STDIN"
        ) as copy:
            # Streamed in chunks: a million rows held whole took hundreds of MiB.
            buffer = io.StringIO()
            for i in range(recipients):
                key = (rng.choices(names, cum_weights=cum_weights)[0], rng.choice(cities))
                payload = payloads.get(key)
                if payload is None:
                    fields = {FIELD_NAME: key[0], FIELD_CITY: key[1]}
                    payload = json.dumps(fields, ensure_ascii=False).replace("\\", "\\\\")
                    payloads[key] = payload
                buffer.write(f"{PHONE_PREFIX}{i:08d}\t\t{payload}\t{now}\t{now}\n")
                if buffer.tell() >= 1 << 20:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        cursor.execute(
            "INSERT INTO contacts_listmembership (contact_list_id, contact_id, added_at) "
            "SELECT %s, id, now() FROM contacts_contact WHERE phone LIKE %s",
            [contact_list.pk, PHONE_PREFIX + "%"],
        )
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE contacts_listmembership")
    DoNotContact.objects.bulk_create(
        [DoNotContact(phone=f"{PHONE_PREFIX}{i:08d}") for i in range(0, recipients, 100)],
        batch_size=5_000,
    )
    assert ListMembership.objects.filter(contact_list=contact_list).count() == recipients
    return contact_list.pk, []


def _cleanup(list_id: int) -> None:
    from django.db import connection

    from campaigns.models import Campaign
    from contacts.models import ContactList

    Campaign.objects.filter(lists__id=list_id).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_listmembership WHERE contact_list_id = %s", [list_id])
        cursor.execute(
            "DELETE FROM contacts_donotcontact WHERE phone LIKE %s", [PHONE_PREFIX + "%"]
        )
        cursor.execute("DELETE FROM contacts_contact WHERE phone LIKE %s", [PHONE_PREFIX + "%"])
    ContactList.objects.filter(pk=list_id).delete()


def run(*, recipients: int, keep: bool = False, seed: int = 7) -> dict:
    """Load, plan, clean up; the plan's figures plus seconds and peak memory."""
    from campaigns import services
    from campaigns.models import Campaign, SendPlan

    started = time.perf_counter()
    list_id, _ = _load(recipients, seed)
    loaded = time.perf_counter() - started
    try:
        campaign = Campaign.objects.create(
            name="bench send plan", text=TEXT, sender="BenchShop", sms_mode="individual"
        )
        campaign.lists.set([list_id])
        plan = SendPlan.objects.create(
            campaign=campaign,
            fingerprint=services.campaign_fingerprint(campaign=campaign),
            recipients_total=recipients,
        )
        from campaigns.sendplan import send_plan_compute

        started = time.perf_counter()
        send_plan_compute(plan_id=plan.pk)
        seconds = time.perf_counter() - started
        plan.refresh_from_db()
        if plan.status != SendPlan.Status.DONE:
            raise RuntimeError(f"the plan failed: {plan.error}")
        result = plan.result
    finally:
        if not keep:
            _cleanup(list_id)
    return {
        "recipients": result["recipients"],
        "excluded_do_not_contact": result["excluded_do_not_contact"],
        "total_parts": result["total_parts"],
        "histogram": result["histogram"],
        "pushed_to_ucs2": result["pushed_to_ucs2"],
        "over_limit": result["over_limit"],
        "price": result["price"],
        "price_error": result["price_error"],
        "balance_covers": result["balance_covers"],
        "load_seconds": round(loaded, 1),
        "plan_seconds": round(seconds, 2),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated contacts")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings

    from bench._database import own_database
    from sandbox.server import SandboxConfig, SandboxServer

    key = "bench_send_plan_key"
    sandbox = SandboxServer(
        SandboxConfig(api_key=key, balance=Decimal("100000"), currency="EUR"), port=0
    )
    sandbox.start()
    settings.BSG_API_URL, settings.BSG_API_KEY = sandbox.url, key
    try:
        with own_database("bench_send_plan", keep=args.keep):
            figures = run(recipients=args.recipients, keep=args.keep)
    finally:
        sandbox.shutdown()
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    if figures["plan_seconds"] >= LIMIT_SECONDS:
        print(f"FAILED: {figures['plan_seconds']} s >= {LIMIT_SECONDS} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
