"""Hostile files through the upload page, as the attacker of issue 14 sent them.

Each file is made here: a tiny XLSX whose <dimension> claims the whole sheet, one whose shared
strings inflate past the limit, a CSV of 20,000 columns and one with a 10 MB cell. The upload
request must answer at once without reading a single row (the spy below counts row reads),
never with a 500; the worker's read (run here as the worker would) is bounded by the same
limits and refuses with a message on the import page; a normal file still imports.
"""

import io
import re
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.importing import reading, services
from contacts.models import Contact, ContactImport, ContactList

pytestmark = pytest.mark.django_db
Status = ContactImport.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def contact_list():
    return ContactList.objects.create(name="Customers")


@pytest.fixture
def row_reads(monkeypatch):
    """Counts every reading of rows: CSV rows and XLSX workbooks opened by openpyxl."""
    calls = []
    iter_rows, load_workbook = reading.iter_rows, openpyxl.load_workbook

    def counted_iter_rows(*args, **kwargs):
        calls.append("csv-or-xlsx rows")
        return iter_rows(*args, **kwargs)

    def counted_load_workbook(*args, **kwargs):
        calls.append("workbook")
        return load_workbook(*args, **kwargs)

    monkeypatch.setattr(reading, "iter_rows", counted_iter_rows)
    monkeypatch.setattr(openpyxl, "load_workbook", counted_load_workbook)
    return calls


def upload(client, content: bytes, name: str, contact_list, callbacks=None):
    from django.db import transaction

    sent = []
    original = transaction.on_commit
    # The task is sent once the transaction commits: collected here instead (no broker).
    transaction.on_commit = lambda func, using=None, robust=False: sent.append(func)
    try:
        response = client.post(
            reverse("contacts:import-upload"),
            {
                "file": SimpleUploadedFile(name, content),
                "target": "contacts",
                "on_existing": "skip",
                "contact_list": contact_list.pk,
            },
        )
    finally:
        transaction.on_commit = original
    assert response.status_code in (302, 200), response.status_code
    return response


def read_as_the_worker_would() -> ContactImport:
    contact_import = ContactImport.objects.get()
    services.contact_import_inspect(import_id=contact_import.pk)
    contact_import.refresh_from_db()
    return contact_import


def workbook_bytes(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(xlsx: bytes, replace, added=()) -> bytes:
    """The same workbook with some members' XML rewritten (`replace(name, data)`), and members
    `added` as (name, chunks), streamed so that no test holds a bomb's inflated bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            data = replace(member.filename, source.read(member))
            target.writestr(member, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, chunks in added:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w", force_zip64=True) as stream:
                for chunk in chunks:
                    stream.write(chunk)
    return out.getvalue()


def test_a_workbook_claiming_the_whole_sheet_is_read_as_what_it_holds(
    client_in, contact_list, row_reads
):
    def claim_everything(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
        return data

    bomb = rewritten(
        workbook_bytes([["phone", "name"], ["380501234567", "Olena"], ["380671112233", "Petro"]]),
        claim_everything,
    )
    assert len(bomb) < 10_000 and b"XFD1048576" in zipfile.ZipFile(io.BytesIO(bomb)).read(
        "xl/worksheets/sheet1.xml"
    )

    response = upload(client_in, bomb, "bomb.xlsx", contact_list)
    assert response.status_code == 302
    assert row_reads == []  # the request read no row: the worker does
    page = client_in.get(response["Location"]).content.decode()
    assert "Reading your file…" in page
    assert 'hx-trigger="every 1s"' in page  # and the page polls for it

    contact_import = read_as_the_worker_would()
    assert contact_import.status == Status.UPLOADED
    assert contact_import.headers == ["phone", "name"]
    assert contact_import.rows_total < 1000  # not the million rows the file claims
    panel = client_in.get(
        reverse("contacts:import-status", args=[contact_import.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "hx-trigger" not in panel and 'id="mapping"' in panel

    # ...and it imports normally.
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    assert services.contact_import_analyse(import_id=contact_import.pk).status == Status.READY
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    assert services.contact_import_apply(import_id=contact_import.pk).status == Status.DONE
    assert set(Contact.objects.values_list("name", flat=True)) == {"Olena", "Petro"}


def test_a_workbook_whose_shared_strings_inflate_past_the_limit_is_refused_at_upload(
    client_in, contact_list, row_reads, settings
):
    settings.CONTACTS_IMPORT_XLSX_MAX_SHARED_STRINGS_MB = 100  # the default
    limit = 100 * 1024 * 1024

    def shared_strings():
        yield b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
        yield b'spreadsheetml/2006/main">'
        block = (b"<si><t>" + b"A" * 1000 + b"</t></si>") * 1024
        for _ in range(limit // len(block) + 2):
            yield block
        yield b"</sst>"

    def declare_them(name, data):
        # The workbook names its shared strings, as Excel's do.
        if name == "[Content_Types].xml":
            return data.replace(
                b"</Types>",
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
            )
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/'
                b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
            )
        return data

    bomb = rewritten(
        workbook_bytes([["phone", "name"], ["380501234567", "Olena"]]),
        declare_them,
        added=[("xl/sharedStrings.xml", shared_strings())],
    )
    assert len(bomb) < limit // 100  # a few hundred kilobytes on the wire

    response = upload(client_in, bomb, "strings.xlsx", contact_list)
    assert response.status_code == 200
    text = response.content.decode()
    assert re.search(r"This XLSX file (inflates to|is packed)", text)
    assert "Save the sheet as CSV" in text
    assert row_reads == []  # refused from the zip's directory, before openpyxl saw it
    assert ContactImport.objects.count() == 0


def test_a_csv_of_twenty_thousand_columns_is_refused_on_the_import_page(
    client_in, contact_list, row_reads
):
    header = ",".join(f"c{i}" for i in range(20_000))
    content = f"phone,{header}\n380501234567,{',' * 19_999}x\n".encode()

    response = upload(client_in, content, "wide.csv", contact_list)
    assert response.status_code == 302
    assert row_reads == []

    contact_import = read_as_the_worker_would()
    assert contact_import.status == Status.FAILED
    page = client_in.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Row 1 has 20,001 columns; imports take at most 300." in text
    assert 'id="mapping"' not in text and "Upload another file" in text
    assert len(page.content) < 50_000  # not a page of 20,000 selects


def test_a_csv_with_a_ten_megabyte_cell_is_refused_on_the_import_page(
    client_in, contact_list, row_reads
):
    content = b"phone,name\n380501234567," + b"x" * (10 * 1024 * 1024) + b"\n"

    response = upload(client_in, content, "long.csv", contact_list)
    assert response.status_code == 302
    assert row_reads == []

    contact_import = read_as_the_worker_would()
    assert contact_import.status == Status.FAILED
    text = client_in.get(response["Location"]).content.decode()
    assert "Line 2 is longer than 200,000 characters" in text
    assert "a cell holds at most 100,000" in text


def test_the_dry_run_is_bounded_by_the_same_limits(client_in, contact_list, settings):
    response = upload(
        client_in, b"phone,name,city\n380501234567,Olena,Kyiv\n", "people.csv", contact_list
    )
    assert response.status_code == 302
    contact_import = read_as_the_worker_would()
    assert contact_import.status == Status.UPLOADED
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    settings.CONTACTS_IMPORT_MAX_COLUMNS = 2  # the file changed, or the limit did
    services.contact_import_analyse(import_id=contact_import.pk)
    text = client_in.get(response["Location"]).content.decode()
    assert "Row 1 has 3 columns; imports take at most 2." in text
    assert Contact.objects.count() == 0
