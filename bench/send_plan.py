"""Time the send plan of a personalised SMS campaign to a large list (default 1,000,000), in a
real Celery worker as production computes it.

Loads N contacts into one list (made by SQL, bench/_seed.py: ten million cost this process
nothing; 1% of them on the do-not-contact list, first names drawn from a pool in which some
carry a typographic apostrophe or are Cyrillic, so the plan has recipients pushed into UCS-2
and into more parts), then asks for the campaign's send plan as the composer does for a big
audience (a `SendPlan` row and `campaigns.tasks.send_plan_compute` on the queue) and waits for
a Celery worker (two pool processes, as `make run` starts one) to finish it: streaming every
recipient, rendering, counting parts, and BSG's price estimate and balance from the sandbox
server (a process of its own). The figures are the plan's own times, which the worker records
on the row: `plan_seconds` from the moment a pool process took it to the moment it was done,
`queued_seconds` before that; and the pool processes' peak RSS.

    .venv/bin/python bench/send_plan.py [--recipients 1000000] [--keep] [--plans]

`--contacts` is another name for `--recipients` (bench/run.py's --scale passes it to each
script). `--plans` prints EXPLAIN (ANALYZE, BUFFERS) of the audience's queries.

Needs DATABASE_URL pointing at PostgreSQL (the Makefile's TEST_ENV does): the worker and this
process share a database of its own beside it (`<name>_send_plan`, bench/_stack.py), dropped at
the end unless --keep (then a later run with --keep at the same size plans the contacts it
kept, without loading them again). Redis is a private redis-server on a free port. Fails
(exit 1) when the plan takes 60 s or more.

Why a worker and not this process: the plan reads the audience on a connection of its own in a
thread while the main thread counts, and in this process it shared the interpreter with the
sandbox's threads; measured in-process, ten million took 48.7 to 64.2 s, in a worker 37 to 41 s on
the same data (BENCHMARKS.md, "Send plan").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/send_plan.py`
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench._stack import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    Stack,
    StackError,
    children_of,
    database_drop,
    database_url_for,
    exit_on_sigterm,
    hwm_mib,
    wait_until,
)

LIMIT_SECONDS = 60.0
SEED = 7  # the contacts' names and cities: the same at every run and size
PHONE_PREFIX = "4479"  # 4479 + 8 digits: 12-digit numbers no real contact list here uses
FIELD_NAME, FIELD_CITY = "bench_first_name", "bench_city"
TEXT = (
    "Hi {bench_first_name}, the {bench_city} store has 20% off everything this weekend. "
    "Show this SMS at the till. Reply STOP to opt out."
)


def _names(rng: random.Random) -> list[str]:
    syllables = ["an", "na", "ol", "ena", "iv", "mar", "ko", "li", "sa", "ter", "do", "ri"]
    names = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).title()
        for _ in range(2_000)
    ]
    names += ["O\u2019Brien", "D\u2019Arcy", "Олена", "Іван", "Zoë", "Renée", "Søren", "A" * 120]
    return names


# Each contact's first name and city, drawn by hashing its number (the same contacts every run,
# at every size): a name from a pool in which each name appears as often as its weight.
CONTACTS_INSERT = """
INSERT INTO contacts_contact (phone, name, fields, search_pending, created_at, updated_at)
SELECT %(prefix)s || lpad(drawn.i::text, 8, '0'), '',
       jsonb_build_object(
           %(name_field)s, pool.name,
           %(city_field)s, (%(cities)s::text[])[drawn.city + 1]
       ),
       false, now(), now()
