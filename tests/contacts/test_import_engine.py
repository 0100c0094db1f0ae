"""Imports on real PostgreSQL, through the services the web page and the tasks call.

Every bad file of the issue is here: empty, no phone column, cp1251, ragged rows, formulas,
emoji, invalid and short numbers, duplicates, BOM, semicolons and tabs, XLSX; and the promises:
the dry run writes nothing, and a failed or cancelled import leaves every list as it was.
"""

# Cyrillic letters in these files are meant: the files people import are in Ukrainian.
# ruff: noqa: RUF001
import codecs
import csv
import gc
import io
import json

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connections

from audit.models import AuditEntry
from contacts.importing import engine, services, shaping
from contacts.models import (
    Contact,
    ContactField,
    ContactImport,
    ContactList,
    DoNotContact,
    ListMembership,
)

pytestmark = pytest.mark.django_db
Status = ContactImport.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONTACTS_DEFAULT_REGION = "UA"


def write(tmp_path, name, content: bytes | str):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def upload(path, **options) -> ContactImport:
    options.setdefault("list_id", ContactList.objects.get_or_create(name="Customers")[0].pk)
    with open(path, "rb") as stream:
        return services.contact_import_create(
            upload=File(stream, name=path.name),
            original_name=path.name,
            **options,
            enqueue=False,
        )


def dry_run(path, mapping=None, **options) -> ContactImport:
    contact_import = upload(path, **options)
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk,
        mapping=mapping if mapping is not None else contact_import.mapping,
        enqueue=False,
    )
    return services.contact_import_analyse(import_id=contact_import.pk)


def run_import(path, mapping=None, **options) -> ContactImport:
    contact_import = dry_run(path, mapping, **options)
    assert contact_import.status == Status.READY, contact_import.error
    assert services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    return services.contact_import_apply(import_id=contact_import.pk)


def counts(contact_import) -> dict[str, int]:
    return {outcome: figure["count"] for outcome, figure in contact_import.dry_run.items()}


def rejected_rows(contact_import) -> list[list[str]]:
    with contact_import.rejected_file.open("rb") as stream:
        text = stream.read().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def stage_exists(import_id) -> bool:
    return engine.staged_row_count(import_id) is not None


BASIC = (
    "phone,name,city\n"
    "+380 50 123 4567,Olena,Kyiv\n"
    "380671234567,Taras,Lviv\n"
    "0501234567,Olena again,Odesa\n"
    "12345,Short,Odesa\n"
    "3.80931234567E+11,Spreadsheet,Dnipro\n"
    '=HYPERLINK("http://evil"),Formula,Kyiv\n'
    "380931234568,Emoji 😀,=1+2\n"
    "380931234569,Ragged\n"
)


def test_a_file_is_imported_with_a_report_and_its_rejected_rows(tmp_path):
    contact_import = run_import(write(tmp_path, "basic.csv", BASIC))

    assert contact_import.status == Status.DONE
    assert (contact_import.rows_total, contact_import.rows_created) == (8, 4)
    assert (contact_import.rows_duplicate, contact_import.rows_invalid) == (1, 3)
    assert contact_import.rows_added_to_list == 4
    assert contact_import.progress_percent == 100
    contacts = {c.phone: (c.name, c.fields) for c in Contact.objects.all()}
    assert contacts == {
        "380501234567": ("Olena", {"city": "Kyiv"}),  # the first row wins over its duplicate
        "380671234567": ("Taras", {"city": "Lviv"}),
        "380931234567": ("Spreadsheet", {"city": "Dnipro"}),  # scientific notation repaired
        "380931234568": ("Emoji 😀", {"city": "=1+2"}),  # stored as text, never evaluated
    }
    members = ListMembership.objects.filter(contact_list=contact_import.contact_list)
    assert members.count() == 4
    assert ContactField.objects.filter(key="city").exists()  # created from the column
    assert rejected_rows(contact_import) == [
        ["phone", "name", "city", "row", "reason"],
        ["0501234567", "Olena again", "Odesa", "4", "duplicate: same number as row 2"],
        [
            "12345",
            "Short",
            "Odesa",
            "5",
            "“12345” is too short: 5 digits, and it is not a valid number in UA either",
        ],
        [
            '\'=HYPERLINK("http://evil")',  # neutralised against formula injection
            "Formula",
            "Kyiv",
            "7",
            '“=HYPERLINK("http://evil")” contains characters that are not digits',
        ],
        ["380931234569", "Ragged", "", "9", "the row has 2 cells but the header has 3 columns"],
    ]
    assert not stage_exists(contact_import.pk)
    assert contact_import.file.name == ""  # the upload is deleted; the report stays
    assert not list((tmp_path / "media" / "imports").glob("*/*/basic*.csv"))


