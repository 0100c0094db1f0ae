"""The import engine: file rows → a staging table → dry-run figures → one-transaction apply.

1. Staging (`stage_rows`): the file is streamed, each row's phone is normalized in Python,
   and the rows go into a per-import staging table in committed chunks, so the dry run's
   progress is visible and memory stays flat. PostgreSQL gets them through `COPY` into an
   UNLOGGED table; SQLite (the embedded default for trying the app) through executemany. The
   fields' JSON and the length checks of names and values are generated columns of the staging
   table: the database computes them while Python reads the next rows.
   Rows whose number may repeat are flagged on the way (`maybe_dup`; on PostgreSQL they go
   into a partition of their own), and rows that may end up rejected are set aside, for the
   duplicates' SQL and the rejected-rows report.
2. Duplicates within the file are marked in SQL: the earliest row with a number wins. Only
   flagged rows can be duplicates, so only their partition is rewritten.
3. The dry run (`dry_run_figures`) joins the staging table with the contacts (or the
   do-not-contact list) and counts new, updated, unchanged, duplicate and invalid rows.
4. The apply (`apply_stage`) runs a few set-based statements in ONE transaction: update the
   known numbers, insert the new ones, add everyone to the list. Either all of it is kept, or
   none of it; the ContactImport row turns DONE in the same transaction. The contacts it writes
   skip the GIN search indexes (`search_pending`; the catch-up task adds them after the commit,
   contacts.search_index), and the memberships have no foreign keys to check (ListMembership):
   those two cost most of a big apply (BENCHMARKS.md, "Contact import on customers' files").

Only the staging table's name (from an integer id), field keys (validated to
`[a-z][a-z0-9_]*`) and our own words for a value that is too long (from the translation
catalogue, quoted by `_sql_text`) are ever put into SQL text; every value from the file travels
as a parameter or via COPY.

Why this module is long: the four steps share the staging table and the SQL built from its
name; split, each step would import the others' SQL and the one safe-name rule above would be
spread over several files.
"""

# The SQL below is built from those safe names and quoted words only (see above).
# ruff: noqa: S608

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.csvsafe import neutralise_cells
from contacts.models import FIELD_KEY_VALIDATOR, ContactImport, DoNotContact

from . import mapping as mapping_rules
from .reading import XLSX, FileLayout, iter_rows
from .shaping import (
    COPY_OPTIONS,
    MAX_FIELD_CHARS,
    MAX_NAME_CHARS,
    MAX_REASON_CHARS,
    RejectedCandidates,
    RowShape,
    shaped_batches,
    too_long_message,
)

# Rows per staging chunk: one COPY (or executemany) and one commit, then a progress update
# (every second or two). At each chunk's end this process waits for PostgreSQL to take the last
# rows sent: at 50,000 rows a chunk those waits were 1.5 s of a million rows' dry run.
STAGE_CHUNK = 200_000
EXAMPLES_PER_OUTCOME = 5
OUTCOMES = ("new", "updated", "unchanged", "duplicate", "invalid")


class ImportCancelled(Exception):
    """The user cancelled the import while the engine was working on it."""


@dataclass
class ImportSpec:
    """Everything the engine needs about one import, read once from its ContactImport."""

    import_id: int
    path: Path
    layout: FileLayout
    mapping: dict[str, str]
    region: str
    target: str = ContactImport.Target.CONTACTS
    on_existing: str = ContactImport.OnExisting.SKIP
    list_id: int | None = None
    default_reason: str = ""
    created_by_id: int | None = None
    field_keys: list[str] = field(init=False)
    # Set aside by the last staging, for the rejected-rows report (shaping.RejectedCandidates).
    candidates: RejectedCandidates | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        keys = [mapping_rules.field_key_of(target) for target in self.mapping.values()]
        self.field_keys = [key for key in keys if key]
        for key in self.field_keys:
            FIELD_KEY_VALIDATOR(key)  # they are written into SQL text below

    @property
    def table(self) -> str:
        return stage_table_name(self.import_id)

    @property
    def for_opt_outs(self) -> bool:
        return self.target == ContactImport.Target.DO_NOT_CONTACT

    @property
    def updates_known(self) -> bool:
        return self.on_existing == ContactImport.OnExisting.UPDATE


