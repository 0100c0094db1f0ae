"""The import's fastest phone checks give exactly the answers of the ordinary path.

`contacts.phones` settles the most common shapes (the default region's own numbers, bare,
after `+` or decorated as people and spreadsheets write them) by one compiled regex per
region, and short numbers of shared country codes by their length; `_parse_reference` (plain
`phonenumbers.parse` + `is_valid_number`) is the oracle.
"""

import random

import phonenumbers
import pytest
from phonenumbers import SUPPORTED_REGIONS, PhoneNumberType

from contacts import phones
from contacts.importing.shaping import COPY_DELIMITER, RowShape, fast_line_function
from contacts.phones import InvalidPhone, normalize_phone, own_number_reader


def _near_misses(region: str, rng: random.Random) -> list[str]:
    """Digits with the region's country code: its example numbers and many numbers like them."""
    code = str(phonenumbers.country_code_for_region(region))
    nationals = []
    for number_type in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is not None:
            nationals.append(phonenumbers.national_significant_number(example))
    numbers = []
    for national in nationals:
        for _ in range(6):
            keep = rng.randint(0, len(national))
            tail = "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
            changed = national[:keep] + tail
            numbers += [
                code + changed,
                code + changed[:-1],
                code + changed + "7",
                code + "0" + changed,
            ]
    return [number for number in numbers if 1 <= len(number) <= phones.MAX_DIGITS]


def test_the_regex_reads_every_region_s_own_numbers_as_phonenumbers_does():
    """The shortcuts of `_parse` (the own-number regexes, the national-prefix regex, "00" read
    as "+", a `+` code no country has) give `_parse_reference`'s answer, region by region."""
    rng = random.Random(20261123)
    checked = matched = national_matched = 0
    mismatches = []
    for region in sorted(SUPPORTED_REGIONS):
        plain, plus = phones._own_number_patterns(region)
        national = phones._national_number_pattern(region)
        code = str(phonenumbers.country_code_for_region(region))
        prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix_for_parsing
        for digits in _near_misses(region, rng):
            spellings = [(digits, plain), ("+" + digits, plus), ("00" + digits, None)]
            if prefix and prefix.isdigit():
                spellings.append((prefix + digits[len(code) :], None))
            spellings.append(("+8" + digits[len(code) :], None))  # +8…: mostly no such code
            for spelling, pattern in spellings:
                body = spelling.removeprefix("+")
                checked += 1
                matched += bool(pattern is not None and pattern.fullmatch(spelling))
                national_matched += bool(national is not None and national[1].fullmatch(spelling))
                fast = phones._parse(spelling, body, region)
                if fast != phones._parse_reference(spelling, body, region):
                    mismatches.append((spelling, region, fast))
    assert mismatches == []
    assert checked > 50_000
    assert matched > 3_000  # the regexes really are exercised, not skipped
    assert national_matched > 1_000


def _decorated(digits: str, rng: random.Random) -> list[str]:
    """`digits` written the ways customers' files write numbers, and ways close to them that
    mean something else or nothing (a `+` or an apostrophe inside, a dot, a thin space)."""
    cut = rng.randint(1, max(1, len(digits) - 1))
    head, tail = digits[:cut], digits[cut:]
    return [
        digits,
        f"+{digits}",
        f"'+{digits}",
        f"'{digits}",
        f"  {digits} ",
        f" +{head} {tail}",
        f"+{head}-{tail}",
        f"+{head[:2]} ({head[2:]}) {tail}",
        f"({head}) {tail}",
        f"{head}\u00a0{tail}",
        f"+ {digits}",
        f"' +{digits}",
        f"{head}+{tail}",
        f"+{head}'{tail}",
        f"++{digits}",
        f"{digits}.0",
        f"{head}.{tail}",
        f"{head}\u2009{tail}",
        f"00{digits}",
        f"{head}\t{tail}",
    ]


def test_the_import_s_shortcut_promises_normalize_phone_s_answer():
    rng = random.Random(7)
    read = 0
    for region in ("UA", "DE", "PL", "KZ", "GB", "US", "IN", "BR", "IT", "CH", "FR", "RU"):
        reader = own_number_reader(region)
        code = str(phonenumbers.country_code_for_region(region))
        prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
        for digits in _near_misses(region, rng):
            national = prefix + digits[len(code) :]
            for spelling in _decorated(digits, rng) + _decorated(national, rng):
                answer = reader(spelling) if reader is not None else None
                if answer is None:
                    continue
                read += 1
                assert normalize_phone(spelling, region=region) == answer, (spelling, region)
    assert read > 800  # the shortcut really answers, and for decorated spellings too
    ua = own_number_reader("UA")
    for spelling in (
        "380501234567", "+380 50 123 4567", "'+380(50)123-45-67", " 380501234567 ",
        "0501234567", "(050) 123-45-67", "050 123 4567",
    ):  # fmt: skip
        assert ua(spelling) == "380501234567", spelling
    full_width = "\uff13\uff18\uff10501234567"
    for raw in ("00501234567", "380001234567", "3805012345678", full_width, "380+501234567"):
        assert ua(raw) is None, raw


def test_regions_whose_code_is_shared_keep_the_ordinary_path():
    # +1 and +7 pick their region by pattern: no regex claims them.
    assert phones._own_number_patterns("US") == (None, None)
    assert phones._own_number_patterns("KZ") == (None, None)
    assert own_number_reader("US") is None


@pytest.mark.parametrize(
    "spelling", ["+12345", "12345", "+1202555", "+120255501234", "+74951234567", "+4420"]
)
def test_short_numbers_of_shared_codes_are_refused_by_length_as_the_library_does(spelling):
    body = spelling.removeprefix("+")
    for region in ("UA", "US", None):
        assert phones._parse(spelling, body, region) == phones._parse_reference(
            spelling, body, region
        )


def test_a_row_s_staged_phone_is_the_same_with_and_without_the_shortcut(monkeypatch):
    shape = RowShape.of(mapping={"0": "phone"}, width=1, strict_width=True, region="UA")
    cells = ["380501234567", "+380 50 123 4567", "0501234567", "380001234567", "12345"]

    def staged(line):
        out = []
        for cell in cells:
            try:
                out.append(line(2, [cell]))
            except InvalidPhone as exc:
                out.append(str(exc))
        return out

    with_shortcut = staged(fast_line_function(shape))
    monkeypatch.setattr("contacts.importing.shaping.own_number_reader", lambda _r: None)
    assert staged(fast_line_function(shape)) == with_shortcut
    assert with_shortcut[0].split(COPY_DELIMITER)[1] == "380501234567"
    assert with_shortcut[1].split(COPY_DELIMITER)[1] == "380501234567"
    assert "too short" in with_shortcut[4]