def test_the_dry_run_counts_and_shows_examples_but_writes_no_contact(tmp_path):
    Contact.objects.create(phone="380671234567", name="Taras", fields={"city": "Lviv"})

    contact_import = dry_run(write(tmp_path, "basic.csv", BASIC), on_existing="update")

    assert contact_import.status == Status.READY
    assert counts(contact_import) == {
        "new": 3,
        "updated": 0,
        "unchanged": 1,
        "duplicate": 1,
        "invalid": 3,
    }
    examples = contact_import.dry_run["invalid"]["examples"]
    assert [example["row"] for example in examples] == [5, 7, 9]
    assert examples[0]["detail"].startswith("“12345” is too short")
    assert contact_import.dry_run["duplicate"]["examples"][0]["detail"] == "same number as row 2"
    assert Contact.objects.count() == 1
    assert ListMembership.objects.count() == 0
    assert stage_exists(contact_import.pk)  # kept for the import that follows


def test_known_numbers_are_skipped_or_updated_and_empty_cells_erase_nothing(tmp_path):
    ContactField.objects.create(key="city", label="City")
    ContactField.objects.create(key="vip", label="VIP")
    known = Contact.objects.create(
        phone="380501234567", name="Old name", fields={"city": "Lviv", "vip": "yes"}
    )
    same = Contact.objects.create(phone="380671234567", name="Taras", fields={"city": "Kyiv"})
    path = write(
        tmp_path,
        "again.csv",
        "phone,name,city,vip\n380501234567,New name,Kyiv,\n380671234567,,Kyiv,\n"
        "380931234567,Iryna,Odesa,no\n",
    )

    skipped = run_import(path, on_existing="skip")
    assert (skipped.rows_created, skipped.rows_updated, skipped.rows_unchanged) == (1, 0, 2)
    known.refresh_from_db()
    assert (known.name, known.fields) == ("Old name", {"city": "Lviv", "vip": "yes"})
    assert skipped.rows_added_to_list == 3  # known contacts still join the list

    updated = run_import(path, on_existing="update")
    assert (updated.rows_created, updated.rows_updated, updated.rows_unchanged) == (0, 1, 2)
    known.refresh_from_db()
    assert (known.name, known.fields) == ("New name", {"city": "Kyiv", "vip": "yes"})
    same.refresh_from_db()
    assert (same.name, same.fields) == ("Taras", {"city": "Kyiv"})
    assert updated.rows_added_to_list == 0  # they were all in the list already


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.csv", codecs.BOM_UTF8 + "Телефон,Ім'я\n380501234567,Олена\n".encode()),
        ("semicolon.csv", "Телефон;Ім'я\n380501234567;Олена\n".encode()),
        ("tab.tsv", "Телефон\tІм'я\n380501234567\tОлена\n".encode()),
        ("windows.csv", "Телефон;Имя\n380501234567;Олена\n".encode("cp1251")),
    ],
)
def test_cyrillic_files_in_every_encoding_and_delimiter(tmp_path, name, content):
    contact_import = run_import(write(tmp_path, name, content))
    assert contact_import.status == Status.DONE, contact_import.error
    assert list(Contact.objects.values_list("phone", "name")) == [("380501234567", "Олена")]


