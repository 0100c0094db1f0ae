"""Contact pages at scale: load N contacts into a throwaway database and time the pages.

    .venv/bin/python bench/contact_pages.py                    # 1,000,000 contacts
    .venv/bin/python bench/contact_pages.py --contacts 20000 --repeats 3
    .venv/bin/python bench/contact_pages.py --contacts 10000000 --plans --keep

Runs with DATABASE_URL (PostgreSQL for real figures) but never touches that database's data:
it creates a database beside it (`<name>_bench_contacts`), migrates it, loads the contacts
(PostgreSQL: made by SQL, in the search indexes, tables vacuumed: bench/_seed.py; elsewhere
bulk_create), and drops it at the end unless --keep is given (a later run with --keep and the
same --contacts reuses it: ten million take minutes to seed). Every page is fetched through
Django's test client, so the figures include the view, the template and the queries, and the
script also prints how many queries each page made. `--plans` then prints EXPLAIN (ANALYZE,
BUFFERS) of each page's main query (query_plan says which), for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

FIRST = ["Olena", "Taras", "Iryna", "Andrii", "Oksana", "Dmytro", "Kateryna", "Yurii", "Mariia"]
LAST = ["Kovalenko", "Shevchenko", "Bondarenko", "Tkachenko", "Melnyk", "Boyko", "Kravchenko"]
CITIES = ["Kyiv", "Lviv", "Odesa", "Kharkiv", "Dnipro"]
RARE_NAME = "Zakharchenko-Rare"


def phone_of(i: int) -> str:
    return f"380{50 + i % 50}{i:07d}"


def contact_row(i: int) -> tuple[str, str, str]:
    first, last = FIRST[i % len(FIRST)], LAST[(i // 7) % len(LAST)]
    name = RARE_NAME if i % 100_003 == 17 else f"{first} {last}"
    fields = {"first_name": first, "city": CITIES[i % len(CITIES)], "order_no": f"A-{i}"}
    return phone_of(i), name, json.dumps(fields, ensure_ascii=False)


def phone_sql(number: str) -> str:
    """phone_of in SQL, of the integer expression `number` (web_load's ledger reads it)."""
    return (
        f"'380' || (50 + mod({number}, 50)) || "
        f"lpad(({number})::text, greatest(7, length(({number})::text)), '0')"
    )


# contact_row(i) in SQL, for i from generate_series: the same contacts, made by PostgreSQL.
CONTACTS_INSERT = """
INSERT INTO contacts_contact (phone, name, fields, search_pending, created_at, updated_at)
SELECT '380' || (50 + i %% 50) || lpad(i::text, greatest(7, length(i::text)), '0'),
       CASE WHEN i %% 100003 = 17 THEN %(rare)s
            ELSE (%(first)s::text[])[i %% 9 + 1] || ' ' || (%(last)s::text[])[(i / 7) %% 7 + 1]
       END,
       jsonb_build_object(
           'first_name', (%(first)s::text[])[i %% 9 + 1],
           'city', (%(cities)s::text[])[i %% 5 + 1],
           'order_no', 'A-' || i
       ),
       false, now(), now()
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS i
"""


def load_contacts(count: int) -> dict[str, int]:
    """Loads `count` contacts and three lists (all, every 2nd, every 100th); returns list ids.

    PostgreSQL: made by SQL (bench/_seed.py), so ten million cost this process nothing; the
    contacts are in the search indexes, as in a deployment after the search catch-up."""
    from django.db import connection

    from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

    for key in ("first_name", "city", "order_no"):
        ContactField.objects.get_or_create(key=key, defaults={"label": key})
    lists = {
        name: ContactList.objects.get_or_create(name=name)[0].pk
        for name in ("Everyone", "Every second", "Every hundredth")
    }
    if connection.vendor == "postgresql":
        from bench._seed import indexes_rebuilt_after, rows_insert

        assert len(FIRST) == 9 and len(LAST) == 7 and len(CITIES) == 5  # CONTACTS_INSERT's
        with indexes_rebuilt_after(
            ["contacts_contact", "contacts_listmembership", "contacts_donotcontact"]
        ):
            rows_insert(
                count=count,
                statement=CONTACTS_INSERT,
                params={"rare": RARE_NAME, "first": FIRST, "last": LAST, "cities": CITIES},
                what="contacts",
            )
            with connection.cursor() as cursor:
                for name, step in (("Everyone", 1), ("Every second", 2), ("Every hundredth", 100)):
                    cursor.execute(
                        "INSERT INTO contacts_listmembership "
                        "(contact_list_id, contact_id, added_at) "
                        "SELECT %s, id, now() FROM contacts_contact WHERE id %% %s = 0",
                        [lists[name], step],
                    )
                cursor.execute(
                    "INSERT INTO contacts_donotcontact (phone, reason, source, created_at) "
                    "SELECT '380' || (50 + i %% 50) || lpad(i::text, greatest(7, length(i::text)), "
                    "'0'), '', 'manual', now() FROM generate_series(0, %s - 1, 997) AS i "
                    "ON CONFLICT (phone) DO NOTHING",
                    [count],
                )
        return lists
    for start in range(0, count, 10_000):
        Contact.objects.bulk_create(
            Contact(phone=p, name=n, fields=json.loads(f))
            for p, n, f in map(contact_row, range(start, min(count, start + 10_000)))
        )
    for contact_id in Contact.objects.values_list("pk", flat=True).iterator():
        ListMembership.objects.bulk_create(
            [
                ListMembership(contact_list_id=lists[name], contact_id=contact_id)
                for name, step in (
                    ("Everyone", 1),
                    ("Every second", 2),
                    ("Every hundredth", 100),
                )
                if contact_id % step == 0
            ]
        )
    DoNotContact.objects.bulk_create(
        [DoNotContact(phone=phone_of(i)) for i in range(0, count, 997)], ignore_conflicts=True
    )
    return lists


def pages(lists: dict[str, int], count: int) -> list[tuple[str, str, dict]]:
    from django.urls import reverse

    from contacts.models import Contact

    middle = Contact.objects.order_by("pk").values_list("pk", flat=True)[count // 2]
    contacts = reverse("contacts:contact-index")
    return [
        ("contacts, first page", contacts, {}),
        ("contacts, a page in the middle (cursor)", contacts, {"after": middle}),
        ("search phone prefix `+380 67 000`", contacts, {"phone": "+380 67 000"}),
        (
            "search phone, one number typed nationally",
            contacts,
            {"phone": "0" + phone_of(count // 3)[3:]},
        ),
        ("search name `olena` (many match)", contacts, {"name": "olena"}),
        (f"search name `{RARE_NAME.lower()}` (rare)", contacts, {"name": RARE_NAME.lower()}),
        ("search text `olena` (many match)", contacts, {"q": "olena"}),
        (f"search text `{RARE_NAME.lower()}` (rare)", contacts, {"q": RARE_NAME.lower()}),
        ("search text `odesa` (a field value, 20%)", contacts, {"q": "odesa"}),
        ("search text one order_no", contacts, {"q": f"A-{count // 3}"}),
        ("search text `zzz-nowhere` (no match)", contacts, {"q": "zzz-nowhere"}),
        ("field city = Odesa (20%)", contacts, {"field_key": "city", "field_value": "Odesa"}),
        (
            "field order_no = one value",
            contacts,
            {"field_key": "order_no", "field_value": f"A-{count // 3}"},
        ),
        ("filter list `Every hundredth`", contacts, {"list_id": lists["Every hundredth"]}),
        (
            "filter list `Everyone` + name",
            contacts,
            {"list_id": lists["Everyone"], "name": "taras"},
        ),
        ("lists index (member counts)", reverse("contacts:list-index"), {}),
        (
            "list detail `Every hundredth` (counts, audience)",
            reverse("contacts:list-detail", args=[lists["Every hundredth"]]),
            {},
        ),
        (
            "list detail `Everyone` (counts, audience)",
            reverse("contacts:list-detail", args=[lists["Everyone"]]),
            {},
        ),
        ("do-not-contact, first page", reverse("contacts:dnc-index"), {}),
    ]


def measure(
    lists: dict[str, int], count: int, repeats: int, *, plans: list[tuple[str, str]] | None = None
) -> list[tuple[str, float, float, int]]:
    """(page, median ms, max ms, queries) for each page. Given a list as `plans`, also appends
    (page, EXPLAIN (ANALYZE, BUFFERS) of the page's main query) to it."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    results = []
    for label, url, params in pages(lists, count):
        times = []
        queries = 0
        for _ in range(repeats):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url, params)
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{label}: HTTP {response.status_code}")
            queries = len(captured.captured_queries)
        results.append((label, statistics.median(times) * 1000, max(times) * 1000, queries))
        if plans is not None:
            plans.append((label, query_plan(captured.captured_queries)))
    return results


# The tables that grow with the contacts: a page's main query reads one of them.
BIG_TABLES = ('"contacts_contact"', '"contacts_listmembership"', '"contacts_donotcontact"')


def query_plan(queries: list[dict]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a page's main query: the slowest of those that read a table
    growing with the contacts (the rows, a count, the audience summary), leaving out the
    session's, the user's and the prefetch of the shown rows' lists (50 ids)."""
    from django.db import connection

    main = [
        query
        for query in queries
        if any(table in query["sql"] for table in BIG_TABLES)
        and "_prefetch_related_val" not in query["sql"]
        and query["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    if not main:
        return "(no query of this page reads the contacts, lists or do-not-contact tables)"
    slowest = max(main, key=lambda query: float(query["time"]))
    sql = slowest["sql"]
    head = f"main query, {float(slowest['time']) * 1000:.0f} ms when the page was fetched:"
    if connection.vendor != "postgresql":
        return f"{head}\n{sql}"
    from bench._plans import plan_of

    return f"{head}\n{sql}\n\n{plan_of(sql)}"


def report(count: int, load_seconds: float, results, plans: list[tuple[str, str]] = ()) -> None:
    print(f"contact pages: {count:,} contacts loaded in {load_seconds:.1f} s")
    print("| page | median ms | max ms | queries |")
    print("|---|---|---|---|")
    for label, median, worst, queries in results:
        print(f"| {label} | {median:.0f} | {worst:.0f} | {queries} |")
    for label, plan in plans:
        print(f"\n#### plan: {label}\n\n```\n{plan}\n```")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument(
        "--plans",
        action="store_true",
        help="after the table, EXPLAIN (ANALYZE, BUFFERS) of each page's main query",
    )
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.db import connection

    from bench._database import own_database
    from contacts.models import Contact

    with own_database("bench_contacts", keep=args.keep):
        started = time.perf_counter()
        if Contact.objects.count() != args.contacts:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # the ORM's delete of millions takes hours
                    cursor.execute(
                        "TRUNCATE contacts_contact, contacts_listmembership, "
                        "contacts_donotcontact, contacts_contactlist CASCADE"
                    )
            else:
                Contact.objects.all().delete()
            lists = load_contacts(args.contacts)
        else:
            from contacts.models import ContactList

            lists = dict(ContactList.objects.values_list("name", "pk"))
        load_seconds = time.perf_counter() - started
        plans: list[tuple[str, str]] | None = [] if args.plans else None
        results = measure(lists, args.contacts, args.repeats, plans=plans)
        report(args.contacts, load_seconds, results, plans or ())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
