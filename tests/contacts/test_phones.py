"""contacts.phones: how every phone number is normalized, and that the fast path changes nothing."""

import random

import phonenumbers
import pytest
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS, PhoneNumberType

from contacts import phones
from contacts.phones import InvalidPhone, normalize_phone, phone_display


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("380501234567", "380501234567"),
        ("+380501234567", "380501234567"),
        ("+380 50 123 45 67", "380501234567"),
        ("+38 (050) 123-45-67", "380501234567"),
        ("050 123 45 67", "380501234567"),  # national format, default region UA
        ("0501234567", "380501234567"),
        ("501234567", "380501234567"),
        ("00380501234567", "380501234567"),  # international prefix instead of +
        ("380501234567.0", "380501234567"),  # Excel float
        ("380501234567,0", "380501234567"),
        ("3.80501234567E+11", "380501234567"),  # Excel scientific notation, no digit lost
        ("3,80501234567E+11", "380501234567"),
        ("'380501234567", "380501234567"),  # text-forcing apostrophe
        ("\u00a0+380\u00a050\u00a0123\u00a04567 ", "380501234567"),  # non-breaking spaces
        ("+44 20 7946 0018", "442079460018"),
        ("447911123456", "447911123456"),  # international without +, not valid in UA
        ("+1 (202) 555-0143", "12025550143"),
        ("+39 06 6982 1234", "390669821234"),  # Italian leading zero kept
        (380501234567, "380501234567"),  # an int from a spreadsheet cell
    ],
)
def test_it_normalizes_what_people_and_spreadsheets_type(raw, expected):
    assert normalize_phone(raw, region="UA") == expected


def test_the_default_region_comes_from_the_setting(settings):
    settings.CONTACTS_DEFAULT_REGION = "GB"
    assert normalize_phone("07911 123456") == "447911123456"
    assert normalize_phone("07911 123456", region="gb") == "447911123456"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("12345", "too short"),
        ("+380 50 12", "not a valid phone number"),
        ("not a phone", "not digits"),
        ('=HYPERLINK("http://x")', "not digits"),
        ("+380501234567 😀", "not digits"),
        ("".join(chr(0xFF10 + int(d)) for d in "380501234567"), "not digits"),  # fullwidth
        ("3.805E+11", "lost digits"),  # spreadsheet rounding: refuse rather than invent
        ("1234567890123456", "at most 15"),
        ("+999 123 456 789", "not a valid phone number"),  # no such country code
    ],
)
def test_it_refuses_what_cannot_be_a_number_and_says_why(raw, message):
    with pytest.raises(InvalidPhone, match=message):
        normalize_phone(raw, region="UA")


def test_phone_display_groups_digits_as_people_read_them():
    assert phone_display("380501234567") == "+380 50 123 4567"
    assert phone_display("999") == "+999"


def _example_numbers() -> list[tuple[str, str]]:
    """(digits with country code, region) for example numbers of every region and type."""
    examples = []
    for region in sorted(SUPPORTED_REGIONS):
        for number_type in (
            PhoneNumberType.MOBILE,
            PhoneNumberType.FIXED_LINE,
            PhoneNumberType.TOLL_FREE,
            PhoneNumberType.VOIP,
        ):
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None:
                national = phonenumbers.national_significant_number(number)
                examples.append((f"{number.country_code}{national}", region))
    return examples


def _spellings(digits: str, country_code: str, rng: random.Random) -> list[str]:
    national = digits[len(country_code) :]
    mutated = national[:-2] + f"{rng.randrange(100):02d}" if len(national) > 3 else national
    return [
        digits,
        "+" + digits,
        national,
        "0" + national,
        country_code + mutated,
        "+" + country_code + mutated,
        mutated,
        "0" + mutated,
        national[:-1],  # one digit short
        digits + "1",  # one digit too many
    ]


def test_the_fast_path_reads_every_number_as_phonenumbers_itself_does():
    """Compares the fast path with plain `parse` + `is_valid_number` on ~40,000 inputs."""
    rng = random.Random(20261123)
    regions = [*sorted(SUPPORTED_REGIONS), None]
    checked = 0
    mismatches = []
    for digits, home in _example_numbers():
        country_code = next(
            str(code) for code, names in COUNTRY_CODE_TO_REGION_CODE.items() if home in names
        )
        for spelling in _spellings(digits, country_code, rng):
            for region in (home, "UA", rng.choice(regions)):
                checked += 1
                body = spelling.removeprefix("+")
                if not body.isdigit() or len(body) > phones.MAX_DIGITS:
                    continue
                fast = phones._parse(spelling, body, region)
                reference = phones._parse_reference(spelling, body, region)
                if fast != reference:
                    mismatches.append((spelling, region, fast, reference))
    for _ in range(15_000):  # and random digit strings, mostly invalid
        body = "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 15)))
        spelling = ("+" if rng.random() < 0.3 else "") + body
        region = rng.choice(regions)
        checked += 1
        if phones._parse(spelling, body, region) != phones._parse_reference(spelling, body, region):
            mismatches.append((spelling, region))
    assert checked > 35_000
    assert mismatches == []


def test_phone_display_shows_every_stored_number_as_phonenumbers_formats_it():
    """The display's fast path (pages of many numbers) against `parse` + `format_number`, on
    every region's example numbers (Italian leading zeros among them) and random digits."""
    rng = random.Random(20261207)
    stored = [digits for digits, _region in _example_numbers()]
    codes = [str(code) for code in COUNTRY_CODE_TO_REGION_CODE]
    for _ in range(10_000):
        stored.append(
            rng.choice(codes) + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 14)))
        )
    stored += ["", "0", "999", "3800501111111", "390612345678"]
    mismatches = [
        (digits, phone_display(digits), phones._phone_display_reference(digits))
        for digits in stored
        if phone_display(digits) != phones._phone_display_reference(digits)
    ]
    assert len(stored) > 10_000
    assert mismatches == []