FROM (
    SELECT i,
           (hashint8extended(i, %(seed)s) %% %(slots)s + %(slots)s) %% %(slots)s + 1 AS slot,
           (hashint8extended(i, %(seed)s + 1) %% %(city_count)s + %(city_count)s)
               %% %(city_count)s AS city
    FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS i
) AS drawn
JOIN unnest(%(pool)s::text[]) WITH ORDINALITY AS pool(name, slot) ON pool.slot = drawn.slot
"""
CITIES = ["Kyiv", "Lviv", "Odesa", "Dnipro", "Kharkiv", "Ternopil"]


def _name_pool(seed: int) -> list[str]:
    """The names, each repeated as many times as its weight: O'Brien (typographic apostrophe,
    so UCS-2), D'Arcy and the Cyrillic names are frequent enough to matter in the plan, the
    120-character name rare."""
    names = _names(random.Random(seed))
    weights = [1] * (len(names) - 8) + [40, 20, 30, 20, 10, 10, 5, 2]
    return [name for name, weight in zip(names, weights, strict=True) for _ in range(weight)]


def _list_name(recipients: int, seed: int) -> str:
    return f"bench send plan {recipients} seed {seed}"


def _loaded_before(recipients: int, seed: int) -> int | None:
    """The list a kept database already holds at this size (`--keep` twice: the second run
    plans without loading ten million contacts again), or None."""
    from contacts.models import ContactList, ListMembership

    found = ContactList.objects.filter(name=_list_name(recipients, seed)).first()
    if found is None or ListMembership.objects.filter(contact_list=found).count() != recipients:
        return None
    return found.pk


def _load(recipients: int, seed: int) -> tuple[int, list[int]]:
    """`recipients` contacts in a new list, 1% of them (every hundredth) on the do-not-contact
    list; made by SQL (bench/_seed.py), so this process holds none of them. Returns the list's
    id."""
    from django.db import connection

    from bench._seed import indexes_rebuilt_after, rows_insert
    from contacts.models import ContactField, ContactList, ListMembership

    ContactField.objects.get_or_create(key=FIELD_NAME, defaults={"label": "Bench first name"})
    ContactField.objects.get_or_create(key=FIELD_CITY, defaults={"label": "Bench city"})
    contact_list = ContactList.objects.create(name=_list_name(recipients, seed))
    pool = _name_pool(seed)
    with indexes_rebuilt_after(
        ["contacts_contact", "contacts_listmembership", "contacts_donotcontact"]
    ):
        rows_insert(
            count=recipients,
            statement=CONTACTS_INSERT,
            params={
                "prefix": PHONE_PREFIX,
                "name_field": FIELD_NAME,
                "city_field": FIELD_CITY,
                "cities": CITIES,
                "city_count": len(CITIES),
                "pool": pool,
                "slots": len(pool),
                "seed": seed,
            },
            what="contacts",
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO contacts_listmembership (contact_list_id, contact_id, added_at) "
                "SELECT %s, id, now() FROM contacts_contact WHERE phone LIKE %s",
                [contact_list.pk, PHONE_PREFIX + "%"],
            )
            cursor.execute(
                "INSERT INTO contacts_donotcontact (phone, reason, source, created_at) "
                "SELECT %s || lpad(i::text, 8, '0'), '', 'manual', now() "
                "FROM generate_series(0, %s - 1, 100) AS i",
                [PHONE_PREFIX, recipients],
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


def plan_in_worker(*, stack: Stack, list_id: int, recipients: int, timeout: float) -> dict:
    """Asks for the plan of a personalised campaign to `list_id` as the composer does for a big
    audience and waits for the worker to finish it. The plan's figures, its own times and the
    pool processes' peak RSS."""
    from campaigns import services, tasks
    from campaigns.models import Campaign, SendPlan

    worker = stack.start_worker(pool="prefork", concurrency=2)
    log = stack.logs / "worker.log"
    wait_until(lambda: "ready." in log.read_text(), seconds=120, what="the worker to be ready")
    campaign = Campaign.objects.create(
        name="bench send plan", text=TEXT, sender="BenchShop", sms_mode="individual"
    )
    campaign.lists.set([list_id])
    plan = SendPlan.objects.create(
        campaign=campaign,
        fingerprint=services.campaign_fingerprint(campaign=campaign),
        recipients_total=recipients,
    )
    tasks.send_plan_compute.delay(plan.pk)
    started = time.perf_counter()
    while SendPlan.objects.filter(
        pk=plan.pk, status__in=[SendPlan.Status.PENDING, SendPlan.Status.RUNNING]
    ).exists():
        if worker.poll() is not None:
            raise StackError(f"the worker exited (see {log})")
        if time.perf_counter() - started > timeout:
            raise StackError(f"the plan was not done after {timeout:.0f} s (see {log})")
        time.sleep(0.2)
    plan.refresh_from_db()
    if plan.status != SendPlan.Status.DONE:
        raise StackError(f"the plan failed: {plan.error}")
    peak = max(hwm_mib(pid) for pid in children_of(worker.pid))
    result = plan.result
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
        "queued_seconds": round((plan.started_at - plan.created_at).total_seconds(), 2),
        "plan_seconds": round((plan.finished_at - plan.started_at).total_seconds(), 2),
        "peak_rss_mib": round(peak, 1),
        "campaign_id": campaign.pk,
    }


