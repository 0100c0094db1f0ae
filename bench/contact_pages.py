"""Contact pages at scale: load N contacts into a throwaway database and time the pages.

    .venv/bin/python bench/contact_pages.py                    # 1,000,000 contacts
    .venv/bin/python bench/contact_pages.py --contacts 20000 --repeats 3

Runs with DATABASE_URL (PostgreSQL for real figures) but never touches that database's data:
it creates a database beside it (`<name>_bench_contacts`), migrates it, loads the contacts
(PostgreSQL: COPY; elsewhere bulk_create), and drops it at the end unless --keep is given.
Every page is fetched through Django's test client, so the figures include the view, the
template and the queries, and the script also prints how many queries each page made.
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
    """phone_of in SQL, of the integer expression `number`."""
    return (
        f"'380' || (50 + mod({number}, 50)) || "
        f"lpad(({number})::text, greatest(7, length(({number})::text)), '0')"
    )


def contact_rows_sql(count: int) -> tuple[str, list]:
    """SELECT of the rows contact_row gives for 0 <= i < count, in that order (phone, name,
    fields): PostgreSQL makes them itself, so 10,000,000 contacts are never Python objects.
    tests/contacts/test_contact_pages_bench.py holds the two to the same rows."""
    return (
        f"SELECT {phone_sql('i')}, "
        "CASE WHEN i %% 100003 = 17 THEN %s "
        "ELSE (%s::text[])[i %% %s + 1] || ' ' || (%s::text[])[(i / 7) %% %s + 1] END, "
        "jsonb_build_object('first_name', (%s::text[])[i %% %s + 1], "
        "'city', (%s::text[])[i %% %s + 1], 'order_no', 'A-' || i) "
        "FROM generate_series(0, %s - 1) AS i ORDER BY i",
        [
            RARE_NAME,
            FIRST,
            len(FIRST),
            LAST,
            len(LAST),
            FIRST,
            len(FIRST),
            CITIES,
            len(CITIES),
            count,
        ],
    )


def load_contacts(count: int) -> dict[str, int]:
    """Loads `count` contacts and three lists (all, every 2nd, every 100th); returns list ids."""
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

    for key in ("first_name", "city", "order_no"):
        ContactField.objects.get_or_create(key=key, defaults={"label": key})
    lists = {
        name: ContactList.objects.get_or_create(name=name)[0].pk
        for name in ("Everyone", "Every second", "Every hundredth")
    }
    now = timezone.now()
    if connection.vendor == "postgresql":
        rows, params = contact_rows_sql(count)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO contacts_contact (phone, name, fields, created_at, updated_at) "
                f"SELECT phone, name, fields, %s, %s FROM ({rows}) AS made (phone, name, fields)",
                [now, now, *params],
            )
            for name, step in (("Everyone", 1), ("Every second", 2), ("Every hundredth", 100)):
                cursor.execute(
                    "INSERT INTO contacts_listmembership (contact_list_id, contact_id, added_at) "
                    "SELECT %s, id, %s FROM contacts_contact WHERE id %% %s = 0",
                    [lists[name], now, step],
                )
            cursor.execute("ANALYZE contacts_contact")
            cursor.execute("ANALYZE contacts_listmembership")
    else:
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


def measure(lists: dict[str, int], count: int, repeats: int) -> list[tuple[str, float, float, int]]:
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
    return results


def report(count: int, load_seconds: float, results) -> None:
    print(f"contact pages: {count:,} contacts loaded in {load_seconds:.1f} s")
    print("| page | median ms | max ms | queries |")
    print("|---|---|---|---|")
    for label, median, worst, queries in results:
        print(f"| {label} | {median:.0f} | {worst:.0f} | {queries} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from bench._database import own_database
    from contacts.models import Contact

    with own_database("bench_contacts", keep=args.keep):
        started = time.perf_counter()
        if Contact.objects.count() != args.contacts:
            Contact.objects.all().delete()
            lists = load_contacts(args.contacts)
        else:
            from contacts.models import ContactList

            lists = dict(ContactList.objects.values_list("name", "pk"))
        load_seconds = time.perf_counter() - started
        report(args.contacts, load_seconds, measure(lists, args.contacts, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
