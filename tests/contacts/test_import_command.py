"""`manage.py import_contacts`, on PostgreSQL in-process, and end to end on SQLite."""

# Cyrillic letters in these files are meant: the files people import are in Ukrainian.
# ruff: noqa: RUF001
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact, ContactField, ContactImport, ContactList

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

FILE = (
    "Phone;Ім'я;Місто;Order No.\n"
    "+380 50 123 4567;Олена;Київ;A-1\n"
    "380671234567;Тарас;Львів;A-2\n"
    "380671234567;Тарас;Львів;A-3\n"
    "12345;Short;Odesa;A-4\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def contacts_file(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(FILE, encoding="utf-8")
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_with_automatic_mapping_and_creates_fields(contacts_file):
    out, err = run(str(contacts_file), "--list", "Kyiv customers", "--create-list")

    assert "rows read                   4" in out
    assert "created                     2" in out
    assert "duplicates                  1" in out
    assert "invalid                     1" in out
    assert "row 5: “12345” is too short" in out
    assert "Rejected rows with reasons:" in out
    assert "checking" in err and "100%" in err  # the progress bar went to stderr
    # "Місто" means city: the new field takes the key a "Город" or "City" file will find.
    assert set(ContactField.objects.values_list("key", flat=True)) == {"city", "order_no"}
    olena = Contact.objects.get(phone="380501234567")
    assert (olena.name, olena.fields) == ("Олена", {"city": "Київ", "order_no": "A-1"})
    assert ContactList.objects.get(name="Kyiv customers").contacts.count() == 2
    # The command reads the file where it lies: no copy in the media folder.
    assert ContactImport.objects.get().file.name == ""


def test_explicit_map_uses_only_the_mapped_columns(contacts_file):
    ContactList.objects.create(name="Kyiv")
    ContactField.objects.create(key="city", label="City")

    run(str(contacts_file), "--list", "kyiv", "--map", "Phone=phone", "--map", "Місто=city")

    assert dict(Contact.objects.values_list("phone", "fields")) == {
        "380501234567": {"city": "Київ"},
        "380671234567": {"city": "Львів"},
    }
    assert set(Contact.objects.values_list("name", flat=True)) == {""}
    assert ContactField.objects.count() == 1


def test_a_dry_run_writes_nothing(contacts_file):
    ContactList.objects.create(name="Kyiv")
    out, _ = run(str(contacts_file), "--list", "Kyiv", "--dry-run")
    assert "nothing was written" in out
    assert re.search(r"would create +2\n", out)
    assert Contact.objects.count() == 0


def test_a_dry_run_into_a_list_to_create_creates_no_list(contacts_file):
    out, _ = run(str(contacts_file), "--list", "Kyiv fair", "--create-list", "--dry-run")
    assert "nothing was written" in out
    assert not ContactList.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--list", "Nope"], "No list named “Nope”. Add --create-list to create it."),
        (["--list", "Kyiv", "--map", "Phone"], "write it as column=field"),
        (["--list", "Kyiv", "--map", "Telephone=phone"], "the file has no column “Telephone”"),
        (["--list", "Kyiv", "--map", "Phone=phone", "--map", "Місто=cty"], "no field “cty”"),
        (["--list", "Kyiv", "--map", "Місто=name"], "Choose the column that holds the phone"),
    ],
)
def test_mistakes_get_a_clear_error(contacts_file, args, message):
    ContactList.objects.create(name="Kyiv")
    with pytest.raises(CommandError, match=message):
        run(str(contacts_file), *args)
    assert Contact.objects.count() == 0


def test_bad_files_get_a_clear_error_and_create_no_list(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty"):
        run(str(empty), "--list", "New", "--create-list")
    with pytest.raises(CommandError, match="No such file"):
        run(str(tmp_path / "missing.csv"), "--list", "New", "--create-list")
    assert not ContactList.objects.exists()


def test_the_command_exits_with_status_1_on_errors(tmp_path):
    result = _manage(tmp_path, "import_contacts", str(tmp_path / "missing.csv"), "--list", "x")
    assert result.returncode == 1
    assert "No such file" in result.stderr


def _manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'try.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CACHE_URL": "locmemcache://",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_same_import_works_on_sqlite_the_embedded_default(tmp_path, contacts_file):
    assert _manage(tmp_path, "migrate", "-v0").returncode == 0
    first = _manage(tmp_path, "import_contacts", str(contacts_file), "--list", "K", "--create-list")
    assert first.returncode == 0, first.stderr
    assert "created                     2" in first.stdout
    assert "duplicates                  1" in first.stdout

    contacts_file.write_text(
        "Phone;Ім'я;Місто;Order No.\n380501234567;Олена Шевченко;Київ;\n380931234567;Iryna;;\n",
        encoding="utf-8",
    )
    again = _manage(
        tmp_path, "import_contacts", str(contacts_file), "--list", "K", "--on-existing", "update"
    )
    assert again.returncode == 0, again.stderr
    assert "created                     1" in again.stdout
    assert "updated                     1" in again.stdout
    shown = _manage(
        tmp_path,
        "shell",
        "-c",
        "from contacts.models import Contact;"
        "c = Contact.objects.get(phone='380501234567');"
        "print(c.name, sorted(c.fields.items()), c.lists.count())",
    )
    assert shown.stdout.strip().splitlines()[-1] == (
        "Олена Шевченко [('city', 'Київ'), ('order_no', 'A-1')] 1"
    )


def test_the_upload_size_limit_is_not_the_command_s(contacts_file, settings):
    # CONTACTS_IMPORT_MAX_MB bounds what people upload; an operator's file of any size is read
    # where it lies, in the same flat memory (BENCHMARKS.md, "Contact import on customers' files").
    settings.CONTACTS_IMPORT_MAX_MB = 0
    out, _err = run(str(contacts_file), "--list", "Big", "--create-list")
    assert "Imported" in out
