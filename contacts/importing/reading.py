"""Reading an uploaded CSV or XLSX file as rows of text, streamed, never whole in memory.

`inspect_file` looks at the start of the file once (kind, encoding, delimiter, header, a few
sample rows); `iter_rows` then streams every data row with its row number as a spreadsheet
shows it (the header is row 1). Anything that stops the file from being read raises
`ImportFileError` with a message for the person who uploaded it.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

CSV = "csv"
XLSX = "xlsx"
ENCODINGS = ("utf-8", "cp1251")
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

# Enough to see the header and a few rows of any sane file, small enough to read at once.
SNIFF_BYTES = 64 * 1024
SAMPLE_ROWS = 5
# One cell of a contact file is never this long; a bigger one means a broken quote.
MAX_CELL_CHARS = 100_000
csv.field_size_limit(MAX_CELL_CHARS)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc) format


class ImportFileError(ValueError):
    """The file cannot be read as a contact file; the message says why and what to do."""


@dataclass
class FileLayout:
    kind: str
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    sample_rows: list[list[str]] = field(default_factory=list)
    # Rows in the file, counted (XLSX: from its dimension) or estimated from the first bytes.
    estimated_rows: int = 0


def detect_kind(path: Path, name: str) -> str:
    with open(path, "rb") as stream:
        start = stream.read(SNIFF_BYTES)
    if not start:
        raise ImportFileError("The file is empty.")
    if start.startswith(_ZIP_MAGIC):
        return XLSX
    if start.startswith(_OLE_MAGIC):
        raise ImportFileError(
            f"“{name}” is an old Excel .xls file; save it as .xlsx or CSV and upload it again."
        )
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            f"“{name}” is saved as UTF-16 (Excel's “Unicode Text”); save it as “CSV UTF-8” "
            "and upload it again."
        )
    if b"\x00" in start:
        raise ImportFileError(
            f"“{name}” is not a CSV or XLSX file (it holds binary data). Export the contacts "
            "from your spreadsheet as CSV or XLSX."
        )
    return CSV


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
            "The file is neither UTF-8 nor Windows-1251 (cp1251) text; save it as CSV UTF-8 "
            f"and upload it again (undecodable byte 0x{sample[exc.start]:02x})."
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


def inspect_file(path: Path, name: str, *, encoding: str = "", delimiter: str = "") -> FileLayout:
    """What the file is and how to read it; `encoding`/`delimiter` override the detection."""
    kind = detect_kind(path, name)
    if kind == XLSX:
        return _inspect_xlsx(path, name)
    with open(path, "rb") as stream:
        sample = stream.read(SNIFF_BYTES)
    encoding = encoding or sniff_encoding(sample)
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        text = codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not valid {encoding} text (undecodable byte 0x{sample[exc.start]:02x}"
            " near the start); choose the other encoding."
        ) from exc
    delimiter = delimiter or sniff_delimiter(text)
    layout = FileLayout(kind=CSV, encoding=encoding, delimiter=delimiter)
    rows = iter_rows(path, layout, with_header=True)
    try:
        _, header = next(rows)
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    layout.headers = [cell.strip() for cell in header]
    _check_header(layout.headers)
    for _, row in rows:
        layout.sample_rows.append(row)
        if len(layout.sample_rows) == SAMPLE_ROWS:
            break
    rows.close()
    lines_in_sample = max(1, text.count("\n"))
    size = path.stat().st_size
    if size <= len(sample):
        layout.estimated_rows = max(0, lines_in_sample - 1 + (not text.endswith("\n")))
    else:
        layout.estimated_rows = int(size / len(sample) * lines_in_sample)
    return layout


def _check_header(headers: list[str]) -> None:
    if not any(headers):
        raise ImportFileError(
            "The first row is empty: the file needs a header row naming its columns "
            "(e.g. phone,name,city)."
        )


def iter_rows(
    path: Path, layout: FileLayout, *, with_header: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for every non-blank row; the header is row 1."""
    if layout.kind == XLSX:
        yield from _iter_xlsx(path, with_header=with_header)
        return
    with _open_text(path, layout.encoding) as stream:
        reader = csv.reader(stream, delimiter=layout.delimiter)
        row_number = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                # Text is decoded a block ahead of the rows, so the row is a lower bound.
                raise ImportFileError(
                    f"The file stops being valid {layout.encoding} text at or after row "
                    f"{row_number + 1} (undecodable byte 0x{exc.object[exc.start]:02x}). Choose "
                    "the other encoding, or save the file as CSV UTF-8 and upload it again."
                ) from exc
            except csv.Error as exc:
                raise ImportFileError(
                    f"Row {row_number + 1} cannot be read as CSV ({exc}); a quote is probably "
                    "left open. Fix that row and upload the file again."
                ) from exc
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines are not rows
            row_number += 1
            if row_number == 1 and not with_header:
                continue
            yield row_number, row


# --- XLSX -----------------------------------------------------------------------------------


def _load_sheet(path: Path):
    import openpyxl  # a heavy import, needed only for spreadsheets

    try:
        # read_only streams the sheet's XML; formulas stay text (data_only=False): an import
        # must never evaluate what a cell says.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean "not a workbook"
        raise ImportFileError(
            f"The file looks like XLSX but cannot be opened as a workbook ({exc})."
        ) from exc
    return workbook, workbook.worksheets[0]


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


def _iter_xlsx(path: Path, *, with_header: bool) -> Iterator[tuple[int, list[str]]]:
    workbook, sheet = _load_sheet(path)
    try:
        row_number = 0
        for values in sheet.iter_rows(values_only=True):
            cells = [_cell_text(value) for value in values]
            while cells and not cells[-1].strip():
                cells.pop()  # read-only sheets pad every row to the widest one
            if not cells:
                continue
            row_number += 1
            if row_number == 1 and not with_header:
                continue
            yield row_number, cells
    finally:
        workbook.close()


def _inspect_xlsx(path: Path, name: str) -> FileLayout:
    layout = FileLayout(kind=XLSX)
    rows = _iter_xlsx(path, with_header=True)
    try:
        _, header = next(rows)
    except StopIteration:
        rows.close()
        raise ImportFileError("The workbook's first sheet is empty.") from None
    layout.headers = [cell.strip() for cell in header]
    _check_header(layout.headers)
    for _, row in rows:
        layout.sample_rows.append(row)
        if len(layout.sample_rows) == SAMPLE_ROWS:
            break
    rows.close()
    workbook, sheet = _load_sheet(path)
    try:
        layout.estimated_rows = max(0, (sheet.max_row or 1) - 1)
    finally:
        workbook.close()
    return layout