def stage_table_name(import_id: int) -> str:
    return f"contacts_import_stage_{int(import_id)}"


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pauses Python's automatic cycle collection while a file's rows stream through this
    process.

    Every row is a new list (a container the collector tracks), and a batch keeps 10,000 of
    them alive, so the collector ran again and again over everything the process holds: ~40 %
    of the dry run's Python time for a million rows. The rows form no reference cycles, but
    some invalid numbers do, inside phonenumbers (an exception kept in a local of a frame its
    traceback holds): with nothing collecting them, a messy million-row file grew the process
    by ~800 MB. So the batches collect the young generation themselves
    (`shaping.shaped_batches`): one pass over a batch's own objects, then nothing older.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- staging -----------------------------------------------------------------------------------


def _stage_columns(spec: ImportSpec) -> list[str]:
    """The columns the shaped rows fill, in their order (see shaping.shape_row)."""
    values = [f"v{i}" for i in range(len(spec.field_keys))]
    return ["row_no", "phone", "name", "reason", "row_error", *values, "maybe_dup"]


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Stands for the measured length while the message is put into words; no translation holds it.
_LENGTH_MARK = "\x00"


def _too_long(column: str, target: str, limit: int) -> str:
    """The CASE branch naming a value that is too long, in shaping.too_long_message's words
    (in the language active now, fixed in the staging table), with the length SQL measures."""
    message = too_long_message(target, length=_LENGTH_MARK, limit=limit)
    measured = f" || CAST(length({column}) AS TEXT) || "
    words = measured.join(_sql_text(part) for part in message.split(_LENGTH_MARK))
    return f"WHEN length({column}) > {int(limit)} THEN {words}"


def _error_expression(spec: ImportSpec) -> str:
    """The row's error: Python's (phone, width, NUL), else the first value that is too long."""
    checks = [
        _too_long("name", mapping_rules.NAME, MAX_NAME_CHARS),
        _too_long("reason", mapping_rules.REASON, MAX_REASON_CHARS),
        *(
            _too_long(f"v{i}", mapping_rules.field_target(key), MAX_FIELD_CHARS)
            for i, key in enumerate(spec.field_keys)
        ),
    ]
    return f"COALESCE(row_error, CASE {' '.join(checks)} END)"


def _fields_expression(spec: ImportSpec) -> str:
    """The row's fields as a JSON object of its non-empty values (keys are validated)."""
    keys = [f"'{key}'" for key in spec.field_keys]
    values = [f"v{i}" for i in range(len(spec.field_keys))]
    if connection.vendor == "postgresql":
        if not keys:
            return "'{}'::jsonb"
        return (
            f"jsonb_strip_nulls(jsonb_object(ARRAY[{', '.join(keys)}]::text[], "
            f"ARRAY[{', '.join(values)}]::text[]))"
        )
    if not keys:
        return "'{}'"
    # A JSON merge patch drops the keys whose value is null, as jsonb_strip_nulls does.
    pairs = ", ".join(f"{key}, {value}" for key, value in zip(keys, values, strict=True))
    return f"json_patch('{{}}', json_object({pairs}))"


# Free space left in each page of the rows whose number may repeat, so that marking them
# duplicates rewrites each row inside its own page (a HOT update: no index entry to add).
MAYBE_DUP_FILLFACTOR = 50


