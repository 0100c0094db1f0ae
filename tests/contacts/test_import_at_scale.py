"""The import on files as customers export them, and what lets it write a million rows quickly.

- The messy corpus (bench/messy_corpus.py) stages the same rows on the fast path as on the exact
  one, and only the rows that need quoting leave the fast path.
- Numbers phonenumbers refuses leave reference cycles; staging frees them batch by batch.
- Imported contacts skip the GIN search indexes (`search_pending`) and are found all the same,
  before and after the catch-up task adds them.
- A phone prefix is a range of the unique phone index (no second, pattern-ops index to write).
- Memberships have no foreign keys; deleting contacts or lists by any path still deletes them,
  and an import into a list deleted meanwhile keeps nothing.
- A first import into an empty table checks no number against it.
- The rows whose number may repeat are staged apart: marking duplicates rewrites only them, and
  the first duplicates shown are looked for among them only.
"""

import csv
import gc
import importlib.util
import io
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import search_index
from contacts.importing import engine, services, shaping
from contacts.models import Contact, ContactField, ContactImport, ContactList, ListMembership
from contacts.selectors import (
    ContactFilters,
    contacts_search,
    do_not_contact_search,
    phone_starts_with,
)
from tests.contacts.test_import_engine import (
    _staged,
    counts,
    dry_run,
    run_import,
    upload,
    write,
)

pytestmark = pytest.mark.django_db
Status = ContactImport.Status
CORPUS = Path(__file__).resolve().parents[2] / "bench" / "messy_corpus.py"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def corpus():
    spec = importlib.util.spec_from_file_location("bench_messy_corpus", CORPUS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rejected_report(contact_import: ContactImport) -> str:
    contact_import.refresh_from_db()
    with contact_import.rejected_file.open("rb") as stream:
        return stream.read().decode("utf-8")


def test_the_messy_corpus_stages_the_same_rows_on_the_fast_and_the_exact_path(
    corpus, tmp_path, monkeypatch
):
    path = tmp_path / "messy.csv"
    corpus.write_messy_csv(path, 3000, seed=7)
    fast_import = dry_run(path)
    assert fast_import.status == Status.READY, fast_import.error
    fast, fast_report = _staged(fast_import), _rejected_report(fast_import)
    # Every kind of row is there: new, repeated and refused numbers.
    figures = fast_import.dry_run
    assert figures["new"]["count"] > 2000
    assert figures["duplicate"]["count"] > 50 and figures["invalid"]["count"] > 100

    monkeypatch.setattr(
        shaping, "fast_line_function", lambda shape, **_: lambda row_no, cells: None
    )
    exact_import = dry_run(path, mapping=fast_import.mapping)
    assert _staged(exact_import) == fast
    assert _rejected_report(exact_import) == fast_report


def test_only_the_rows_that_need_quoting_leave_the_fast_path(tmp_path, monkeypatch):
    rows = [["380501234567", "Olena", "Kyiv"] for _ in range(5)]
    rows = [[f"38050123456{i}", *rest] for i, (_, *rest) in enumerate(rows)]
    rows[1][2] = "control \x01 and \x1f characters"
    rows[2][2] = 'said "call later"'
    rows[3][2] = "line one\nline two"
    rows[4][2] = "pasted\tfrom a form"
    stream = io.StringIO()
    csv.writer(stream).writerows([["phone", "name", "note"], *rows])
    path = write(tmp_path, "quotes.csv", stream.getvalue())
    ContactField.objects.get_or_create(key="note", defaults={"label": "Note"})
    quoted_rows: list[int] = []
    make_quoted_line = shaping.quoted_line_function

    def recording_quoted_line_function(shape):
        quoted_line = make_quoted_line(shape)

        def recording_quoted_line(row_no, cells, phone, maybe):
            quoted_rows.append(row_no)
            return quoted_line(row_no, cells, phone, maybe)

        return recording_quoted_line

    def exact_path_refused(rows):
        raise AssertionError("a row took the exact path")

    monkeypatch.setattr(shaping, "quoted_line_function", recording_quoted_line_function)
    monkeypatch.setattr(shaping, "copy_csv", exact_path_refused)
    staged = _staged(dry_run(path, mapping={"0": "phone", "1": "name", "2": "field:note"}))

    # Quotes and tabs need no quoting in the COPY (shaping.COPY_OPTIONS); a line break and the
    # COPY's own control characters do. The file's rows 3 and 5 (the header is row 1).
    assert quoted_rows == [3, 5]
    assert [row[5] for row in staged] == [
        {"note": "Kyiv"},
        {"note": "control \x01 and \x1f characters"},
        {"note": 'said "call later"'},
        {"note": "line one\nline two"},
        {"note": "pasted\tfrom a form"},
    ]


def test_staging_frees_the_cycles_refused_numbers_leave_batch_by_batch(tmp_path, monkeypatch):
    # "8 067 …" (the old trunk prefix) goes through phonenumbers' parse, whose refusal leaves an
    # exception in a frame its traceback holds: a cycle only the collector frees, and staging
    # pauses the automatic collector (engine._cyclic_gc_paused).
    monkeypatch.setattr(shaping, "BATCH_ROWS", 500)
    rows = [[f"8 067 {i:03d} {i % 100:02d} {i % 97:02d}", "Olena"] for i in range(3000)]
    stream = io.StringIO()
    csv.writer(stream).writerows([["phone", "name"], *rows])
    path = write(tmp_path, "trunk.csv", stream.getvalue())
    contact_import = upload(path)
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping={"0": "phone", "1": "name"}, enqueue=False
    )
    spec = services._spec(ContactImport.objects.get(pk=contact_import.pk))
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        assert engine.stage_rows(spec) == 3000
        left = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
        engine.drop_stage(contact_import.pk)
    # Without the per-batch collection: 11 objects a refused number, 33,000 here.
    assert left < 2000


