"""Reading an uploaded CSV or XLSX file as rows of text, streamed, never whole in memory.

`screen_file` is the upload request's check: it reads the first bytes and, for XLSX, the zip's
directory, never a row, so a hostile file is refused in milliseconds. `inspect_file` (a
worker's job) looks at the start of the file once (kind, encoding, delimiter, header, a few
sample rows); `iter_rows` then streams every data row with its row number as a spreadsheet
shows it (the header is row 1). Every read is bounded by `ReadLimits`: columns, cell length,
row length, empty rows in a row, and for XLSX the inflated size and compression ratio, so a
small file cannot make a process walk for an hour or fill its memory. Anything that stops the
file from being read raises `ImportFileError` with a message for the person who uploaded it.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.numbers import grouped

CSV = "csv"
XLSX = "xlsx"
ENCODINGS = ("utf-8", "cp1251")
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {
    ",": gettext_lazy("comma"),
    ";": gettext_lazy("semicolon"),
    "\t": gettext_lazy("tab"),
}

# Enough to see the header and a few rows of any sane file, small enough to read at once.
SNIFF_BYTES = 64 * 1024
SAMPLE_ROWS = 5
# Zip members at most this big are never refused for their compression ratio: XML of empty
# cells compresses far better than real data, and a few megabytes cannot hurt a worker.
RATIO_FREE_BYTES = 1024 * 1024
INFLATE_CHUNK = 1024 * 1024
SHARED_STRINGS = "xl/sharedStrings.xml"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc) format


class ImportFileError(ValueError):
    """The file cannot be read as a contact file; the message says why and what to do."""


@dataclass(frozen=True)
class ReadLimits:
    """How much of a file any reader takes before it refuses it (settings CONTACTS_IMPORT_*).

    The defaults are generous for a contact file and small for a hostile one.
    """

    max_columns: int = 300
    # One cell of a contact file is never this long; a bigger one is a broken quote or worse.
    max_cell_chars: int = 100_000
    # This many empty rows in a row end the sheet: a spreadsheet may claim (or hold) a million
    # empty rows below its data, and walking them is all the cost of such a file.
    max_empty_rows: int = 10_000
    # XLSX is a zip of XML: its members' sizes once inflated, in all and for the shared
    # strings (which openpyxl holds in memory whole), and how much smaller a member may be
    # packed than it inflates (a zip bomb's ratio is in the thousands).
    max_inflated_bytes: int = 1024 * 1024 * 1024
    max_shared_strings_bytes: int = 100 * 1024 * 1024
    max_ratio: int = 100

    @property
    def max_row_chars(self) -> int:
        """The longest physical line of a CSV read: a row of a few long cells fits."""
        return 2 * self.max_cell_chars


@dataclass
class FileLayout:
    kind: str
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    sample_rows: list[list[str]] = field(default_factory=list)
    # Rows in the file, estimated from the first bytes (CSV) or the sheet's size (XLSX).
    estimated_rows: int = 0
    limits: ReadLimits = field(default_factory=ReadLimits)


def detect_kind(path: Path, name: str) -> str:
    with open(path, "rb") as stream:
        start = stream.read(SNIFF_BYTES)
    if not start:
        raise ImportFileError(_("The file is empty."))
    if start.startswith(_ZIP_MAGIC):
        return XLSX
    if start.startswith(_OLE_MAGIC):
        raise ImportFileError(
            _("“%(name)s” is an old Excel .xls file; save it as .xlsx or CSV and upload it again.")
            % {"name": name}
        )
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            _(
                "“%(name)s” is saved as UTF-16 (Excel's “Unicode Text”); save it as “CSV UTF-8” "
                "and upload it again."
            )
            % {"name": name}
        )
    if b"\x00" in start:
        raise ImportFileError(
            _(
                "“%(name)s” is not a CSV or XLSX file (it holds binary data). Export the "
                "contacts from your spreadsheet as CSV or XLSX."
            )
            % {"name": name}
        )
    return CSV


def screen_file(path: Path, name: str, limits: ReadLimits) -> str:
    """The file's kind, refusing what is plainly not a contact file; reads no row.

    Cheap enough for the upload request: the first bytes, and for XLSX the zip's directory
    (the sizes it declares), which is refused before anything inflates it.
    """
    kind = detect_kind(path, name)
    if kind == XLSX:
        check_archive(path, limits, inflate=False)
    return kind


def _mb(size: int) -> str:
    return _("%(megabytes)s MB") % {"megabytes": grouped(round(size / 1024 / 1024))}


def _not_a_workbook(exc: Exception) -> ImportFileError:
    return ImportFileError(
        _("The file looks like XLSX but cannot be opened as a workbook (%(error)s).")
        % {"error": exc}
    )


def check_archive(path: Path, limits: ReadLimits, *, inflate: bool) -> None:
    """Refuses an XLSX whose members inflate beyond the limits.

    The sizes the zip declares are checked first; with `inflate`, every member is then
    inflated chunk by chunk into nothing, counting what it really holds (a zip may lie
    about its sizes), before openpyxl is allowed to read it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_sizes([(m.filename, m.file_size, m.compress_size) for m in members], limits)
            if inflate:
                _check_sizes(_inflated_sizes(archive, members, limits), limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise _not_a_workbook(exc) from exc


def _inflated_sizes(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], limits: ReadLimits
) -> Iterator[tuple[str, int, int]]:
    total = 0
    for member in members:
        size = 0
        with archive.open(member) as stream:
            while chunk := stream.read(INFLATE_CHUNK):
                size += len(chunk)
                total += len(chunk)
                if total > limits.max_inflated_bytes:
                    break  # _check_sizes refuses it: inflate no further
        yield member.filename, size, member.compress_size
        if total > limits.max_inflated_bytes:
            return


