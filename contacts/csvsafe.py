"""CSV cells that a spreadsheet will not run as formulas.

Excel, LibreOffice and Google Sheets treat a cell beginning with `=`, `+`, `-` or `@` as a
formula (and tab or carriage return can smuggle one past a naive check): a contact named
`=HYPERLINK(...)` would run when marketing opens the export. A leading `'` makes the cell text.

Phones are the one exception: `phone_cell` writes them `+380501234567`, international format,
as BSG and our import read them. A `+` and digits alone is a number to a spreadsheet (the
worst it can become is 380501234567 again), never a call to anything.
"""

import re
from collections.abc import Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """`value`, made inert for spreadsheets by a leading `'` if it could start a formula."""
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise_cells(values: Iterable[str]) -> list[str]:
    """`neutralise_cell` of each value, for a whole row at once: a rejected-rows report writes
    a million rows of ten cells, and a function call per cell was a tenth of its time."""
    return ["'" + value if value.startswith(FORMULA_TRIGGERS) else value for value in values]


_STORED_PHONE = re.compile(r"\d{1,15}")


def phone_cell(phone: str) -> str:
    """A stored phone (digits, country code first) as `+380501234567` for an export.

    Anything else (never stored by our validators, but a cell is no place to trust that) is
    neutralised like any other text.
    """
    if _STORED_PHONE.fullmatch(phone):
        return "+" + phone
    return neutralise_cell(phone)