def _found(**filters) -> list[str]:
    found = contacts_search(filters=ContactFilters(**filters))
    return sorted(found.values_list("phone", flat=True))


def test_imported_contacts_are_found_before_and_after_the_search_catch_up(
    tmp_path, django_capture_on_commit_callbacks
):
    path = write(
        tmp_path,
        "people.csv",
        "phone,name,city\n380501112233,Olena Kovalenko,Odesa\n380671112233,Taras,Zürich\n",
    )
    with django_capture_on_commit_callbacks() as callbacks:
        contact_import = run_import(path)
    assert contact_import.status == Status.DONE
    assert any("contacts_search_catch_up_task" in repr(callback) for callback in callbacks)
    assert set(Contact.objects.values_list("search_pending", flat=True)) == {True}
    for _round in ("waiting", "indexed"):
        assert _found(text="kovalenko") == ["380501112233"]
        assert _found(text="zürich") == ["380671112233"]  # a field value
        assert _found(name="TARAS") == ["380671112233"]
        assert _found(field_key="city", field_value="Odesa") == ["380501112233"]
        assert _found(text="+380 67 111") == ["380671112233"]
        assert search_index.search_index_catch_up(batch=1) in (2, 0)
    assert not search_index.search_index_waiting()


def test_an_update_import_sends_the_changed_contacts_back_to_the_catch_up(tmp_path):
    Contact.objects.create(phone="380501112233", name="Old name")
    path = write(tmp_path, "update.csv", "phone,name\n380501112233,New name\n")
    contact_import = run_import(path, on_existing=ContactImport.OnExisting.UPDATE)
    assert contact_import.rows_updated == 1
    contact = Contact.objects.get()
    assert (contact.name, contact.search_pending) == ("New name", True)
    assert _found(text="new name") == ["380501112233"]


def test_contacts_made_one_by_one_go_straight_into_the_search_indexes():
    assert Contact.objects.create(phone="380501112233", name="Olena").search_pending is False


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        # The test tables are tiny: forbid the sequential scan to see which indexes can serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Unordered: walking the primary key in order would serve any filter.
        sql, params = queryset.order_by().query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's partial GIN indexes")
def test_each_half_of_a_search_has_an_index():
    plan = _plan(contacts_search(filters=ContactFilters(text="olena")))
    assert "contact_name_upper_trgm" in plan
    assert "contact_field_values_trgm" in plan
    assert "contact_search_pending" in plan
    plan = _plan(contacts_search(filters=ContactFilters(field_key="city", field_value="Kyiv")))
    assert "contact_fields_gin" in plan and "contact_search_pending" in plan


