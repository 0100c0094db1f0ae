"""CSV cells that a spreadsheet will not run as formulas.

Excel, LibreOffice and Google Sheets treat a cell beginning with `=`, `+`, `-` or `@` as a
formula (and tab or carriage return can smuggle one past a naive check): a contact named
`=HYPERLINK(...)` would run when marketing opens the export. A leading `'` makes the cell text.
"""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """`value`, made inert for spreadsheets by a leading `'` if it could start a formula."""
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
