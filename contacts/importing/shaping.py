"""Checking and shaping file rows for the staging table: the per-row hot loop of an import.

Every row of a file passes through here once, so this module counts microseconds: a
million-row file spends most of its dry run here (see BENCHMARKS.md, "Contact import"). On
PostgreSQL a row normally takes the fast path (`fast_line_function`: the phone check and one
f-string); a row whose values need CSV quoting is written again by `quoted_line_function`;
`shape_row` is the exact path, for the rest (wrong width, NUL) and for SQLite.
"""

from __future__ import annotations

import gc
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.phones import InvalidPhone, normalize_phone, own_number_reader

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


class SeenNumbers:
    """The numbers met so far in a file, as a bitmap of their hashes: "maybe seen before".

    It never misses a number it has met (no false "no"), and says a wrong "yes" for under
    1 % of a million numbers (2**27 bits, 16 MiB whatever the file's size). The staging
    table keeps the answer per row (`maybe_dup`), so marking duplicates in SQL compares only
    the few numbers that may repeat instead of grouping every number of the file (engine.py).
    """

    BITS = 1 << 27

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS >> 3)

    def check_and_add(self, phone: str) -> bool:
        # Python's str hash: stable within the process, which is all one staging needs.
        slot = hash(phone) & (self.BITS - 1)
        byte, mask = slot >> 3, 1 << (slot & 7)
        if self.bits[byte] & mask:
            return True
        self.bits[byte] |= mask
        return False


