import pytest

from contacts.csvsafe import neutralise_cell


@pytest.mark.parametrize(
    "value",
    ["=1+2", "+380501234567", "-3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")'],
)
def test_a_cell_that_could_start_a_formula_gets_a_leading_quote(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["", "Olena", "380501234567", "a=b", " =1", "Київ", "😀"])
def test_ordinary_cells_are_left_alone(value):
    assert neutralise_cell(value) == value