def _create_stage(spec: ImportSpec) -> None:
    drop_stage(spec.import_id)
    postgres = connection.vendor == "postgresql"
    json_type = "JSONB" if postgres else "TEXT"
    values = "".join(f", v{i} TEXT" for i in range(len(spec.field_keys)))
    # The generated columns are computed by PostgreSQL during the COPY, in its own process,
    # while Python is busy with the next rows. Building the fields' JSON later, in the apply,
    # was measured: 21 s of ten million rows, where reading the stored JSON takes 3.6 s.
    columns = (
        f"row_no BIGINT {'NOT NULL' if postgres else 'PRIMARY KEY'}, phone VARCHAR(15), "
        f"name TEXT NOT NULL, reason TEXT NOT NULL, row_error TEXT, dup_of BIGINT{values}, "
        "maybe_dup BOOLEAN, "
        f"error TEXT GENERATED ALWAYS AS ({_error_expression(spec)}) STORED, "
        f"fields {json_type} GENERATED ALWAYS AS "
        f"(CASE WHEN row_error IS NULL THEN {_fields_expression(spec)} END) STORED"
    )
    with connection.cursor() as cursor:
        if not postgres:
            cursor.execute(f"CREATE TABLE {spec.table} ({columns})")
            return
        # UNLOGGED: staged rows can always be read again from the file, so they skip the WAL.
        # Two partitions: the rows whose number may repeat (`maybe_dup`, ~10 % of a file) and
        # the rest. Marking duplicates then reads and rewrites only the first; in one table it
        # rewrote 809,113 wide rows among ten million (a new version and an index entry each,
        # at the table's end): 17 of the marking's 39 s (BENCHMARKS.md).
        cursor.execute(f"CREATE TABLE {spec.table} ({columns}) PARTITION BY LIST (maybe_dup)")
        cursor.execute(
            f"CREATE UNLOGGED TABLE {spec.table}_maybe PARTITION OF {spec.table} "
            f"FOR VALUES IN (TRUE) WITH (fillfactor = {MAYBE_DUP_FILLFACTOR})"
        )
        cursor.execute(f"CREATE UNLOGGED TABLE {spec.table}_once PARTITION OF {spec.table} DEFAULT")
        # Row numbers are unique by construction; a unique index on a partitioned table must
        # hold its partition key, so this one is plain. It serves "ORDER BY row_no LIMIT n".
        cursor.execute(f"CREATE INDEX {spec.table}_row_no ON {spec.table} (row_no)")


def drop_stage(import_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage_table_name(import_id)}")


def staged_row_count(import_id: int) -> int | None:
    """Rows in the import's staging table, or None when it does not exist."""
    table = stage_table_name(import_id)
    if table not in connection.introspection.table_names():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def _write_chunk(spec: ImportSpec, batches: Iterator[tuple[int, object]]) -> int:
    """Writes batches until a chunk is full, in one transaction; returns the rows written."""
    columns = ", ".join(_stage_columns(spec))
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One COPY per chunk: PostgreSQL ingests while the next batches are shaped.
            with cursor.copy(f"COPY {spec.table} ({columns}) FROM STDIN {COPY_OPTIONS}") as copy:
                for count, shaped in batches:
                    copy.write(shaped)
                    written += count
                    if written >= STAGE_CHUNK:
                        break
        else:
            marks = ", ".join(["%s"] * len(_stage_columns(spec)))
            for count, shaped in batches:
                cursor.executemany(f"INSERT INTO {spec.table} ({columns}) VALUES ({marks})", shaped)
                written += count
                if written >= STAGE_CHUNK:
                    break
    return written


def stage_rows(spec: ImportSpec, *, on_progress: Callable[[int], bool] | None = None) -> int:
    """Reads, checks and stages every row, then marks duplicates; returns the rows read.

    `on_progress(rows_read)` runs after each committed chunk; when it returns False the
    staging stops, the table is dropped and ImportCancelled is raised.
    """
    _create_stage(spec)
    shape = RowShape.of(
        mapping=spec.mapping,
        width=len(spec.layout.headers),
        strict_width=spec.layout.kind != XLSX,
        region=spec.region,
    )
    _forget_candidates(spec)
    spec.candidates = RejectedCandidates()
    batches = shaped_batches(
        shape,
        iter_rows(spec.path, spec.layout),
        as_copy_text=connection.vendor == "postgresql",
        candidates=spec.candidates,
    )
    total = 0
    try:
        # One transaction per chunk: committed rows make the progress real.
        with _cyclic_gc_paused():
            while written := _write_chunk(spec, batches):
                total += written
                if on_progress is not None and not on_progress(total):
                    raise ImportCancelled
        _mark_duplicates(spec)
    except BaseException:
        batches.close()
        _forget_candidates(spec)
        drop_stage(spec.import_id)
        raise
    return total


