"""bench/contact_pages.py at a tiny size, so the 1,000,000-contact benchmark keeps working."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "contact_pages.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_contact_pages", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db
def test_the_contact_pages_benchmark_runs_at_a_tiny_size(capsys):
    bench = _bench()
    lists = bench.load_contacts(400)
    results = bench.measure(lists, 400, repeats=1)
    bench.report(400, 0.1, results)
    out = capsys.readouterr().out
    assert "400 contacts loaded" in out
    assert len(results) == 19
    # A fixed number of queries per page, whatever the page (session, user and the
    # navigation's inbox count included).
    assert max(queries for *_rest, queries in results) <= 11


@pytest.mark.django_db
def test_the_sql_seed_makes_the_contacts_contact_row_describes():
    """The contacts are made by SQL at any size; contact_row(i) (the SQLite path, and the
    phones web_load reads) must describe the same ones."""
    from django.db import connection

    from contacts.models import Contact, DoNotContact, ListMembership

    if connection.vendor != "postgresql":
        pytest.skip("the SQL seed is PostgreSQL's")
    bench = _bench()
    lists = bench.load_contacts(2_000)
    made = list(Contact.objects.order_by("pk").values_list("phone", "name", "fields"))
    expected = [bench.contact_row(i) for i in range(2_000)]
    assert [(p, n, json.loads(f)) for p, n, f in expected] == made
    assert bench.RARE_NAME in {name for _phone, name, _fields in made}
    assert not Contact.objects.filter(search_pending=True).exists()
    members = ListMembership.objects.filter(contact_list_id=lists["Every second"]).count()
    assert members == 1_000
    assert DoNotContact.objects.count() == len(range(0, 2_000, 997))


@pytest.mark.django_db
def test_plans_explain_each_pages_main_query():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN (ANALYZE, BUFFERS) is PostgreSQL's")
    bench = _bench()
    lists = bench.load_contacts(400)
    plans: list[tuple[str, str]] = []
    bench.measure(lists, 400, repeats=1, plans=plans)
    assert len(plans) == 19
    by_page = dict(plans)
    first = by_page["contacts, first page"]
    assert first.startswith("main query, ") and '"contacts_contact"' in first
    assert "Buffers: shared" in first and "Execution Time" in first
    assert "Index" in by_page["search phone, one number typed nationally"]


@pytest.mark.django_db
def test_phone_sql_is_phone_of_in_sql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("web_load's SQL seed is PostgreSQL's")
    bench = _bench()
    wanted = [0, 1, 49, 50, 17, 9_999_999, 10_000_017, 123_456_789]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {bench.phone_sql('i')} FROM unnest(%s::bigint[]) "  # noqa: S608 (our SQL)
            "WITH ORDINALITY AS t(i, n) ORDER BY n",
            [wanted],
        )
        made = [row[0] for row in cursor.fetchall()]
    assert made == [bench.phone_of(i) for i in wanted]
