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
def test_the_sql_that_makes_the_contacts_makes_the_rows_contact_row_describes():
    from django.db import connection

    bench = _bench()
    # Every name, city and list step, the rare name (i = 17), and numbers past seven digits.
    wanted = [*range(0, 400), 10_000_017, 99_999_999, 123_456_789]
    rows, params = bench.contact_rows_sql(400)
    with connection.cursor() as cursor:
        cursor.execute(rows, params)
        made = cursor.fetchall()
        # The far ones, through the same expressions on a series that starts there.
        far = rows.replace("generate_series(0, %s - 1)", "unnest(%s::bigint[])")
        cursor.execute(far, [*params[:-1], wanted[400:]])
        made += cursor.fetchall()
    for i, (phone, name, fields) in zip(wanted, made, strict=True):
        expected_phone, expected_name, expected_fields = bench.contact_row(i)
        # jsonb comes back as text through a plain cursor; its keys in its own order.
        assert (phone, name, json.loads(fields)) == (
            expected_phone,
            expected_name,
            json.loads(expected_fields),
        )