def test_xlsx_with_number_cells_and_formulas(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Mobile", "Name", "Note"])
    sheet.append([380501234567, "Olena", "=A2*2"])
    sheet.append([3.80671234567e11, "Taras", None])
    sheet.append(["12", "Short", None])
    path = tmp_path / "contacts.xlsx"
    workbook.save(path)

    contact_import = run_import(path)

    assert contact_import.status == Status.DONE, contact_import.error
    assert (contact_import.rows_created, contact_import.rows_invalid) == (2, 1)
    assert dict(Contact.objects.values_list("phone", "fields")) == {
        "380501234567": {"note": "=A2*2"},
        "380671234567": {},
    }


def test_several_name_columns_are_joined(tmp_path):
    path = write(tmp_path, "n.csv", "phone,first,last\n380501234567,Olena,Shevchenko\n")
    run_import(path, mapping={"0": "phone", "1": "name", "2": "name"})
    assert Contact.objects.get().name == "Olena Shevchenko"


def test_values_that_do_not_fit_are_rejected_per_row(tmp_path):
    long_name = "x" * 201
    # A NUL byte near the start means a binary file; further down it is one bad row.
    filler = "380931234567,ok\n" * 5000
    path = write(
        tmp_path,
        "long.csv",
        f"phone,name\n{filler}380501234567,{long_name}\n380671234567,Nul\x00byte\n",
    )
    contact_import = run_import(path)
    details = [e["detail"] for e in contact_import.dry_run["invalid"]["examples"]]
    assert details == [
        "the name is 201 characters long; at most 200",
        "a cell contains a NUL character (binary data), which is not text",
    ]
    assert list(Contact.objects.values_list("phone", flat=True)) == ["380931234567"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\x00\x01\x02binary", "not a CSV or XLSX file"),
        ("phone\n380501234567\n".encode("utf-16"), "UTF-16"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old Excel .xls file"),
    ],
)
def test_unreadable_files_are_refused_at_upload_and_nothing_is_kept(tmp_path, content, message):
    with pytest.raises(ValidationError, match=message):
        upload(write(tmp_path, "bad.csv", content))
    assert ContactImport.objects.count() == 0
    assert not any((tmp_path / "media").rglob("bad*"))


def test_a_file_without_a_phone_column_cannot_be_dry_run(tmp_path):
    contact_import = upload(write(tmp_path, "nophone.csv", "name,city\nOlena,Kyiv\n"))
    assert "phone" not in contact_import.mapping.values()
    with pytest.raises(ValidationError, match="Choose the column that holds the phone numbers"):
        services.contact_import_confirm_mapping(
            import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
        )
    assert ContactImport.objects.get().status == Status.UPLOADED


def test_a_new_list_is_created_only_when_the_import_is_applied(tmp_path, django_user_model):
    with pytest.raises(ValidationError):
        upload(write(tmp_path, "empty.csv", b""), list_id=None, new_list_name="Fresh")
    marketer = django_user_model.objects.create_user("olena", password="x" * 20)
    path = write(tmp_path, "ok.csv", "phone\n380501234567\n")
    ready = dry_run(path, list_id=None, new_list_name=" Fresh ", created_by_id=marketer.pk)
    # Uploaded and dry run: the name is the import's, no list exists and no history says one.
    assert (ready.status, ready.new_list_name, ready.contact_list) == (Status.READY, "Fresh", None)
    assert not ContactList.objects.filter(name="Fresh").exists()
    assert not AuditEntry.objects.filter(action="list-create").exists()

    services.contact_import_start(import_id=ready.pk, enqueue=False)
    done = services.contact_import_apply(import_id=ready.pk)
    assert done.status == Status.DONE
    assert done.contact_list.name == "Fresh"
    assert list(done.contact_list.contacts.values_list("phone", flat=True)) == ["380501234567"]
    assert done.rows_added_to_list == 1
    created = AuditEntry.objects.get(action="list-create")
    assert created.actor == marketer  # applied by a worker, on behalf of who uploaded


def test_a_cancelled_or_failed_import_leaves_no_new_list(tmp_path, monkeypatch):
    path = write(tmp_path, "ok.csv", "phone\n380501234567\n")
    cancelled = dry_run(path, list_id=None, new_list_name="Fresh")
    assert services.contact_import_cancel(import_id=cancelled.pk)

    failing = dry_run(path, list_id=None, new_list_name="Fresh")
    services.contact_import_start(import_id=failing.pk, enqueue=False)
    monkeypatch.setattr(engine, "_apply_contacts", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.contact_import_apply(import_id=failing.pk)

    assert ContactImport.objects.get(pk=failing.pk).status == Status.FAILED
    assert not ContactList.objects.filter(name="Fresh").exists()
    assert not AuditEntry.objects.filter(action="list-create").exists()


def test_a_new_list_name_taken_before_the_apply_fails_the_import_with_a_reason(tmp_path):
    ContactList.objects.create(name="Customers")
    with pytest.raises(ValidationError, match="A list named “customers” already exists"):
        upload(
            write(tmp_path, "a.csv", "phone\n380501234567\n"),
            list_id=None,
            new_list_name="customers",
        )
    path = write(tmp_path, "ok.csv", "phone\n380501234567\n")
    ready = dry_run(path, list_id=None, new_list_name="Fresh")
    ContactList.objects.create(name="FRESH")  # someone else took the name meanwhile
    services.contact_import_start(import_id=ready.pk, enqueue=False)
    failed = services.contact_import_apply(import_id=ready.pk)
    assert failed.status == Status.FAILED
    assert "A list named “Fresh” was created after this file was uploaded" in failed.error
    assert "Nothing was written to the contacts" in failed.error
    assert not Contact.objects.exists()
    assert list(ContactList.objects.values_list("name", flat=True).order_by("pk")) == [
        "Customers",
        "FRESH",
    ]
    assert not stage_exists(ready.pk)


def test_a_file_that_breaks_mid_way_fails_the_dry_run_and_keeps_nothing(tmp_path):
    content = b"phone,name\n" + b"380501234567,Olena\n" * 5000 + b"380671234567,\xff\n"
    contact_import = dry_run(write(tmp_path, "broken.csv", content))
    assert contact_import.status == Status.FAILED
    assert "stops being valid utf-8" in contact_import.error
    assert "Nothing was written" in contact_import.error
    assert not stage_exists(contact_import.pk)
    assert gc.isenabled()  # the cycle collector paused for the rows is back on after a failure


def test_cancelling_the_dry_run_stops_it_and_drops_the_staged_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "STAGE_CHUNK", 2)
    monkeypatch.setattr(shaping, "BATCH_ROWS", 2)
    path = write(tmp_path, "c.csv", "phone\n" + "".join(f"38050123450{i}\n" for i in range(8)))
    contact_import = upload(path)
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    chunks_seen = []

    def user_clicks_cancel(rows_read):
        chunks_seen.append(rows_read)
        assert not gc.isenabled()  # paused while rows stream through (engine.py says why)
        services.contact_import_cancel(import_id=contact_import.pk)

    result = services.contact_import_analyse(
        import_id=contact_import.pk, on_progress=user_clicks_cancel
    )

    assert chunks_seen == [2]  # it stopped at the first chunk after the cancel
    assert gc.isenabled()
    assert result.status == Status.CANCELLED
    assert "Nothing was written" in result.error
    assert not stage_exists(contact_import.pk)
    assert services.contact_import_analyse(import_id=contact_import.pk) is None


def test_the_tasks_do_nothing_when_the_import_has_moved_on(tmp_path):
    contact_import = run_import(write(tmp_path, "ok.csv", "phone\n380501234567\n"))
    assert services.contact_import_analyse(import_id=contact_import.pk) is None
    assert services.contact_import_apply(import_id=contact_import.pk) is None
    assert not services.contact_import_start(import_id=contact_import.pk)
    assert not services.contact_import_cancel(import_id=contact_import.pk)
    assert Contact.objects.count() == 1


def test_a_queued_import_cancelled_before_its_task_runs_leaves_nothing_behind(tmp_path):
    contact_import = dry_run(write(tmp_path, "ok.csv", "phone\n380501234567\n"))
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    assert services.contact_import_cancel(import_id=contact_import.pk)
    assert stage_exists(contact_import.pk)  # the task may be running: it is the task's to drop

    assert services.contact_import_apply(import_id=contact_import.pk) is None

    assert not stage_exists(contact_import.pk)
    assert ContactImport.objects.get().file.name == ""
    assert Contact.objects.count() == 0


def test_staged_rows_lost_before_the_import_are_read_again(tmp_path):
    contact_import = dry_run(write(tmp_path, "ok.csv", "phone,name\n380501234567,Olena\n"))
    engine.drop_stage(contact_import.pk)  # as after a PostgreSQL crash (UNLOGGED table)
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    done = services.contact_import_apply(import_id=contact_import.pk)
    assert done.status == Status.DONE
    assert done.rows_created == 1


def _list_with_members(*phones: str) -> ContactList:
    contact_list = ContactList.objects.create(name="Loyal")
    for phone in phones:
        ListMembership.objects.create(
            contact_list=contact_list, contact=Contact.objects.create(phone=phone, name="Kept")
        )
    return contact_list


def test_a_failed_import_keeps_nothing_and_the_list_keeps_what_it_held(tmp_path, monkeypatch):
    loyal = _list_with_members("380501234567")
    path = write(tmp_path, "f.csv", "phone,name\n380501234567,Renamed\n380671234567,New person\n")
    contact_import = dry_run(path, on_existing="update", list_id=loyal.pk)
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    real_apply = engine._apply_contacts

    def apply_then_break(spec, cursor, now, step):
        real_apply(spec, cursor, now, step)  # every row written, inside the transaction…
        raise RuntimeError("disk full")  # …and then the database gives up

    monkeypatch.setattr(engine, "_apply_contacts", apply_then_break)
    with pytest.raises(RuntimeError):
        services.contact_import_apply(import_id=contact_import.pk)

    failed = ContactImport.objects.get(pk=contact_import.pk)
    assert failed.status == Status.FAILED
    assert "Nothing was written to the contacts" in failed.error
    assert list(Contact.objects.values_list("phone", "name")) == [("380501234567", "Kept")]
    assert list(loyal.contacts.values_list("phone", flat=True)) == ["380501234567"]
    assert not stage_exists(contact_import.pk)


@pytest.mark.django_db(transaction=True)
def test_a_cancel_while_writing_rolls_every_row_back(tmp_path):
    loyal = _list_with_members("380501234567")
    path = write(tmp_path, "c.csv", "phone,name\n380671234567,New\n380931234567,Newer\n")
    contact_import = dry_run(path, list_id=loyal.pk)
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)

    def cancel_from_the_web_page(rows_done):
        # The cancel arrives over another connection, as the user's click would.
        web = connections.create_connection("default")
        try:
            with web.cursor() as cursor:
                cursor.execute(
                    "UPDATE contacts_contactimport SET status = 'cancelled' WHERE id = %s",
                    [contact_import.pk],
                )
        finally:
            web.close()

    result = services.contact_import_apply(
        import_id=contact_import.pk, on_progress=cancel_from_the_web_page
    )

    assert result.status == Status.CANCELLED
    assert list(Contact.objects.values_list("phone", flat=True)) == ["380501234567"]
    assert list(loyal.contacts.values_list("phone", flat=True)) == ["380501234567"]
    assert not stage_exists(contact_import.pk)