def _forget_candidates(spec: ImportSpec) -> None:
    if spec.candidates is not None:
        spec.candidates.close()
        spec.candidates = None


def _mark_duplicates(spec: ImportSpec) -> None:
    duplicates = f"{spec.table}_duplicates"
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Grouping a million phones spills to disk at the default 4 MB.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        # Only numbers flagged `maybe_dup` while staging (shaping.SeenNumbers) can repeat: every
        # later row of a repeated number is flagged, so grouping the rows of the flagged
        # numbers finds each duplicate, without grouping the million numbers that do not
        # repeat (the flags' few wrong "maybe"s just make groups of one).
        # The duplicates are found first, apart from the update, for two reasons measured at
        # ten million rows (BENCHMARKS.md): finding the first row of each number reads the
        # whole table, and only a statement that writes nothing may use both CPUs for it; and
        # the update then meets the rows in their table's order (by row number), where a join
        # by phone met them at random, a page read for each.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {duplicates} AS "
            f"SELECT m.row_no, f.first_row FROM {spec.table} AS m JOIN ("
            f"SELECT phone, min(row_no) AS first_row FROM {spec.table} WHERE error IS NULL "
            f"AND phone IN (SELECT phone FROM {spec.table} WHERE maybe_dup) "
            "GROUP BY phone HAVING count(*) > 1) AS f ON m.phone = f.phone "
            "WHERE m.maybe_dup AND m.row_no > f.first_row"
        )
        if postgres:
            cursor.execute(f"ANALYZE {duplicates}")
        # On PostgreSQL this rewrites rows of the flagged rows' partition only (_create_stage).
        cursor.execute(
            f"UPDATE {spec.table} AS s SET dup_of = d.first_row FROM {duplicates} AS d "
            "WHERE s.maybe_dup AND s.row_no = d.row_no"
        )
        if postgres:
            # The planner knows nothing about a table filled by COPY a moment ago. Only the
            # columns the joins and filters below use: the values and their JSON would double
            # the time (sorting a sample of jsonb) for estimates no plan reads.
            cursor.execute(f"ANALYZE {spec.table} (phone, error, dup_of)")
        # Dropped here, not at commit: the caller's transaction may go on (a test's does).
        cursor.execute(f"DROP TABLE {duplicates}")


# --- SQL shared by the dry run and the apply -----------------------------------------------------

_VALID = "s.error IS NULL AND s.dup_of IS NULL"


def _merged_fields(current: str) -> str:
    if connection.vendor == "postgresql":
        return f"{current} || s.fields"
    # json_patch merges objects as jsonb's || does for our flat string-valued ones.
    return f"json_patch({current}, s.fields)"


def _contact_changes(spec: ImportSpec) -> str:
    """True when the staged row would change the known contact `c` (update mode only).

    Empty cells never erase what a contact holds: only non-empty values are staged.
    """
    if not spec.updates_known:
        return "1 = 0"
    name = "(s.name <> '' AND s.name <> c.name)"
    if connection.vendor == "postgresql":
        return f"({name} OR NOT (c.fields @> s.fields))"
    checks = [name]
    for key in spec.field_keys:
        staged = f"json_extract(s.fields, '$.{key}')"
        checks.append(
            f"({staged} IS NOT NULL AND json_extract(c.fields, '$.{key}') IS NOT {staged})"
        )
    return "(" + " OR ".join(checks) + ")"


def _new_reason() -> str:
    return "COALESCE(NULLIF(s.reason, ''), %s)"


