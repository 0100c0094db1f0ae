"""CSV cells with hostile text, imported by the real importer and shown by the real pages."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.html import escape

from contacts.models import Contact

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKER = '"><img src=x onerror=alert(1)>'
FORMULA = "=cmd|' /C calc'!A0"
RTL = "\u202egnp.exe\u202c"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _write(path, rows) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    path.write_text(
        "Phone,Name,City\n" + "".join(",".join(cell(c) for c in row) + "\n" for row in rows),
        encoding="utf-8",
    )
    return str(path)


def _import(path: str) -> str:
    out = io.StringIO()
    call_command(
        "import_contacts",
        path,
        "--list",
        "Hostile",
        "--create-list",
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def test_hostile_cells_are_imported_as_text_and_shown_escaped(client_in, tmp_path):
    rows = [
        ("+380501111111", SCRIPT, ATTRIBUTE_BREAKER),
        ("+380502222222", FORMULA, RTL),
        ("+380503333333", "x" * 5000, "y" * 5000),
        ("+380504444444", "Olena", "Kyiv"),
    ]
    report = _import(_write(tmp_path / "hostile.csv", rows))
    stored = {c.phone: c for c in Contact.objects.all()}
    # Text kept exactly as it was in the file.
    assert stored["380501111111"].name == SCRIPT
    assert ATTRIBUTE_BREAKER in stored["380501111111"].fields.values()
    assert stored["380502222222"].name == FORMULA
    assert RTL in stored["380502222222"].fields.values()
    assert stored["380504444444"].name == "Olena"
    # A cell too long for its column is kept or refused with a reason; never a crash.
    if "380503333333" not in stored:
        assert "row 4" in report, report

    html = client_in.get(reverse("contacts:contact-index")).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert escape(SCRIPT) in html
    assert escape(FORMULA) in html


def test_a_file_with_nul_bytes_is_refused_clearly_and_nothing_is_written(tmp_path):
    path = _write(tmp_path / "nul.csv", [("+380501111111", "Ole\x00na", "Kyiv")])
    with pytest.raises(CommandError, match="not a CSV or XLSX file"):
        _import(path)
    assert not Contact.objects.exists()