def test_opt_outs_are_imported_into_the_do_not_contact_list(tmp_path, django_user_model):
    user = django_user_model.objects.create_user("ops", password="a-long-test-password")
    DoNotContact.objects.create(phone="380501234567", reason="asked by phone")
    path = write(
        tmp_path,
        "stop.csv",
        "phone,reason,name\n380501234567,STOP reply\n380671234567,STOP reply,x\n"
        "380931234567,,y\nnot a number,,z\n",
    )
    # The first data row is ragged on purpose: 2 cells for 3 columns.
    contact_import = run_import(
        path,
        target=ContactImport.Target.DO_NOT_CONTACT,
        list_id=None,
        reason="Imported from the old CRM",
        created_by_id=user.pk,
    )

    assert contact_import.status == Status.DONE, contact_import.error
    assert (contact_import.rows_created, contact_import.rows_invalid) == (2, 2)
    entries = {e.phone: (e.reason, e.source, e.created_by_id) for e in DoNotContact.objects.all()}
    assert entries == {
        "380501234567": ("asked by phone", "manual", None),
        "380671234567": ("STOP reply", "import", user.pk),
        "380931234567": ("Imported from the old CRM", "import", user.pk),
    }
    assert Contact.objects.count() == 0


def test_opt_out_reasons_are_updated_only_when_asked(tmp_path):
    DoNotContact.objects.create(phone="380501234567", reason="old")
    path = write(tmp_path, "stop.csv", "phone,reason\n380501234567,new reason\n")
    skipped = run_import(path, target="do_not_contact", list_id=None)
    assert (skipped.rows_updated, skipped.rows_unchanged) == (0, 1)
    assert DoNotContact.objects.get().reason == "old"
    updated = run_import(path, target="do_not_contact", list_id=None, on_existing="update")
    assert updated.rows_updated == 1
    assert DoNotContact.objects.get().reason == "new reason"


