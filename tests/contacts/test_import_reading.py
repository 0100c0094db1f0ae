"""Reading import files (contacts.importing.reading) and guessing the mapping (….mapping)."""

# Cyrillic letters in these files are meant: the files people import are in Ukrainian.
# ruff: noqa: RUF001
import codecs

import openpyxl
import pytest

from contacts.importing import mapping as mapping_rules
from contacts.importing.reading import CSV, XLSX, ImportFileError, inspect_file, iter_rows


def write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def rows(path, layout):
    return list(iter_rows(path, layout))


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        (b"phone,name,city\n380501234567,Olena,Kyiv\n", ","),
        (b"phone;name;city\n380501234567;Olena;Kyiv\n", ";"),
        (b"phone\tname\tcity\n380501234567\tOlena\tKyiv\n", "\t"),
        # A comma inside a quoted name must not make the comma win over the semicolon.
        (b'phone;name\n380501234567;"Shevchenko, Taras"\n380671234567;Olena\n', ";"),
    ],
)
def test_it_detects_the_delimiter(tmp_path, content, delimiter):
    path = write(tmp_path, "contacts.csv", content)
    layout = inspect_file(path, "contacts.csv")
    assert (layout.kind, layout.delimiter) == (CSV, delimiter)
    assert layout.headers[0] == "phone"


def test_utf8_with_a_bom_reads_like_utf8_without(tmp_path):
    text = "телефон,ім'я\n380501234567,Олена\n"
    with_bom = write(tmp_path, "a.csv", codecs.BOM_UTF8 + text.encode())
    without = write(tmp_path, "b.csv", text.encode())
    for path in (with_bom, without):
        layout = inspect_file(path, path.name)
        assert layout.encoding == "utf-8"
        assert layout.headers == ["телефон", "ім'я"]  # no "\ufeff" glued to the first header
        assert rows(path, layout) == [(2, ["380501234567", "Олена"])]


def test_cp1251_cyrillic_is_detected(tmp_path):
    path = write(
        tmp_path, "win.csv", "Телефон;Имя;Город\n380501234567;Олена;Київ\n".encode("cp1251")
    )
    layout = inspect_file(path, "win.csv")
    assert (layout.encoding, layout.delimiter) == ("cp1251", ";")
    assert layout.headers == ["Телефон", "Имя", "Город"]
    assert layout.sample_rows == [["380501234567", "Олена", "Київ"]]


def test_the_user_can_force_the_encoding(tmp_path):
    path = write(tmp_path, "win.csv", "phone,name\n380501234567,Олена\n".encode("cp1251"))
    with pytest.raises(ImportFileError, match="not valid utf-8"):
        inspect_file(path, "win.csv", encoding="utf-8")


def test_a_file_that_turns_undecodable_later_says_after_which_row(tmp_path):
    head = b"phone,name\n" + b"380501234567,Olena\n" * 5000
    path = write(tmp_path, "mixed.csv", head + b"380671234567,\xff\xfe\n")
    layout = inspect_file(path, "mixed.csv")
    assert layout.encoding == "utf-8"
    with pytest.raises(ImportFileError, match=r"stops being valid utf-8 text at or after row \d+"):
        rows(path, layout)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\n\n\n", "The file is empty"),
        (b",,\n380501234567,a,b\n", "header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV or XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel .xls"),
        (b"PK\x03\x04not really a zip", "cannot be opened as a workbook"),
    ],
)
def test_files_that_cannot_be_imports_get_a_specific_error(tmp_path, content, message):
    path = write(tmp_path, "upload.csv", content)
    with pytest.raises(ImportFileError, match=message):
        inspect_file(path, "upload.csv")


def test_an_unclosed_quote_is_reported_with_its_row(tmp_path):
    path = write(tmp_path, "q.csv", b'phone,name\n380501234567,"Olena\n' + b"x" * 200_000)
    with pytest.raises(ImportFileError, match=r"Row 2 has a cell longer .*quote left open"):
        inspect_file(path, "q.csv")


def test_blank_lines_are_not_rows_and_numbering_follows_the_spreadsheet(tmp_path):
    path = write(tmp_path, "b.csv", b"phone\n\n380501234567\n\n380671234567\n")
    layout = inspect_file(path, "b.csv")
    assert rows(path, layout) == [(2, ["380501234567"]), (3, ["380671234567"])]