class RejectedCandidates:
    """The file rows that may end up rejected, kept aside (on disk) while staging.

    Those are the rows Python already finds bad and the rows whose number may repeat
    (`maybe_dup`): the rejected-rows report is then written from them (~10 % of a big file)
    instead of reading and parsing the whole file a second time. Values too long for the
    staging table are found by PostgreSQL, not here: when a rejected row is missing, the
    report reads the file again (engine.write_rejected_rows).
    """

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (see close)

    def add(self, rows: list[tuple[int, list[str]]]) -> None:
        """Sets aside rows given in row order, after every row added before."""
        if rows:
            # Our own temporary file, read back by this process only.
            pickle.dump(rows, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        self._file.seek(0)
        while True:
            try:
                rows = pickle.load(self._file)  # noqa: S301 (written by `add` above)
            except EOFError:
                return
            yield from rows

    def close(self) -> None:
        self._file.close()


def shape_row(shape: RowShape, row_no: int, cells: list[str]) -> tuple:
    """(row_no, phone, name, reason, error, *field values) for the staging table: the exact path.

    A row that cannot be imported keeps its number and gets `error`, the reason a person reads
    in the report; phone and values are then left empty. Field values are the stripped cells
    (None when empty): the staging table builds the fields' JSON from them (engine.py).
    """
    count = len(cells)
    if count != shape.width and (shape.strict_width or count > shape.width):
        return _rejected(shape, row_no, _ragged_message(count, shape.width))
    raw_phone = cells[shape.phone] if shape.phone < count else ""
    try:
        phone = normalize_phone(raw_phone, region=shape.region)
    except InvalidPhone as exc:
        return _rejected(shape, row_no, str(exc))
    return _shaped(shape, row_no, cells, phone)


def _shaped(shape: RowShape, row_no: int, cells: list[str], phone: str) -> tuple:
    """`shape_row` for a row of the right width whose number reads as `phone`."""
    count = len(cells)
    name = " ".join(
        value for value in (cells[i].strip() for i in shape.names if i < count) if value
    )
    reason = ""
    if shape.reason is not None and shape.reason < count:
        reason = cells[shape.reason].strip()
    values = [(cells[i].strip() or None) if i < count else None for i, _ in shape.fields]
    problem = _value_problem(shape, name, reason, values)
    if problem and _holds_nul(name, reason, values):
        # PostgreSQL text cannot hold the values: the row is rejected here. Any other problem
        # (a value too long) the staging table finds with the same message, as it does for
        # the fast path's rows, so both paths stage the same row.
        return _rejected(shape, row_no, problem)
    return (row_no, phone, name, reason, None, *values)


def _ragged_message(count: int, width: int) -> str:
    values = {"cells": count, "columns": width}
    if count > width:
        return (
            ngettext(
                "the row has %(cells)s cells but the header has %(columns)s columns; a value "
                "probably contains an unquoted delimiter",
                "the row has %(cells)s cells but the header has %(columns)s columns; a value "
                "probably contains an unquoted delimiter",
                width,
            )
            % values
        )
    return (
        ngettext(
            "the row has %(cells)s cells but the header has %(columns)s columns",
            "the row has %(cells)s cells but the header has %(columns)s columns",
            width,
        )
        % values
    )


def too_long_message(target: str, *, length: int | str, limit: int) -> str:
    """The rejection of a value longer than `limit`; `target` is the mapping target it feeds:
    the name, the reason, or a field (`mapping.field_target(key)`).

    The staging table writes the same words in SQL (engine._error_expression), with the length
    it measures put where `length` goes. English says "characters" for any count, as it always
    has; the plural form other languages need follows the limit, which Python knows.
    """
    values = {"length": length, "limit": limit, "key": mapping_rules.field_key_of(target)}
    if target == mapping_rules.NAME:
        message = ngettext(
            "the name is %(length)s characters long; at most %(limit)s",
            "the name is %(length)s characters long; at most %(limit)s",
            limit,
        )
    elif target == mapping_rules.REASON:
        message = ngettext(
            "the reason is %(length)s characters long; at most %(limit)s",
            "the reason is %(length)s characters long; at most %(limit)s",
            limit,
        )
    else:
        message = ngettext(
            "the value of %(key)s is %(length)s characters long; at most %(limit)s",
            "the value of %(key)s is %(length)s characters long; at most %(limit)s",
            limit,
        )
    return message % values


def _value_problem(shape: RowShape, name: str, reason: str, values: list[str | None]) -> str:
    # Plain comparisons first: this runs for every row, and almost every row passes.
    if len(name) > MAX_NAME_CHARS:
        return too_long_message(mapping_rules.NAME, length=len(name), limit=MAX_NAME_CHARS)
    if len(reason) > MAX_REASON_CHARS:
        return too_long_message(mapping_rules.REASON, length=len(reason), limit=MAX_REASON_CHARS)
    nul = "\x00" in name or "\x00" in reason
    for (_column, key), value in zip(shape.fields, values, strict=True):
        if value is None:
            continue
        if len(value) > MAX_FIELD_CHARS:
            return too_long_message(
                mapping_rules.field_target(key), length=len(value), limit=MAX_FIELD_CHARS
            )
        nul = nul or "\x00" in value
    if nul:
        # PostgreSQL text cannot hold NUL; it is never part of a real name or value.
        return _("a cell contains a NUL character (binary data), which is not text")
    return ""


def _holds_nul(name: str, reason: str, values: list[str | None]) -> bool:
    return "\x00" in name or "\x00" in reason or any(v and "\x00" in v for v in values)


def _rejected(shape: RowShape, row_no: int, error: str) -> tuple:
    # The reason may quote the cell, and PostgreSQL text cannot hold a NUL character.
    return (row_no, None, "", "", error.replace("\x00", "\ufffd"), *([None] * len(shape.fields)))


# --- COPY in CSV format -------------------------------------------------------------------------
# Staged rows reach PostgreSQL as CSV with two control characters for the delimiter and the
# quote: an unquoted empty value is NULL, a quoted one an empty string, and the backslash means
# nothing (text format would need every value scanned for it). Tabs and double quotes are
# common in customers' files (a note pasted from a form, a quoted nickname: a fifth of the
# messy corpus's rows) and these two characters are not, so only a value with a line break (or
# one of the two) has to be quoted. `COPY_OPTIONS` must stay in step with the writers below.
COPY_DELIMITER = "\x1f"  # the ASCII unit separator
COPY_QUOTE = "\x01"
COPY_OPTIONS = "(FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x01', FORCE_NOT_NULL (name, reason))"


def _quoted(value: str) -> str:
    return COPY_QUOTE + value.replace(COPY_QUOTE, COPY_QUOTE + COPY_QUOTE) + COPY_QUOTE


def _quoted_or_null(value: str) -> str:
    return _quoted(value) if value else ""


def _csv_value(value: object) -> str:
    return "" if value is None else _quoted(str(value))


def copy_csv(rows: Iterable[tuple]) -> str:
    """Staged rows (from `shape_row`) as COPY CSV lines, every text value quoted."""
    lines = [
        f"{row[0]}{COPY_DELIMITER}" + COPY_DELIMITER.join([_csv_value(value) for value in row[1:]])
        for row in rows
    ]
    lines.append("")
    return "\n".join(lines)


def _text_sources(shape: RowShape) -> tuple[str | None, str | None]:
    """The Python expressions of a row's name and reason in the generated line functions (None:
    the file has no such column), as `_shaped` computes them from the cells `c`.

    Only column numbers (ints) are written into this code; cell values never are.
    """
    names = [f"c[{int(i)}].strip()" for i in shape.names]
    if not names:
        name = None
    elif len(names) == 1:
        name = names[0]
    else:
        name = "' '.join(filter(None, (" + ", ".join(names) + ",)))"
    reason = None if shape.reason is None else f"c[{int(shape.reason)}].strip()"
    return name, reason


def _value_sources(shape: RowShape) -> list[str]:
    """The expressions of the row's field values, in the staging table's order."""
    return [f"c[{int(i)}].strip()" for i, _ in shape.fields]


def fast_line_function(
    shape: RowShape, seen: SeenNumbers | None = None
) -> Callable[[int, list[str]], str | None]:
    """A function of (row_no, cells) giving the row's COPY line with its values unquoted, or
    None when the row needs the exact path (`shape_row`); raises InvalidPhone.

    It is generated for the shape, so that a row costs the phone check and one f-string: no
    loop, list or JSON per row (a million rows spent ~10 s on those). The lines are only
    valid CSV when no value holds a line break, NUL or one of the COPY's two control
    characters (`COPY_DELIMITER`, `COPY_QUOTE`), and a value may be too
    long: `shaped_batches` checks a whole batch of lines at once and redoes it on the exact
    path when that check fails; the staging table rejects values that are too long with the
    same messages as `_value_problem`.
    """
    name, reason = _text_sources(shape)
    name = "" if name is None else "{" + name + "}"
    reason = "" if reason is None else "{" + reason + "}"
    values = "".join("\\x1f{" + value + "}" for value in _value_sources(shape))
    own_number = own_number_reader(shape.region)
    # Most cells hold one of the region's own numbers, bare or decorated: one translate and
    # one regex match settle those (`own_number_reader` promises `normalize_phone`'s answer).
    check = (
        f"    phone = own_number(c[{int(shape.phone)}])\n"
        "    if phone is None:\n"
        f"        phone = normalize(c[{int(shape.phone)}], region=region)\n"
        if own_number is not None
        else f"    phone = normalize(c[{int(shape.phone)}], region=region)\n"
    )
    # The last column is `maybe_dup` (SeenNumbers.check_and_add, inlined: 1 or NULL).
    text = f"{{row_no}}\\x1f{{phone}}\\x1f{name}\\x1f{reason}\\x1f{values}\\x1f"
    source = (
        "def line(row_no, c):\n"
        f"    if len(c) != {int(shape.width)}:\n"
        "        return None\n"
        f"{check}"
        "    slot = hash(phone) & last_bit\n"
        "    byte, mask = slot >> 3, 1 << (slot & 7)\n"
        "    if bits[byte] & mask:\n"
        f'        return f"{text}1"\n'
        "    bits[byte] |= mask\n"
        f'    return f"{text}"\n'
    )
    seen = seen if seen is not None else SeenNumbers()
    namespace = {
        "normalize": normalize_phone,
        "region": shape.region,
        "own_number": own_number,
        "bits": seen.bits,
        "last_bit": seen.BITS - 1,
    }
    exec(compile(source, "<import row shape>", "exec"), namespace)  # noqa: S102
    return namespace["line"]


def quoted_line_function(shape: RowShape) -> Callable[[int, list[str], str, str], str]:
    """A function of (row_no, cells, phone, maybe_dup) giving the COPY line of a row the fast
    line read (its number, its `maybe_dup` text) whose values hold a line break (or one of the
    COPY's control characters):
    the same values as `_shaped` gives, every text value quoted as `copy_csv` quotes it.

    In a customer's export a few rows in a hundred have such a value (a note typed over two
    lines), so every batch has some; quoting them costs a fraction of the exact
    path. Values holding NUL still take the exact path (they are rejected there).
    """
    # An empty text (two quotes) in the generated f-string's literal part.
    empty = "\\x01\\x01"
    name, reason = _text_sources(shape)
    name = empty if name is None else "{q(" + name + ")}"
    reason = empty if reason is None else "{q(" + reason + ")}"
    values = "".join("\\x1f{qn(" + value + ")}" for value in _value_sources(shape))
    source = (
        "def quoted_line(row_no, c, phone, maybe):\n"
        "    return "
        f'f"{{row_no}}\\x1f{{phone}}\\x1f{name}\\x1f{reason}\\x1f{values}\\x1f{{maybe}}"\n'
    )
    namespace = {"q": _quoted, "qn": _quoted_or_null}
    exec(compile(source, "<import quoted row shape>", "exec"), namespace)  # noqa: S102
    return namespace["quoted_line"]


def _exact_row(shape: RowShape, row_no: int, cells: list[str], seen: SeenNumbers) -> tuple:
    """`shape_row` and the `maybe_dup` flag (a row retaken after the fast path tried it was
    seen by it: a wrong "maybe" only costs the SQL one more number to compare)."""
    row = shape_row(shape, row_no, cells)
    phone = row[1]
    return (*row, 1 if phone is not None and seen.check_and_add(phone) else None)


def _candidates_of(batch: list[tuple[int, list[str]]], rows: list[tuple]):
    """The file rows whose shaped row is rejected already or may repeat a number."""
    return [source for source, row in zip(batch, rows, strict=True) if row[4] or row[-1]]


def _row_number(source: tuple[int, list[str]]) -> int:
    return source[0]


def _plain_line(text: str, delimiters: int) -> bool:
    """Whether a fast line is valid unquoted COPY CSV: no value holds a line break, NUL or one
    of the COPY's control characters."""
    return (
        text.count(COPY_DELIMITER) == delimiters
        and COPY_QUOTE not in text
        and "\n" not in text
        and "\r" not in text
        and "\x00" not in text
    )


def _copy_batch(
    shape: RowShape,
    batch: list[tuple[int, list[str]]],
    line,
    seen: SeenNumbers,
    candidates: RejectedCandidates | None,
    quoted_line=None,
) -> str:
    fast: list[str] = []
    fast_sources: list[tuple[int, list[str]]] = []
    exact: list[tuple] = []
    maybe_rejected: list[tuple[int, list[str]]] = []
    for source in batch:
        row_no, cells = source
        try:
            text = line(row_no, cells)
        except InvalidPhone as exc:
            # The same row as `shape_row` gives (the fast line checked the width first),
            # without reading the number a second time: the error paths are the slow ones.
            exact.append((*_rejected(shape, row_no, str(exc)), None))
            maybe_rejected.append(source)
            continue
        if text is None:
            exact.append(_exact_row(shape, row_no, cells, seen))
            maybe_rejected.append(source)
        else:
            fast.append(text)
            fast_sources.append(source)
            if text[-1] == "1":  # maybe_dup
                maybe_rejected.append(source)
    joined = "\n".join(fast)
    delimiters = 5 + len(shape.fields)
    if fast and (
        joined.count(COPY_DELIMITER) != delimiters * len(fast)
        or joined.count("\n") != len(fast) - 1
        or COPY_QUOTE in joined
        or "\r" in joined
        or "\x00" in joined
    ):
        # Some values hold a character CSV must quote (or a NUL): in an exported file a few
        # rows in a hundred do (a note typed over two lines), so every
        # batch has some. Only those rows are written again, quoted (`quoted_line_function`);
        # the batch is checked as one string first because often nothing needs it.
        quoted_line = quoted_line or quoted_line_function(shape)
        kept: list[str] = []
        for text, (row_no, cells) in zip(fast, fast_sources, strict=True):
            if _plain_line(text, delimiters):
                kept.append(text)
                continue
            # The fast line read its number already (the line starts with the row's number
            # and phone),
            # and its `maybe_dup` flag stays: reading the number again would find it seen.
            phone = text.split(COPY_DELIMITER, 2)[1]
            maybe_dup = "1" if text[-1] == "1" else ""
            if "\x00" not in text:
                kept.append(quoted_line(row_no, cells, phone, maybe_dup))
                continue
            row = (*_shaped(shape, row_no, cells, phone), 1 if maybe_dup else None)
            exact.append(row)
            if row[4] and not maybe_dup:  # rejected here (a NUL), and not a candidate yet
                maybe_rejected.append((row_no, cells))
        fast = kept
        joined = "\n".join(fast)
        maybe_rejected.sort(key=_row_number)
    if candidates is not None:
        candidates.add(maybe_rejected)
    if not exact:
        return joined + "\n"
    if not fast:
        return copy_csv(exact)
    return joined + "\n" + copy_csv(exact)


def shape_batch(
    shape: RowShape,
    batch: list[tuple[int, list[str]]],
    as_copy_text: bool,
    seen: SeenNumbers,
    line=None,
    candidates: RejectedCandidates | None = None,
    quoted_line=None,
):
    """A batch of file rows, shaped: COPY CSV text for PostgreSQL, else a list of tuples."""
    if as_copy_text:
        line = line or fast_line_function(shape, seen=seen)
        return len(batch), _copy_batch(shape, batch, line, seen, candidates, quoted_line)
    rows = [_exact_row(shape, row_no, cells, seen) for row_no, cells in batch]
    if candidates is not None:
        candidates.add(_candidates_of(batch, rows))
    return len(batch), rows


def _batches(rows: Iterator[tuple[int, list[str]]], size: int):
    # islice gathers a batch in C: a Python loop appending row by row cost ~0.2 µs a row.
    while batch := list(islice(rows, size)):
        yield batch


def shaped_batches(
    shape: RowShape,
    rows: Iterator[tuple[int, list[str]]],
    *,
    as_copy_text: bool,
    candidates: RejectedCandidates | None = None,
) -> Iterator[tuple[int, object]]:
    """(row count, shaped rows) per batch of BATCH_ROWS, in file order; each row ends with
    its `maybe_dup` flag (SeenNumbers).

    Shaping runs in this process. A pool of worker processes was measured and dropped: on
    this project's 2-core machine two CPU-bound processes run only ~1.5x as fast as one, and
    the workers then compete with this process (reading the file) and with PostgreSQL (taking
    the COPY), so the dry run of a million rows came out slower, not faster (BENCHMARKS.md).
    """
    seen = SeenNumbers()
    line = fast_line_function(shape, seen=seen) if as_copy_text else None
    quoted_line = quoted_line_function(shape) if as_copy_text else None
    for batch in _batches(rows, BATCH_ROWS):
        shaped = shape_batch(shape, batch, as_copy_text, seen, line, candidates, quoted_line)
        del batch
        # The cycles some invalid numbers leave (engine._cyclic_gc_paused), freed while they
        # are still young: the pass looks at this batch's objects only.
        gc.collect(0)
        yield shaped