def _opt_out_changes(spec: ImportSpec) -> str:
    if not spec.updates_known:
        return "1 = 0"
    return f"({_new_reason()} <> '' AND {_new_reason()} <> c.reason)"


def _known_join(spec: ImportSpec) -> tuple[str, str, list]:
    """(JOIN clause to the known row `c`, the "would change" condition, its parameters)."""
    if spec.for_opt_outs:
        join = "LEFT JOIN contacts_donotcontact c ON c.phone = s.phone"
        changes = _opt_out_changes(spec)
        params = [spec.default_reason, spec.default_reason] if spec.updates_known else []
        return join, changes, params
    return "LEFT JOIN contacts_contact c ON c.phone = s.phone", _contact_changes(spec), []


def _outcome_conditions(changes: str) -> dict[str, str]:
    return {
        "invalid": "s.error IS NOT NULL",
        # Only a flagged row can be a duplicate. Saying so keeps PostgreSQL in the flagged
        # rows' partition: the first examples in row order were otherwise looked for in the
        # other partition too, all of whose rows it read in index order (5.5 s at 10M).
        "duplicate": "s.error IS NULL AND s.dup_of IS NOT NULL AND s.maybe_dup",
        "new": f"{_VALID} AND c.id IS NULL",
        "updated": f"{_VALID} AND c.id IS NOT NULL AND {changes}",
        "unchanged": f"{_VALID} AND c.id IS NOT NULL AND NOT {changes}",
    }


# --- 3. the dry run ------------------------------------------------------------------------------


def dry_run_figures(spec: ImportSpec) -> dict[str, dict]:
    """{outcome: {"count": n, "examples": [{"row", "phone", "name", "detail"}, …]}}."""
    join, changes, params = _known_join(spec)
    conditions = _outcome_conditions(changes)
    sums = ", ".join(
        f"SUM(CASE WHEN {conditions[outcome]} THEN 1 ELSE 0 END)" for outcome in OUTCOMES
    )
    condition_params = {
        outcome: params if outcome in ("updated", "unchanged") else [] for outcome in OUTCOMES
    }
    figures: dict[str, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sums} FROM {spec.table} s {join}",
            [p for outcome in OUTCOMES for p in condition_params[outcome]],
        )
        counts = cursor.fetchone()
        for outcome, count in zip(OUTCOMES, counts, strict=True):
            examples = []
            if count:
                cursor.execute(
                    f"SELECT s.row_no, s.phone, s.name, s.error, s.dup_of FROM {spec.table} s "
                    f"{join} WHERE {conditions[outcome]} ORDER BY s.row_no LIMIT %s",
                    [*condition_params[outcome], EXAMPLES_PER_OUTCOME],
                )
                examples = [_example(*row) for row in cursor.fetchall()]
            figures[outcome] = {"count": int(count or 0), "examples": examples}
    return figures


def _example(row_no: int, phone: str | None, name: str, error: str | None, dup_of: int | None):
    detail = error or (_("same number as row %(row)s") % {"row": dup_of} if dup_of else "")
    return {"row": row_no, "phone": phone or "", "name": name, "detail": detail}


# --- rejected rows ---------------------------------------------------------------------------


# Rejected rows read from the staging table at a time, in row order.
REJECTIONS_CHUNK = 10_000