TRICKY_ROWS = [
    ["380501234567", "Tab\there", 'Back\\slash "q"\nline', "  padded  "],
    ["380671234567", "Olena", "Kyiv", "carriage\rreturn"],
    ["bad\x00phone", "x", "y", ""],
    ["380931234567", "N" * 201, "Kyiv", ""],
    ["380661234567", "Iryna", "L" * 1001, ""],
    ["380631234567", "Nul\x00name", "Kyiv", ""],
    ["380731234567", "", "", ""],
    ["380951234567", "Юлія", "Київ", "\\N"],
    ["380961234567", "Taras", "Lviv"],
    ["+380 97 123 4567", "Andrii", "Odesa", "  "],
]


def _staged(contact_import) -> list[tuple]:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT row_no, phone, name, reason, error, fields, dup_of "  # noqa: S608
            f"FROM {engine.stage_table_name(contact_import.pk)} ORDER BY row_no"
        )
        # Django reads jsonb from a raw cursor as text.
        return [
            (*row[:5], json.loads(row[5]) if row[5] is not None else None, row[6])
            for row in cursor.fetchall()
        ]


def test_fast_and_exact_staging_agree_on_values_copy_would_misread(tmp_path, monkeypatch):
    """The per-batch fast path and the exact per-value path stage exactly the same rows."""
    monkeypatch.setattr(shaping, "BATCH_ROWS", 1)  # each row is its own batch: fast if it can
    lines = ["phone,name,city,note"]
    stream = io.StringIO()
    # The upload refuses NUL bytes in the file's first 64 KiB (binary files): pad past them.
    padding = [["380501111111", "Pad", "Kyiv", "p" * 999]] * 70
    csv.writer(stream).writerows([*padding, *TRICKY_ROWS])
    path = write(tmp_path, "tricky.csv", "\n".join(lines) + "\n" + stream.getvalue())
    mapping = {"0": "phone", "1": "name", "2": "field:city", "3": "field:note"}
    ContactField.objects.get_or_create(key="city", defaults={"label": "City"})
    ContactField.objects.get_or_create(key="note", defaults={"label": "Note"})
    fast = _staged(dry_run(path, mapping=mapping))
    monkeypatch.setattr(
        shaping, "fast_line_function", lambda shape, **_: lambda row_no, cells: None
    )
    exact = _staged(dry_run(path, mapping=mapping))
    assert fast == exact
    by_row = {row[0] - len(padding): row for row in fast}
    assert by_row[2][2:6] == (
        "Tab\there",
        "",
        None,
        {"city": 'Back\\slash "q"\nline', "note": "padded"},
    )
    assert by_row[3][5] == {"city": "Kyiv", "note": "carriage\rreturn"}
    assert by_row[4][1:5] == (
        None,
        "",
        "",
        "“bad\ufffdphone” contains characters that are not digits",
    )
    assert by_row[5][4] == "the name is 201 characters long; at most 200"
    assert by_row[6][4] == "the value of city is 1001 characters long; at most 1000"
    assert by_row[7][4] == "a cell contains a NUL character (binary data), which is not text"
    assert by_row[8][2:6] == ("", "", None, {})
    assert by_row[9][2:6] == ("Юлія", "", None, {"city": "Київ", "note": "\\N"})
    assert by_row[10][4] == "the row has 3 cells but the header has 4 columns"
    assert by_row[11][1:6] == ("380971234567", "Andrii", "", None, {"city": "Odesa"})


