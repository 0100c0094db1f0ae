"""Phone numbers as BSG wants them: digits only, country code included, 9 to 15 digits.

Every way a number enters the product (forms, CSV rows, pasted recipient lists, opt-outs) goes
through `normalize_phone`, so one number is always stored and compared one way.
"""

import re

import phonenumbers
from django.conf import settings

MIN_DIGITS = 9
MAX_DIGITS = 15

# What people and spreadsheets put around the digits; anything else is not a phone number.
_DECORATION = re.compile(r"[\s\-().\u00a0\u2010-\u2015/]")
# Excel turns long numbers into floats shown as 3.80501234567E+11; without the leading `+`
# it also drops the country code's plus sign. Only repaired when no digit was lost.
_SCIENTIFIC = re.compile(r"^\+?\d(?:[.,]\d+)?[eE]\+?\d{1,2}$")
_EXCEL_FLOAT = re.compile(r"^\d{9,15}[.,]0+$")


class InvalidPhone(ValueError):
    """A value that cannot be a phone number; the message says why, for a person to read."""


def _repair_spreadsheet_damage(raw: str) -> str:
    value = raw.strip().lstrip("'")
    if _EXCEL_FLOAT.match(value):
        return re.split(r"[.,]", value)[0]
    if not _SCIENTIFIC.match(value):
        return value
    mantissa, exponent = re.split(r"[eE]", value.lstrip("+"))
    significant = mantissa.replace(".", "").replace(",", "")
    if int(exponent) + 1 != len(significant):
        # 3.805E+11 cannot say what its last eight digits were: refuse rather than invent them.
        raise InvalidPhone(
            f"“{raw.strip()}” was shortened by a spreadsheet (scientific notation) and lost "
            "digits; format the column as text and export it again"
        )
    return significant


def normalize_phone(raw: object, *, region: str | None = None) -> str:
    """The number as digits with country code, or `InvalidPhone` saying what is wrong.

    Numbers typed without a country code are read in `region` (default: the
    CONTACTS_DEFAULT_REGION setting). A leading `+` lost by a spreadsheet is tolerated.
    """
    if raw is None:
        raise InvalidPhone("the phone number is empty")
    text = str(raw)
    if not text.strip():
        raise InvalidPhone("the phone number is empty")
    value = _DECORATION.sub("", _repair_spreadsheet_damage(text))
    if value.startswith("00"):
        value = "+" + value[2:]
    body = value[1:] if value.startswith("+") else value
    if not body.isdigit() or not body.isascii():
        raise InvalidPhone(f"“{text.strip()[:40]}” contains characters that are not digits")
    if len(body) > MAX_DIGITS:
        raise InvalidPhone(f"“{text.strip()}” has {len(body)} digits; at most {MAX_DIGITS}")
    region = (region or settings.CONTACTS_DEFAULT_REGION or "").upper() or None
    number = _parse(value, body, region)
    if number is None:
        if len(body) < MIN_DIGITS and not value.startswith("+"):
            raise InvalidPhone(
                f"“{text.strip()}” is too short: {len(body)} digits, and it is not a valid "
                f"number in {region or 'any region'} either"
            )
        raise InvalidPhone(f"“{text.strip()}” is not a valid phone number")
    digits = f"{number.country_code}{number.national_number}"
    if number.italian_leading_zero:
        digits = f"{number.country_code}{'0' * (number.number_of_leading_zeros or 1)}"
        digits += str(number.national_number)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidPhone(
            f"“{text.strip()}” has {len(digits)} digits with its country code; BSG accepts "
            f"{MIN_DIGITS} to {MAX_DIGITS}"
        )
    return digits


def _parse(value: str, body: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    candidates: list[tuple[str, str | None]] = []
    if value.startswith("+"):
        candidates.append((value, None))
    else:
        if region:
            candidates.append((body, region))
        # A full international number whose `+` a spreadsheet or a person left out.
        candidates.append(("+" + body, None))
    for candidate, candidate_region in candidates:
        try:
            number = phonenumbers.parse(candidate, candidate_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def phone_display(digits: str) -> str:
    """`380501234567` as a person reads it: `+380 50 123 4567`."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