def _check_sizes(sizes: Iterable[tuple[str, int, int]], limits: ReadLimits) -> None:
    total = 0
    for name, size, packed in sizes:
        total += size
        if total > limits.max_inflated_bytes:
            raise ImportFileError(
                _(
                    "This XLSX file inflates to more than %(size)s once unpacked; imports take "
                    "at most %(limit)s. Save the sheet as CSV (or split it) and upload that."
                )
                % {"size": _mb(total), "limit": _mb(limits.max_inflated_bytes)}
            )
        if name == SHARED_STRINGS and size > limits.max_shared_strings_bytes:
            raise ImportFileError(
                _(
                    "This XLSX file inflates to %(size)s of text (its shared strings) once "
                    "unpacked; imports take at most %(limit)s. Save the sheet as CSV (or split "
                    "it) and upload that."
                )
                % {"size": _mb(size), "limit": _mb(limits.max_shared_strings_bytes)}
            )
        if size > RATIO_FREE_BYTES and size > packed * limits.max_ratio:
            raise ImportFileError(
                _(
                    "This XLSX file is packed %(ratio)s times smaller than it inflates "
                    "(%(member)s); no spreadsheet of contacts is, so it is refused. Save the "
                    "sheet as CSV and upload that."
                )
                % {"ratio": grouped(size // max(packed, 1)), "member": name}
            )


def sniff_encoding(sample: bytes) -> str:
    """utf-8 (BOM or not) when the bytes are valid UTF-8, else cp1251, else ImportFileError."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        # Not final: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1251")
        return "cp1251"
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _(
                "The file is neither UTF-8 nor Windows-1251 (cp1251) text; save it as CSV UTF-8 "
                "and upload it again (undecodable byte 0x%(byte)s)."
            )
            % {"byte": f"{sample[exc.start]:02x}"}
        ) from exc


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, and equally many, columns."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line short
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths:
            continue
        consistent = sum(1 for width in widths if width == widths[0])
        score = (consistent if widths[0] > 1 else 0, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    # utf-8-sig reads files with and without a BOM alike; newline="" as the csv module wants.
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    return open(path, encoding=codec, errors="strict", newline="")


def inspect_file(
    path: Path,
    name: str,
    *,
    encoding: str = "",
    delimiter: str = "",
    limits: ReadLimits | None = None,
) -> FileLayout:
    """What the file is and how to read it; `encoding`/`delimiter` override the detection."""
    limits = limits or ReadLimits()
    kind = screen_file(path, name, limits)
    if kind == XLSX:
        return _inspect_xlsx(path, limits)
    with open(path, "rb") as stream:
        sample = stream.read(SNIFF_BYTES)
    encoding = encoding or sniff_encoding(sample)
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        text = codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _(
                "The file is not valid %(encoding)s text (undecodable byte 0x%(byte)s near the "
                "start); choose the other encoding."
            )
            % {"encoding": encoding, "byte": f"{sample[exc.start]:02x}"}
        ) from exc
    delimiter = delimiter or sniff_delimiter(text)
    layout = FileLayout(kind=CSV, encoding=encoding, delimiter=delimiter, limits=limits)
    _read_header_and_samples(
        layout, iter_rows(path, layout, with_header=True), _("The file is empty.")
    )
    lines_in_sample = max(1, text.count("\n"))
    size = path.stat().st_size
    if size <= len(sample):
        layout.estimated_rows = max(0, lines_in_sample - 1 + (not text.endswith("\n")))
    else:
        layout.estimated_rows = int(size / len(sample) * lines_in_sample)
    return layout


def _read_header_and_samples(
    layout: FileLayout, rows: Iterator[tuple[int, list[str]]], if_empty: str
) -> None:
    try:
        try:
            _row, header = next(rows)
        except StopIteration:
            raise ImportFileError(if_empty) from None
        layout.headers = [cell.strip() for cell in header]
        _check_header(layout.headers)
        for _row_number, row in rows:
            layout.sample_rows.append(row)
            if len(layout.sample_rows) == SAMPLE_ROWS:
                break
    finally:
        rows.close()


def _check_header(headers: list[str]) -> None:
    if not any(headers):
        raise ImportFileError(
            _(
                "The first row is empty: the file needs a header row naming its columns "
                "(e.g. phone,name,city)."
            )
        )


def _check_width(row_number: int, width: int, limits: ReadLimits) -> None:
    if width > limits.max_columns:
        raise ImportFileError(
            _(
                "Row %(row)s has %(columns)s columns; imports take at most %(limit)s. Keep the "
                "phone, the name and the fields you need, and upload the file again."
            )
            % {"row": row_number, "columns": grouped(width), "limit": grouped(limits.max_columns)}
        )


def _cell_too_long(row_number: int, limits: ReadLimits) -> ImportFileError:
    return ImportFileError(
        _(
            "Row %(row)s has a cell longer than %(limit)s characters; no contact's value is "
            "that long (a quote left open makes one cell of many rows). Fix that row and upload "
            "the file again."
        )
        % {"row": row_number, "limit": grouped(limits.max_cell_chars)}
    )


def _bounded_lines(stream: io.TextIOWrapper, limits: ReadLimits) -> Iterator[str]:
    """The file's physical lines, refusing one longer than a row can be before the csv
    module builds a list of its millions of empty cells (a 200 MB line of commas)."""
    limit = limits.max_row_chars
    line_number = 0
    while line := stream.readline(limit + 1):
        line_number += 1
        if len(line) > limit:
            raise ImportFileError(
                _(
                    "Line %(line)s is longer than %(limit)s characters; no row of contacts is "
                    "(a cell holds at most %(cell_limit)s). Fix it and upload the file again."
                )
                % {
                    "line": grouped(line_number),
                    "limit": grouped(limit),
                    "cell_limit": grouped(limits.max_cell_chars),
                }
            )
        yield line


def iter_rows(
    path: Path, layout: FileLayout, *, with_header: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for every non-blank row; the header is row 1.

    `layout.limits` bounds what is read: a row wider or a cell longer than they allow raises
    ImportFileError, and as many blank rows in a row as they allow end the file.
    """
    if layout.kind == XLSX:
        yield from _iter_xlsx(path, layout.limits, with_header=with_header)
        return
    limits = layout.limits
    max_columns = limits.max_columns
    csv.field_size_limit(limits.max_cell_chars)
    with _open_text(path, layout.encoding) as stream:
        reader = csv.reader(_bounded_lines(stream, limits), delimiter=layout.delimiter)
        row_number = blank_run = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                # Text is decoded a block ahead of the rows, so the row is a lower bound.
                raise ImportFileError(
                    _(
                        "The file stops being valid %(encoding)s text at or after row %(row)s "
                        "(undecodable byte 0x%(byte)s). Choose the other encoding, or save the "
                        "file as CSV UTF-8 and upload it again."
                    )
                    % {
                        "encoding": layout.encoding,
                        "row": row_number + 1,
                        "byte": f"{exc.object[exc.start]:02x}",
                    }
                ) from exc
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise _cell_too_long(row_number + 1, limits) from exc
                raise ImportFileError(
                    _(
                        "Row %(row)s cannot be read as CSV (%(error)s); a quote is probably left "
                        "open. Fix that row and upload the file again."
                    )
                    % {"row": row_number + 1, "error": exc}
                ) from exc
            if not row or (len(row) == 1 and not row[0].strip()):
                blank_run += 1
                if blank_run > limits.max_empty_rows:
                    return
                continue  # blank lines are not rows
            blank_run = 0
            row_number += 1
            if len(row) > max_columns:  # compared here: a call per row costs a million calls
                _check_width(row_number, len(row), limits)
            if row_number == 1 and not with_header:
                continue
            yield row_number, row


# --- XLSX -----------------------------------------------------------------------------------


def _load_sheet(path: Path, limits: ReadLimits):
    import openpyxl  # a heavy import, needed only for spreadsheets

    # openpyxl inflates what it reads and keeps the shared strings in memory: the archive is
    # measured first, for real, so a bomb never reaches it.
    check_archive(path, limits, inflate=True)
    try:
        # read_only streams the sheet's XML; formulas stay text (data_only=False): an import
        # must never evaluate what a cell says.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean "not a workbook"
        raise _not_a_workbook(exc) from exc
    # Its <dimension> is whatever the file says (A1:XFD1048576 pads every row to 16,384
    # cells and walks a million empty rows): read the rows the XML holds, as wide as they are.
    sheet.reset_dimensions()
    return workbook, sheet


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # 380501234567.0 from a number-formatted phone column is the integer it shows.
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _iter_xlsx(
    path: Path, limits: ReadLimits, *, with_header: bool
) -> Iterator[tuple[int, list[str]]]:
    workbook, sheet = _load_sheet(path, limits)
    try:
        row_number = empty_run = 0
        for values in sheet.iter_rows(values_only=True):
            if len(values) > limits.max_columns:
                # A row as wide as its last cell: empty cells far right (formatting) are
                # dropped, a value there is refused.
                if any(value not in (None, "") for value in values[limits.max_columns :]):
                    _check_width(row_number + 1, len(values), limits)
                values = values[: limits.max_columns]
            cells = [_cell_text(value) for value in values]
            while cells and not cells[-1].strip():
                cells.pop()
            if not cells:
                empty_run += 1
                if empty_run > limits.max_empty_rows:
                    return
                continue
            empty_run = 0
            row_number += 1
            if any(len(cell) > limits.max_cell_chars for cell in cells):
                raise _cell_too_long(row_number, limits)
            if row_number == 1 and not with_header:
                continue
            yield row_number, cells
    finally:
        workbook.close()


# Bytes of sheet XML per row of a small contact sheet, for the progress bar's first estimate.
_XLSX_BYTES_PER_ROW = 100


def _inspect_xlsx(path: Path, limits: ReadLimits) -> FileLayout:
    layout = FileLayout(kind=XLSX, limits=limits)
    _read_header_and_samples(
        layout,
        _iter_xlsx(path, limits, with_header=True),
        _("The workbook's first sheet is empty."),
    )
    with zipfile.ZipFile(path) as archive:
        sheets = [m for m in archive.infolist() if m.filename.startswith("xl/worksheets/")]
        sheet_bytes = sheets[0].file_size if sheets else 0
    layout.estimated_rows = max(len(layout.sample_rows), sheet_bytes // _XLSX_BYTES_PER_ROW)
    return layout