@pytest.mark.parametrize(
    ("prefix", "found"),
    [
        ("3805", ["380501112233", "380509999999", "3805"]),
        ("38059", []),
        ("38050999", ["380509999999"]),
        ("3809", ["380999000000"]),
        ("39", ["399", "399999999999"]),
        ("99", ["99", "999999999"]),
        ("\uff13\uff18", []),  # full-width digits: nothing stored starts with them
    ],
)
def test_a_phone_prefix_is_a_range_of_the_unique_index(prefix, found):
    for phone in (
        "3805", "380501112233", "380509999999", "3806", "380999000000", "381",
        "399", "399999999999", "4", "99", "999999999", "98999",
    ):  # fmt: skip
        Contact.objects.create(phone=phone)
    matching = Contact.objects.filter(phone_starts_with(prefix)).order_by("phone")
    assert list(matching.values_list("phone", flat=True)) == sorted(found)
    assert sorted(found) == sorted(
        p for p in Contact.objects.values_list("phone", flat=True) if p.startswith(prefix)
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index plans")
def test_phone_prefix_searches_read_the_unique_phone_index():
    for filters in (ContactFilters(phone="+380 50"), ContactFilters(text="+380 50 12")):
        assert "contacts_contact_phone_key" in _plan(contacts_search(filters=filters))
    assert "contacts_donotcontact_phone_key" in _plan(do_not_contact_search(phone="050 12"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%%varchar_pattern_ops%%' "
            "AND tablename IN ('contacts_contact', 'contacts_donotcontact')"
        )
        assert cursor.fetchone()[0] == 0  # migration 0010: no second index to write


def test_deleting_contacts_or_lists_any_way_deletes_their_memberships():
    olena = Contact.objects.create(phone="380501112233")
    taras = Contact.objects.create(phone="380671112233")
    vip, other = ContactList.objects.create(name="VIP"), ContactList.objects.create(name="Other")
    for contact in (olena, taras):
        for contact_list in (vip, other):
            ListMembership.objects.create(contact=contact, contact_list=contact_list)

    olena.delete()  # the ORM's own cascade
    with connection.cursor() as cursor:  # and what bypasses it (the triggers of migration 0009)
        cursor.execute("DELETE FROM contacts_contactlist WHERE id = %s", [other.pk])
    remaining = set(ListMembership.objects.values_list("contact_id", "contact_list_id"))
    assert remaining == {(taras.pk, vip.pk)}


def test_an_import_into_a_list_deleted_meanwhile_keeps_nothing(tmp_path, monkeypatch):
    target = ContactList.objects.create(name="Gone soon")
    path = write(tmp_path, "people.csv", "phone,name\n380501112233,Olena\n")
    contact_import = dry_run(path, list_id=target.pk)
    assert contact_import.status == Status.READY
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    prepare = engine._prepare_bulk_write

    def list_deleted_just_before(cursor, spec):
        # What a delete committed between the import's start and its hold on the list leaves.
        cursor.execute("DELETE FROM contacts_contactlist WHERE id = %s", [spec.list_id])
        prepare(cursor, spec)

    monkeypatch.setattr(engine, "_prepare_bulk_write", list_deleted_just_before)
    contact_import = services.contact_import_apply(import_id=contact_import.pk)

    assert contact_import.status == Status.FAILED
    assert "was deleted" in contact_import.error
    assert not Contact.objects.exists() and not ListMembership.objects.exists()


def test_admin_finds_contacts_by_name_whether_indexed_or_waiting(admin_client):
    Contact.objects.create(phone="380501112233", name="Olena Kovalenko", search_pending=True)
    Contact.objects.create(phone="380671112233", name="Olena Shevchenko")
    Contact.objects.create(phone="380931112233", name="Taras")

    page = admin_client.get("/admin/contacts/contact/", {"q": "OLENA"})

    assert page.status_code == 200
    assert [c.phone for c in page.context["cl"].result_list] == ["380671112233", "380501112233"]
    page = admin_client.get("/admin/contacts/contact/", {"q": "+380 93"})
    assert [c.phone for c in page.context["cl"].result_list] == ["380931112233"]


def _staged_versions(table: str) -> set[str]:
    """The transactions that wrote the rows of a staging table's partition as they are now."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT xmin::text FROM {table}")  # noqa: S608 (our name)
        return {row[0] for row in cursor.fetchall()}


REPEATS = "phone\n" + "".join(f"3805012345{i % 30:02d}\n" for i in range(90)) + "bad\n"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's partitions")
def test_marking_duplicates_rewrites_only_the_rows_whose_number_may_repeat(tmp_path):
    contact_import = dry_run(write(tmp_path, "repeats.csv", REPEATS))

    assert counts(contact_import)["duplicate"] == 60
    table = engine.stage_table_name(contact_import.pk)
    with connection.cursor() as cursor:
        flagged = "maybe_dup OR dup_of IS NOT NULL"
        cursor.execute(f"SELECT count(*) FROM {table}_once WHERE {flagged}")  # noqa: S608
        assert cursor.fetchone()[0] == 0
    marking = _staged_versions(f"{table}_maybe") - _staged_versions(f"{table}_once")
    assert len(marking) == 1  # one transaction rewrote the flagged rows, and no other row


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's partitions")
def test_the_first_duplicates_shown_are_looked_for_among_the_flagged_rows_only(tmp_path):
    contact_import = dry_run(write(tmp_path, "repeats.csv", REPEATS))
    spec = services._spec(contact_import)
    join, changes, _params = engine._known_join(spec)
    condition = engine._outcome_conditions(changes)["duplicate"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN SELECT s.row_no FROM {spec.table} s {join} "  # noqa: S608 (our names)
            f"WHERE {condition} ORDER BY s.row_no LIMIT 5"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"{spec.table}_maybe" in plan
    assert f"{spec.table}_once" not in plan


def _contact_inserts(path) -> list[str]:
    inserts = ("INSERT INTO contacts_contact ", "WITH new AS")
    with CaptureQueriesContext(connection) as queries:
        run_import(path)
    return [query["sql"] for query in queries if query["sql"].startswith(inserts)]


def test_a_first_import_into_no_contacts_checks_no_number_against_them(tmp_path):
    first = write(tmp_path, "first.csv", "phone\n380501234567\n380501234568\n")
    second = write(tmp_path, "second.csv", "phone\n380501234568\n380501234569\n")

    [first_insert] = _contact_inserts(first)
    [second_insert] = _contact_inserts(second)

    assert "NOT EXISTS" not in first_insert
    assert "NOT EXISTS" in second_insert
    assert sorted(Contact.objects.values_list("phone", flat=True)) == [
        "380501234567",
        "380501234568",
        "380501234569",
    ]