def _rejections(spec: ImportSpec) -> Iterator[tuple[int, str]]:
    """(row number, reason) of every rejected row, in row order, streamed: a ten-million-row
    file rejects a million rows, too many to hold."""
    duplicate = _("duplicate: same number as row %(row)s")
    if connection.vendor == "postgresql":
        # One query: PostgreSQL scans the staging table once and sorts the rejections. Pages
        # of "row_no > last … LIMIT n" scanned the whole table for each page (a hundred scans
        # of ten million rows). The rows come REJECTIONS_CHUNK a round trip through a
        # server-side cursor, parsed in C: `COPY … TO STDOUT` sent them one message a row, a
        # Python call each (a sixth of a million rows' report).
        with transaction.atomic(), connection.cursor() as cursor:
            # A cursor is otherwise planned for its first rows: down the row_no index, through
            # the whole table in random order, instead of one scan and a sort.
            cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
            with connection.connection.cursor(name=f"rejections_{spec.import_id}") as rows:
                rows.itersize = REJECTIONS_CHUNK
                rows.execute(
                    f"SELECT row_no, error, dup_of FROM {spec.table} "
                    "WHERE error IS NOT NULL OR dup_of IS NOT NULL ORDER BY row_no"
                )
                for row_no, error, dup_of in rows:
                    yield row_no, error or duplicate % {"row": dup_of}
        return
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_no, error, dup_of FROM {spec.table} "
                "WHERE (error IS NOT NULL OR dup_of IS NOT NULL) AND row_no > %s "
                "ORDER BY row_no LIMIT %s",
                [last, REJECTIONS_CHUNK],
            )
            found = cursor.fetchall()
        for row_no, error, dup_of in found:
            yield row_no, error or duplicate % {"row": dup_of}
        if len(found) < REJECTIONS_CHUNK:
            return
        last = found[-1][0]


def _rejections_at_hand(spec: ImportSpec) -> tuple[bool, bool]:
    """(whether any row is rejected, whether the rows set aside while staging hold every
    rejected one), in one scan of the staging table. The rows set aside
    (shaping.RejectedCandidates) are those with an error Python found and those whose number
    may repeat; only a value too long, which the staging table finds, can be missing."""
    with connection.cursor() as cursor:
        cursor.execute(
            # MAX of CASE, not bool_or: SQLite has no bool_or.
            "SELECT COALESCE(MAX(CASE WHEN error IS NOT NULL OR dup_of IS NOT NULL "
            "THEN 1 ELSE 0 END), 0), "
            "COALESCE(MAX(CASE WHEN error IS NOT NULL AND row_error IS NULL "
            f"AND maybe_dup IS NOT TRUE THEN 1 ELSE 0 END), 0) FROM {spec.table}"
        )
        any_rejected, some_not_set_aside = cursor.fetchone()
        return bool(any_rejected), not some_not_set_aside


def write_rejected_rows(spec: ImportSpec, stream: IO[str]) -> int:
    """The rejected rows as CSV: the original cells, then the reason; returns how many.

    Cells are neutralised against formula injection (a leading `'`), as the export does. The
    file's rows (or the candidates set aside) and the rejections both come in row order and are
    merged as they stream: memory stays flat whatever the file's size.
    """
    writer = csv.writer(stream)
    reason_header = "reason" if "reason" not in spec.layout.headers else "rejected_reason"
    writer.writerow([*neutralise_cells(spec.layout.headers), "row", reason_header])
    candidates = spec.candidates
    # Asked before the rejections stream, outside their cursor's transaction.
    any_rejected, set_aside_hold_all = _rejections_at_hand(spec)
    if not any_rejected:
        _forget_candidates(spec)
        return 0
    if candidates is not None and set_aside_hold_all:
        rows = iter(candidates)  # the rows set aside while staging, in row order
    else:
        rows = iter_rows(spec.path, spec.layout)
    rejections = _rejections(spec)
    written = 0
    with _cyclic_gc_paused(), closing(rejections):
        pending = next(rejections, None)
        for row_no, cells in rows:
            while pending is not None and pending[0] < row_no:
                pending = next(rejections, None)
            if pending is None:
                break
            if pending[0] != row_no:
                continue
            padded = cells + [""] * (len(spec.layout.headers) - len(cells))
            writer.writerow([*neutralise_cells(padded), row_no, pending[1]])
            written += 1
    _forget_candidates(spec)
    return written


# --- 4. the apply --------------------------------------------------------------------------------


@dataclass
class ApplyCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    added_to_list: int = 0


