"""bench/import_contacts.py at a small size: the benchmark runs, and its figures add up."""

import importlib.util
from pathlib import Path

import pytest

from contacts.models import Contact

pytestmark = pytest.mark.django_db
BENCH = Path(__file__).resolve().parents[2] / "bench" / "import_contacts.py"


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_import_contacts", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_import_benchmark_runs_at_2000_rows(bench, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"

    figures = bench.run_benchmark(2000, tmp_path)

    # 5% invalid and 5% repeated numbers, as the benchmark file has.
    assert 60 <= figures["invalid"] <= 140
    assert 60 <= figures["duplicates"] <= 140
    assert figures["created"] == 2000 - figures["invalid"] - figures["duplicates"]
    assert figures["contacts_in_db"] == Contact.objects.count() == figures["created"]
    assert figures["rows_per_s"] > 0 and figures["copy_floor_s"] > 0
    assert "rows/s" in bench.report(figures)
    assert not list(tmp_path.glob("*.csv"))  # the generated file is removed