def test_clean_batches_take_the_fast_path(tmp_path, monkeypatch):
    rows = [["380501234567", "Olena", "Kyiv"], ["380671234567", "", " Lviv "]]
    stream = io.StringIO()
    csv.writer(stream).writerows([["phone", "name", "city"], *rows])
    path = write(tmp_path, "clean.csv", stream.getvalue())
    ContactField.objects.get_or_create(key="city", defaults={"label": "City"})

    def exact_path_refused(*args):
        raise AssertionError("a clean batch took the exact path")

    monkeypatch.setattr(shaping, "copy_csv", exact_path_refused)
    mapping = {"0": "phone", "1": "name", "2": "field:city"}
    staged = _staged(dry_run(path, mapping=mapping))
    assert [row[1:6] for row in staged] == [
        ("380501234567", "Olena", "", None, {"city": "Kyiv"}),
        ("380671234567", "", "", None, {"city": "Lviv"}),
    ]


@pytest.mark.parametrize("bits", [8, shaping.SeenNumbers.BITS])
def test_duplicates_are_exact_however_often_the_seen_numbers_guess_wrong(
    tmp_path, monkeypatch, bits
):
    # 8 bits: nearly every number "may have been seen", so SQL must sort out every guess.
    monkeypatch.setattr(shaping.SeenNumbers, "BITS", bits)
    monkeypatch.setattr(shaping, "BATCH_ROWS", 7)  # flags must carry across batches
    phones = [f"3805012345{i:02d}" for i in range(40)]
    rows = [*phones, phones[3], "+380 50 123 4503", phones[39], "12345", phones[0], "bad"]
    path = write(tmp_path, "d.csv", "phone\n" + "\n".join(rows) + "\n")

    contact_import = dry_run(path)

    assert counts(contact_import) == {
        "new": 40,
        "updated": 0,
        "unchanged": 0,
        "duplicate": 4,
        "invalid": 2,
    }
    staged = {row[0]: row[6] for row in _staged(contact_import)}
    # Row numbers as a spreadsheet shows them: the header is row 1.
    assert [staged[n] for n in (42, 43, 44, 46)] == [5, 5, 41, 2]
    assert all(staged[n] is None for n in range(2, 42))