def apply_stage(spec: ImportSpec, *, on_step: Callable[[int], None] | None = None) -> ApplyCounts:
    """Writes the staged rows; the caller runs this inside its own `transaction.atomic()`.

    `on_step(done_of_3)` reports progress between the statements.
    """
    step = on_step or (lambda _done: None)
    now = timezone.now()
    counts = ApplyCounts()
    with connection.cursor() as cursor:
        valid_unique = _valid_unique_count(cursor, spec)
        _prepare_bulk_write(cursor, spec)
        if spec.list_id is not None:
            _hold_list(cursor, spec.list_id)
        if spec.for_opt_outs:
            counts.updated, counts.created = _apply_opt_outs(spec, cursor, now, step)
        else:
            counts.updated, counts.created, counts.added_to_list = _apply_contacts(
                spec, cursor, now, step
            )
    counts.unchanged = valid_unique - counts.created - counts.updated
    return counts


class ListGone(Exception):
    """The list the import writes into was deleted before the apply could hold it."""


def _hold_list(cursor, list_id: int) -> None:
    """Holds the target list against a delete until the apply commits.

    Memberships have no foreign key (ListMembership): this one row lock is what keeps a list
    deleted meanwhile from being left with members, as the key's check of every row did.
    """
    # SQLite's write transaction already excludes every other writer.
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    cursor.execute(f"SELECT id FROM contacts_contactlist WHERE id = %s{lock}", [list_id])
    if cursor.fetchone() is None:
        raise ListGone(list_id)


def _valid_unique_count(cursor, spec: ImportSpec) -> int:
    cursor.execute(f"SELECT count(*) FROM {spec.table} s WHERE {_VALID}")
    return cursor.fetchone()[0]


def _prepare_bulk_write(cursor, spec: ImportSpec) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's write transaction already excludes every other writer
    table = "contacts_donotcontact" if spec.for_opt_outs else "contacts_contact"
    # Other writers wait for the few seconds of the apply (readers do not): no number can be
    # inserted behind our back, so new rows need no ON CONFLICT, which costs twice as much.
    cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    # The GIN search indexes (name trigrams, fields) then take the new entries in one sorted
    # merge at the next vacuum instead of many small ones during the insert.
    cursor.execute("SET LOCAL gin_pending_list_limit = '256MB'")
    # New contacts go in sorted by phone (see _apply_contacts): a million-row sort in memory.
    cursor.execute("SET LOCAL work_mem = '256MB'")


def _not_known_yet(cursor, table: str) -> str:
    """The condition that a staged number is not in `table` yet, or nothing when the table is
    empty: a first import into an empty table then checks no number against it. PostgreSQL
    plans that check, over a table it knows to be empty, as one scan of it per staged row.

    Asked while the apply holds the table against other writers (_prepare_bulk_write), so the
    answer holds until the commit.
    """
    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
    if cursor.fetchone() is None:
        return ""
    return f" AND NOT EXISTS (SELECT 1 FROM {table} k WHERE k.phone = s.phone)"


def _byte_order() -> str:
    return ' COLLATE "C"' if connection.vendor == "postgresql" else ""


