import pytest

from contacts.csvsafe import neutralise_cell, neutralise_cells, phone_cell


@pytest.mark.parametrize(
    "value",
    ["=1+2", "+380501234567", "-3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")'],
)
def test_a_cell_that_could_start_a_formula_gets_a_leading_quote(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["", "Olena", "380501234567", "a=b", " =1", "Київ", "😀"])
def test_ordinary_cells_are_left_alone(value):
    assert neutralise_cell(value) == value


def test_a_stored_phone_goes_out_in_international_format():
    assert phone_cell("380501234567") == "+380501234567"


@pytest.mark.parametrize("value", ["=1+2", "+380501234567", "380 50", ""])
def test_anything_but_a_stored_phone_in_the_phone_column_is_treated_as_text(value):
    assert phone_cell(value) == neutralise_cell(value)


def test_a_row_is_neutralised_cell_by_cell_as_one_cell_is():
    cells = ["=1+2", "Olena", "", "+380501234567", " =1", "\t=1"]
    assert neutralise_cells(cells) == [neutralise_cell(cell) for cell in cells]