def audience_plans(campaign) -> list[tuple[str, str, str]]:
    """(title, SQL, plan) of the queries that read the plan's audience: the rows it streams
    (as campaigns.selectors.audience_rows reads them) and the counts it starts with."""
    from django.db import connection

    from bench._plans import plan_of, plans_of
    from campaigns import selectors
    from contacts.selectors import audience_contacts

    list_ids = selectors.campaign_list_ids(campaign=campaign)
    rows = (
        audience_contacts(list_ids=list_ids)
        .values_list("id", "phone", "name", "fields")
        .order_by("id")
    )
    sql = connection.ops.compose_sql(*rows.query.sql_with_params())
    found = [("send plan: the audience's rows, streamed", sql, plan_of(sql, as_cursor=True))]
    counted = plans_of(
        lambda: selectors.audience_counts(
            channel=campaign.channel,
            sms_mode=campaign.sms_mode,
            list_ids=list_ids,
            pasted=campaign.pasted_numbers,
        )
    )
    for number, (query, plan) in enumerate(counted, start=1):
        found.append((f"send plan: the audience's counts ({number})", query, plan))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", "--contacts", type=int, default=1_000_000)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database and contacts; a later --keep run at the same size reuses them",
    )
    parser.add_argument(
        "--plans", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the audience"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after, seconds")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    try:
        database_url = database_url_for(
            os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), "send_plan"
        )
    except StackError as problem:
        parser.error(str(problem))

    stack = Stack(database_url=database_url)
    try:
        figures, plans = _measure(stack, args)
    except StackError as problem:
        print(f"send plan: could not run: {problem} (logs in {stack.logs})")
        return 1
    finally:
        stack.close()
        if not args.keep:
            from django.db import connections

            # The database goes whole (deleting ten million rows would take minutes).
            connections.close_all()
            database_drop(database_url)
    from bench._plans import plan_block

    for title, sql, plan in plans:
        print(plan_block(title, sql, plan))  # before the figures: bench/run.py reads the last JSON
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    if figures["plan_seconds"] >= LIMIT_SECONDS:
        print(f"FAILED: {figures['plan_seconds']} s >= {LIMIT_SECONDS} s", file=sys.stderr)
        return 1
    return 0


def seeded_stack(stack: Stack, *, contacts: int, reuse: bool) -> tuple[int, bool, float]:
    """Starts the stack's sandbox server and private Redis, points this process at the stack's
    database (migrated; made afresh unless `reuse`), as production runs its workers (WARNING
    logs, database connections kept between tasks), and seeds `contacts` contacts into one
    list, or with `reuse` takes those the database kept at this size. Returns the list's id,
    whether it was reused, and the seconds it took."""
    stack.start_sandbox(speed=50, seed=3)
    stack.start_redis()
    # Info-level logging of each BSG call would be much of what a worker does; WARNING is what
    # production runs with (Celery's own task lines stay: its --loglevel is INFO). Connections
    # kept as config.settings_production keeps them (CONN_MAX_AGE=60): closed after each task,
    # each of a ten-million dispatch's ~2,000 tasks opened a backend and warmed its caches again.
    os.environ.update(stack.environment(LOG_LEVEL="WARNING", CONN_MAX_AGE="60"))
    stack.migrate(recreate=not reuse)

    import django

    django.setup()

    started = time.perf_counter()
    list_id = _loaded_before(contacts, SEED) if reuse else None
    reused = list_id is not None
    if list_id is None and reuse:
        # Kept at another size (its contacts would collide with these): start afresh.
        from django.db import connection

        connection.close()
        stack.migrate(recreate=True)
    if list_id is None:
        list_id, _ = _load(contacts, SEED)
    return list_id, reused, time.perf_counter() - started


def _measure(stack: Stack, args: argparse.Namespace) -> tuple[dict, list[tuple[str, str, str]]]:
    list_id, reused, loaded = seeded_stack(stack, contacts=args.recipients, reuse=args.keep)
    print(f"send plan: {args.recipients:,} contacts ready in {loaded:.1f} s", flush=True)
    figures = plan_in_worker(
        stack=stack, list_id=list_id, recipients=args.recipients, timeout=args.timeout
    )
    plans: list[tuple[str, str, str]] = []
    if args.plans:
        from campaigns.models import Campaign

        plans = audience_plans(Campaign.objects.get(pk=figures["campaign_id"]))
    # The campaign is this run's; a kept database keeps only the contacts for the next run.
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=figures.pop("campaign_id")).delete()
    return {**figures, "load_seconds": round(loaded, 1), "contacts_reused": reused}, plans


if __name__ == "__main__":
    sys.exit(main())