def _apply_contacts(spec: ImportSpec, cursor, now, step) -> tuple[int, int, int]:
    updated = added_known = 0
    if spec.updates_known:
        cursor.execute(
            f"UPDATE contacts_contact AS c SET "
            "name = CASE WHEN s.name <> '' THEN s.name ELSE c.name END, "
            f"fields = {_merged_fields('c.fields')}, updated_at = %s, search_pending = TRUE "
            f"FROM {spec.table} AS s WHERE c.phone = s.phone AND {_VALID} "
            f"AND {_contact_changes(spec)}",
            [now],
        )
        updated = cursor.rowcount
    step(1)
    if spec.list_id is not None:
        # Before the new contacts exist, this join finds only the known ones.
        cursor.execute(
            "INSERT INTO contacts_listmembership (contact_list_id, contact_id, added_at) "
            f"SELECT %s, c.id, %s FROM {spec.table} AS s "
            f"JOIN contacts_contact c ON c.phone = s.phone WHERE {_VALID} "
            "ON CONFLICT (contact_list_id, contact_id) DO NOTHING",
            [spec.list_id, now],
        )
        added_known = cursor.rowcount
    step(2)
    # New and updated contacts skip the search indexes (search_pending): the search catch-up
    # task (contacts.search_index) adds them after the commit.
    insert_new = (
        "INSERT INTO contacts_contact (phone, name, fields, created_at, updated_at, "
        "search_pending) "
        f"SELECT s.phone, s.name, s.fields, %s, %s, TRUE FROM {spec.table} AS s "
        f"WHERE {_VALID}{_not_known_yet(cursor, 'contacts_contact')} "
        # In phone order, the phone index grows at neighbouring pages instead of at random
        # ones all over a big index. Numbers are ASCII digits, whose byte order is every
        # collation's order, and sorting by bytes skips the locale's comparison: 0.5 s of a
        # million rows.
        f"ORDER BY s.phone{_byte_order()}"
    )
    if spec.list_id is not None and connection.vendor == "postgresql":
        # New contacts cannot be in the list yet: their memberships go in straight from the
        # inserted ids, without a join or a conflict check.
        cursor.execute(
            f"WITH new AS ({insert_new} RETURNING id) "
            "INSERT INTO contacts_listmembership (contact_list_id, contact_id, added_at) "
            "SELECT %s, id, %s FROM new",
            [now, now, spec.list_id, now],
        )
        created = cursor.rowcount
    else:
        cursor.execute(insert_new, [now, now])
        created = cursor.rowcount
        if spec.list_id is not None:
            cursor.execute(
                "INSERT INTO contacts_listmembership (contact_list_id, contact_id, added_at) "
                f"SELECT %s, c.id, %s FROM {spec.table} AS s "
                f"JOIN contacts_contact c ON c.phone = s.phone WHERE {_VALID} "
                "ON CONFLICT (contact_list_id, contact_id) DO NOTHING",
                [spec.list_id, now],
            )
    step(3)
    added = added_known + (created if spec.list_id is not None else 0)
    return updated, created, added


def _apply_opt_outs(spec: ImportSpec, cursor, now, step) -> tuple[int, int]:
    updated = 0
    reason = spec.default_reason
    if spec.updates_known:
        cursor.execute(
            f"UPDATE contacts_donotcontact AS c SET reason = {_new_reason()} "
            f"FROM {spec.table} AS s WHERE c.phone = s.phone AND {_VALID} "
            f"AND {_opt_out_changes(spec)}",
            [reason, reason, reason],
        )
        updated = cursor.rowcount
    step(1)
    cursor.execute(
        "INSERT INTO contacts_donotcontact (phone, reason, source, created_by_id, created_at) "
        f"SELECT s.phone, {_new_reason()}, %s, %s, %s FROM {spec.table} AS s "
        f"WHERE {_VALID}{_not_known_yet(cursor, 'contacts_donotcontact')}",
        [reason, DoNotContact.Source.IMPORT.value, spec.created_by_id, now],
    )
    created = cursor.rowcount
    step(3)
    return updated, created


# --- progress seen from outside the apply transaction ------------------------------------------


class SideProgress:
    """Writes an import's progress while the apply transaction is still open.

    The page reads ContactImport.rows_processed; inside the apply transaction that update
    would stay invisible until the end, so on PostgreSQL it goes through a second, autocommit
    connection. On SQLite a second writer would wait for the first: progress then moves only
    between transactions.
    """

    def __init__(self, import_id: int) -> None:
        self.import_id = import_id
        self._connection = None
        if connection.vendor == "postgresql":
            self._connection = connections.create_connection(connection.alias)

    def set(self, rows_processed: int) -> None:
        if self._connection is None:
            return
        with self._connection.cursor() as cursor:
            cursor.execute(
                # The heartbeat too: the sweep must not take a long apply for a lost one.
                "UPDATE contacts_contactimport SET rows_processed = %s, heartbeat_at = %s "
                "WHERE id = %s",
                [rows_processed, timezone.now(), self.import_id],
            )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
