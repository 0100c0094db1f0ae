"""bench/contact_pages.py at a tiny size, so the 1,000,000-contact benchmark keeps working."""

import importlib.util
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
