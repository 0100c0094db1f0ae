"""bench/import_compare.py at a small size: both importers run and leave the same contacts."""

import importlib.util
from pathlib import Path

import pytest

from contacts.models import Contact, ContactList

pytestmark = pytest.mark.django_db
BENCH = Path(__file__).resolve().parents[2] / "bench" / "import_compare.py"


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_import_compare", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_comparison_runs_both_importers_on_one_file(bench, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"

    figures = bench.run_comparison(400, tmp_path)

    # run_comparison itself fails when the two imports leave different contacts.
    assert figures["contacts"] == Contact.objects.count()
    assert 400 * 0.8 <= figures["contacts"] <= 400 * 0.95
    assert figures["invalid"] > 0
    assert figures["ratio"] == figures["django_import_export_s"] / figures["ours_s"]
    assert ContactList.objects.get().contacts.count() == figures["contacts"]
    text = bench.report(figures)
    assert "figure: ours x times faster = " in text
    assert not list(tmp_path.glob("*.csv"))


def test_the_resource_refuses_a_bad_number_as_an_invalid_row(bench):
    import tablib

    dataset = tablib.Dataset(
        ["380501234567", "Olena", "Kyiv", "A-1"],
        ["12345", "Taras", "Lviv", "A-2"],
        headers=["phone", "first_name", "city", "order_no"],
    )
    result = bench.contact_resource().import_data(dataset)

    assert not result.has_errors()
    assert result.totals["new"] == 1 and result.totals["invalid"] == 1
    contact = Contact.objects.get()
    assert contact.phone == "380501234567"
    assert contact.fields == {"first_name": "Olena", "city": "Kyiv", "order_no": "A-1"}


def test_the_comparison_notices_when_the_importers_disagree(bench):
    with pytest.raises(RuntimeError, match="disagree"):
        bench._check_same_contacts({"380501234567": {}}, {"380661234567": {}}, set())
    with pytest.raises(RuntimeError, match="other fields"):
        bench._check_same_contacts({"380501234567": {"a": "1"}}, {"380501234567": {}}, set())
    bench._check_same_contacts({"380501234567": {"a": "1"}}, {"380501234567": {}}, {"380501234567"})