def analyse_counting_file_reads(path, monkeypatch) -> tuple:
    """Upload, map and analyse the file; also returns one entry per time the file was read."""
    contact_import = upload(path)
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    reads = []
    real_iter_rows = engine.iter_rows
    monkeypatch.setattr(
        engine, "iter_rows", lambda *a, **k: reads.append(1) or real_iter_rows(*a, **k)
    )
    return services.contact_import_analyse(import_id=contact_import.pk), reads


def test_the_rejected_rows_come_from_the_rows_set_aside_while_staging(tmp_path, monkeypatch):
    path = write(tmp_path, "basic.csv", BASIC)
    contact_import, reads = analyse_counting_file_reads(path, monkeypatch)

    assert reads == [1]  # staging read the file; the report did not read it again
    assert [row[3:] for row in rejected_rows(contact_import)[1:]] == [
        ["4", "duplicate: same number as row 2"],
        ["5", "“12345” is too short: 5 digits, and it is not a valid number in UA either"],
        ["7", '“=HYPERLINK("http://evil")” contains characters that are not digits'],
        ["9", "the row has 2 cells but the header has 3 columns"],
    ]


def test_rows_only_postgresql_rejects_make_the_report_read_the_file_again(tmp_path, monkeypatch):
    long_name = "x" * 201
    path = write(tmp_path, "long.csv", f"phone,name\n380931234567,ok\n380501234567,{long_name}\n")
    contact_import, reads = analyse_counting_file_reads(path, monkeypatch)

    assert reads == [1, 1]
    assert rejected_rows(contact_import)[1:] == [
        ["380501234567", long_name, "3", "the name is 201 characters long; at most 200"]
    ]


@pytest.mark.django_db(transaction=True)
def test_applying_into_a_new_list_reports_progress_without_waiting_on_itself(
    tmp_path, django_user_model
):
    """Committed rows, as a worker sees them: the progress goes to the import's row through a
    second connection while the apply's transaction is open, so the apply must not have written
    that row first (it did once: the new list was recorded on it, and the progress waited for
    the apply's lock for ever). A lock wait here fails after 5 s instead of hanging."""
    from django.db import connection

    options = connection.settings_dict.setdefault("OPTIONS", {})
    previous = options.get("options")
    options["options"] = "-c lock_timeout=5000"
    try:
        marketer = django_user_model.objects.create_user("olena", password="x" * 20)
        path = write(tmp_path, "ok.csv", "phone\n380501234567\n380501234568\n")
        ready = dry_run(path, list_id=None, new_list_name="Fresh", created_by_id=marketer.pk)
        services.contact_import_start(import_id=ready.pk, enqueue=False)
        done = services.contact_import_apply(import_id=ready.pk)
    finally:
        if previous is None:
            options.pop("options", None)
        else:
            options["options"] = previous
    assert done.status == Status.DONE, done.error
    assert done.contact_list.name == "Fresh"
    assert done.contact_list.contacts.count() == 2