def test_xlsx_is_streamed_and_formulas_stay_text(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Phone", "Name", "Total"])
    sheet.append([380501234567, "Olena", "=SUM(1,2)"])
    sheet.append([3.80671234567e11, "Taras", 12.5])
    sheet.append([None, None, None])  # an empty row in the middle is skipped
    sheet.append(["+380 93 123 4567", None, None])
    path = tmp_path / "book.xlsx"
    workbook.save(path)

    layout = inspect_file(path, "book.xlsx")
    assert layout.kind == XLSX
    assert layout.headers == ["Phone", "Name", "Total"]
    assert rows(path, layout) == [
        (2, ["380501234567", "Olena", "=SUM(1,2)"]),
        (3, ["380671234567", "Taras", "12.5"]),
        (4, ["+380 93 123 4567"]),
    ]


# --- mapping ------------------------------------------------------------------------------------


def test_headers_are_mapped_in_english_ukrainian_and_russian():
    headers = ["Номер телефону", "Ім’я", "Місто", "Order No.", "email"]
    mapping, suggested = mapping_rules.guess_mapping(headers, [("city", "Місто")])
    assert mapping == {"0": "phone", "1": "name", "2": "field:city", "3": "", "4": ""}
    assert suggested == {"3": "order_no", "4": "email"}


@pytest.mark.parametrize(
    "header", ["phone", "Phone Number", "TEL", "mobile", "MSISDN", "номер", "Телефон", "мобильный"]
)
def test_phone_headers(header):
    mapping, _ = mapping_rules.guess_mapping([header], [])
    assert mapping == {"0": "phone"}


def test_fields_match_by_key_or_label_case_insensitively():
    fields = [("order_no", "Order"), ("loyalty_tier", "Loyalty tier")]
    mapping, suggested = mapping_rules.guess_mapping(["tel", "LOYALTY-TIER", "order"], fields)
    assert mapping == {"0": "phone", "1": "field:loyalty_tier", "2": "field:order_no"}
    assert suggested == {}


@pytest.mark.parametrize(
    "header",
    [
        "First name",
        "FIRST_NAME",
        "Имя",
        "Ім'я",
        "Ім’я",
        "Iм'я",
        "Name",
        "ФИО",
        "Ф.И.О.",
        "Full name",
    ],
)
def test_name_headers_feed_the_name_before_any_field(header):
    """The built-in Name first, even beside a field called first_name: search and {name} read
    the Name, and an import that left it empty made "Ольга" unfindable by name."""
    mapping, suggested = mapping_rules.guess_mapping(
        ["phone", header], [("first_name", "First name")]
    )
    assert mapping == {"0": "phone", "1": "name"}
    assert suggested == {}


def test_first_and_last_name_columns_both_feed_the_name():
    mapping, _ = mapping_rules.guess_mapping(["Прізвище", "Ім'я", "Телефон"], [])
    assert mapping == {"0": "name", "1": "name", "2": "phone"}


@pytest.mark.parametrize("header", ["City", "CITY", "Місто", "Мiсто", "Город", "город ", "Town"])
@pytest.mark.parametrize(
    ("key", "label"), [("city", "City"), ("misto", "Місто"), ("town", "Город")]
)
def test_a_city_column_finds_the_existing_city_field_in_any_language(header, key, label):
    mapping, suggested = mapping_rules.guess_mapping(["phone", header], [(key, label)])
    assert mapping == {"0": "phone", "1": f"field:{key}"}
    assert suggested == {}


def test_without_a_city_field_a_city_column_is_offered_as_city():
    _, suggested = mapping_rules.guess_mapping(["phone", "Город", "E-mail"], [])
    assert suggested == {"1": "city", "2": "email"}


def test_a_field_keyed_from_an_earlier_cyrillic_header_is_found_again():
    mapping, _ = mapping_rules.guess_mapping(
        ["phone", "Улюблений колір"], [("ulyublenyy_kolir", "x")]
    )
    assert mapping["1"] == "field:ulyublenyy_kolir"


def test_a_field_named_exactly_wins_over_a_synonym_of_another():
    fields = [("town", "Town"), ("city", "City")]
    mapping, _ = mapping_rules.guess_mapping(["phone", "City", "Town"], fields)
    assert mapping == {"0": "phone", "1": "field:city", "2": "field:town"}


def test_only_the_first_phone_column_is_the_phone():
    mapping, suggested = mapping_rules.guess_mapping(["phone", "mobile"], [])
    assert mapping["0"] == "phone"
    assert mapping["1"] == ""
    assert suggested == {"1": "mobile"}


def test_without_a_phone_header_a_column_of_numbers_is_taken():
    mapping, suggested = mapping_rules.guess_mapping(
        ["who", "contact"],
        [],
        sample_rows=[["Olena", "+380 50 123 4567"], ["Taras", "0671234567"]],
    )
    assert mapping == {"0": "", "1": "phone"}
    assert suggested == {"0": "who"}


def test_opt_out_files_map_only_phone_and_reason():
    mapping, suggested = mapping_rules.guess_mapping(
        ["phone", "reason", "name"], [], for_opt_outs=True
    )
    assert mapping == {"0": "phone", "1": "reason", "2": ""}
    assert suggested == {}


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Order No.", "order_no"),
        ("Місто", "misto"),
        ("Дата народження", "data_narodzhennya"),
        ("2nd line", "f_2nd_line"),
        ("", "column_4"),
        ("😀", "column_4"),
    ],
)
def test_new_field_keys_are_made_from_headers(header, key):
    assert mapping_rules.field_key_for(header, position=3) == key


def test_mapping_problems_are_sentences():
    assert mapping_rules.mapping_problems({"0": "name"}) == [
        "Choose the column that holds the phone numbers."
    ]
    assert mapping_rules.mapping_problems({"0": "phone", "1": "phone"}) == [
        "Only one column can hold the phone numbers."
    ]
    assert mapping_rules.mapping_problems({"0": "phone", "1": "field:city", "2": "field:city"}) == [
        "Each field can be fed by one column only: city."
    ]
    assert mapping_rules.mapping_problems({"0": "phone", "1": "name", "2": "name"}) == []
