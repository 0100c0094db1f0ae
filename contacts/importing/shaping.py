"""Checking and shaping file rows for the staging table: the per-row hot loop of an import.

Kept free of Django models so that worker processes can import it without setting Django up:
a big import normalizes its phones in a small process pool (`ShapingPool`) while the main
process reads the file and feeds PostgreSQL, which is what brings a million rows under 30 s
on two cores.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

from contacts.phones import InvalidPhone, normalize_phone

from . import mapping as mapping_rules

logger = logging.getLogger(__name__)
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))

MAX_NAME_CHARS = 200  # Contact.name
MAX_REASON_CHARS = 500  # DoNotContact.reason
MAX_FIELD_CHARS = 1000
# Rows per batch sent to a worker process: big enough that pickling is cheap per row.
POOL_BATCH = 10_000
# Files smaller than this are shaped in the calling process: a pool would cost more to start.
POOL_THRESHOLD_ROWS = 100_000
POOL_WORKERS = 2


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
    # the apply, where it would cost a few µs per row inside the one big transaction.
    fields = _dumps(
        {key: value for (_, key), value in zip(shape.fields, values, strict=True) if value}
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
    if len(name) > MAX_NAME_CHARS:
        return f"the name is {len(name)} characters long; at most {MAX_NAME_CHARS}"
    if len(reason) > MAX_REASON_CHARS:
        return f"the reason is {len(reason)} characters long; at most {MAX_REASON_CHARS}"
    longest = max((len(value) for value in values if value), default=0)
    if longest > MAX_FIELD_CHARS:
        key = next(
            k for (_, k), v in zip(shape.fields, values, strict=True) if v and len(v) == longest
        )
        return f"the value of {key} is {longest} characters long; at most {MAX_FIELD_CHARS}"
    if "\x00" in name or "\x00" in reason or any(value and "\x00" in value for value in values):
        # PostgreSQL text cannot hold NUL; it is never part of a real name or value.
        return "a cell contains a NUL character (binary data), which is not text"
    return ""


def _rejected(shape: RowShape, row_no: int, error: str) -> tuple:
    return (row_no, None, "", "", error, None)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Iterable[tuple]) -> str:
    """Rows in COPY's text format: tab-separated, `\\N` for NULL, backslash escapes."""
    escapes = _COPY_ESCAPES
    lines = [
        "\t".join("\\N" if value is None else str(value).translate(escapes) for value in row)
        for row in rows
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
    shape: RowShape,
    rows: Iterator[tuple[int, list[str]]],
    *,
    as_copy_text: bool,
    use_pool: bool,
) -> Iterator[tuple[int, object]]:
    """(row count, shaped rows) per batch, in file order.

    With `use_pool`, batches are shaped by worker processes while this process keeps reading
    the file; at most a few batches are in flight, so memory stays flat.
    """
    if not use_pool:
        for batch in _batches(rows, POOL_BATCH):
            yield shape_batch(shape, batch, as_copy_text)
        return
    # fork starts in milliseconds and needs no importable __main__. The children inherit the
    # parent's database socket but never touch it, and leave through os._exit, which runs no
    # finalizer that could close it.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=POOL_WORKERS, mp_context=context) as pool:
        pending: deque[Future] = deque()
        for batch in _batches(rows, POOL_BATCH):
            pending.append(pool.submit(shape_batch, shape, batch, as_copy_text))
            if len(pending) > POOL_WORKERS * 2:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
