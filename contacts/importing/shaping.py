"""Checking and shaping file rows for the staging table: the per-row hot loop of an import.

Every row of a file passes through `shape_row` once, so this module counts microseconds: a
million-row file spends most of its dry run here (see BENCHMARKS.md, "Contact import").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring

from contacts.phones import InvalidPhone, normalize_phone

from . import mapping as mapping_rules

MAX_NAME_CHARS = 200  # Contact.name
MAX_REASON_CHARS = 500  # DoNotContact.reason
MAX_FIELD_CHARS = 1000
# Rows shaped at a time, then handed to COPY (or executemany) in one piece.
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class RowShape:
    """Where each target's value sits in a row, precomputed for the hot loop."""

    width: int
    strict_width: bool  # CSV rows must have exactly the header's cells; XLSX rows may end early
    phone: int
    names: tuple[int, ...]
    reason: int | None
    fields: tuple[tuple[int, str], ...]
    region: str

    @classmethod
    def of(cls, *, mapping: dict[str, str], width: int, strict_width: bool, region: str):
        columns = {target: int(column) for column, target in mapping.items() if target}
        return cls(
            width=width,
            strict_width=strict_width,
            phone=columns[mapping_rules.PHONE],
            names=tuple(
                int(column) for column, target in mapping.items() if target == mapping_rules.NAME
            ),
            reason=columns.get(mapping_rules.REASON),
            fields=tuple(
                (int(column), key)
                for column, target in mapping.items()
                if (key := mapping_rules.field_key_of(target))
            ),
            region=region,
        )


def shape_row(shape: RowShape, row_no: int, cells: list[str]) -> tuple:
    """(row_no, phone, name, reason, error, fields as JSON) for the staging table.

    A row that cannot be imported keeps its number and gets `error`, the reason a person reads
    in the report; phone and values are then left empty.
    """
    count = len(cells)
    if count != shape.width and (shape.strict_width or count > shape.width):
        return _rejected(shape, row_no, _ragged_message(count, shape.width))
    raw_phone = cells[shape.phone] if shape.phone < count else ""
    try:
        phone = normalize_phone(raw_phone, region=shape.region)
    except InvalidPhone as exc:
        return _rejected(shape, row_no, str(exc))
    name = " ".join(
        value for value in (cells[i].strip() for i in shape.names if i < count) if value
    )
    reason = ""
    if shape.reason is not None and shape.reason < count:
        reason = cells[shape.reason].strip()
    values = [(cells[i].strip() or None) if i < count else None for i, _ in shape.fields]
    problem = _value_problem(shape, name, reason, values)
    if problem:
        return _rejected(shape, row_no, problem)
    # The JSON is built here, in the worker processes, rather than by the database during
    # the apply, where it would cost a few µs per row inside the one big transaction. Keys
    # are field keys ([a-z][a-z0-9_]*): only the values need JSON escaping.
    fields = (
        "{"
        + ",".join(
            f'"{key}":{encode_basestring(value)}'
            for (_, key), value in zip(shape.fields, values, strict=True)
            if value
        )
        + "}"
    )
    return (row_no, phone, name, reason, None, fields)


def _ragged_message(count: int, width: int) -> str:
    if count > width:
        return (
            f"the row has {count} cells but the header has {width} columns; a value probably "
            "contains an unquoted delimiter"
        )
    return f"the row has {count} cells but the header has {width} columns"


def _value_problem(shape: RowShape, name: str, reason: str, values: list[str | None]) -> str:
    # Plain comparisons first: this runs for every row, and almost every row passes.
    if len(name) > MAX_NAME_CHARS:
        return f"the name is {len(name)} characters long; at most {MAX_NAME_CHARS}"
    if len(reason) > MAX_REASON_CHARS:
        return f"the reason is {len(reason)} characters long; at most {MAX_REASON_CHARS}"
    nul = "\x00" in name or "\x00" in reason
    for (_, key), value in zip(shape.fields, values, strict=True):
        if value is None:
            continue
        if len(value) > MAX_FIELD_CHARS:
            return f"the value of {key} is {len(value)} characters long; at most {MAX_FIELD_CHARS}"
        nul = nul or "\x00" in value
    if nul:
        # PostgreSQL text cannot hold NUL; it is never part of a real name or value.
        return "a cell contains a NUL character (binary data), which is not text"
    return ""


def _rejected(shape: RowShape, row_no: int, error: str) -> tuple:
    # The reason may quote the cell, and PostgreSQL text cannot hold a NUL character.
    return (row_no, None, "", "", error.replace("\x00", "\ufffd"), None)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_escaped(value: str) -> str:
    # Most values hold none of these: testing is cheaper than translating every one.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def copy_text(rows: Iterable[tuple]) -> str:
    """Staged rows in COPY's text format: tab-separated, `\\N` for NULL, backslash escapes."""
    esc = _copy_escaped
    lines = [
        # (row_no, phone, name, reason, error, fields): a phone is digits, a row number an int.
        f"{row_no}\t{phone}\t{esc(name)}\t{esc(reason)}\t\\N\t{esc(fields)}"
        if error is None
        else f"{row_no}\t\\N\t\t\t{esc(error)}\t\\N"
        for row_no, phone, name, reason, error, fields in rows
    ]
    lines.append("")
    return "\n".join(lines)


def shape_batch(shape: RowShape, batch: list[tuple[int, list[str]]], as_copy_text: bool):
    """A batch of file rows, shaped: COPY text for PostgreSQL, else a list of tuples."""
    rows = [shape_row(shape, row_no, cells) for row_no, cells in batch]
    return (len(rows), copy_text(rows)) if as_copy_text else (len(rows), rows)


def _batches(rows: Iterator[tuple[int, list[str]]], size: int):
    batch: list[tuple[int, list[str]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def shaped_batches(
    shape: RowShape, rows: Iterator[tuple[int, list[str]]], *, as_copy_text: bool
) -> Iterator[tuple[int, object]]:
    """(row count, shaped rows) per batch of BATCH_ROWS, in file order.

    Shaping runs in this process. A pool of worker processes was measured and dropped: on
    this project's 2-core machine two CPU-bound processes run only ~1.5x as fast as one, and
    the workers then compete with this process (reading the file) and with PostgreSQL (taking
    the COPY), so the dry run of a million rows came out slower, not faster (BENCHMARKS.md).
    """
    for batch in _batches(rows, BATCH_ROWS):
        yield shape_batch(shape, batch, as_copy_text)
