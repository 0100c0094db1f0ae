"""Phone numbers as BSG wants them: digits only, country code included, 9 to 15 digits.

Every way a number enters the product (forms, CSV rows, pasted recipient lists, opt-outs) goes
through `normalize_phone`, so one number is always stored and compared one way.
"""

import re

import phonenumbers
from django.conf import settings
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber, re_util
from phonenumbers import phonenumberutil as pnu

# Keep every compiled metadata pattern instead of asking `re.compile` (and its small cache)
# for it again on each call: the patterns are fixed, and a big import asks millions of times.
re_util.enable_pattern_cache()

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
    text = raw if isinstance(raw, str) else str(raw)
    if text.isdigit() and text.isascii():
        # The common case in big imports: a clean digit string needs no repair or cleaning.
        value = body = text
    else:
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
    digits = _parse(value, body, region)
    if digits is None:
        if len(body) < MIN_DIGITS and not value.startswith("+"):
            raise InvalidPhone(
                f"“{text.strip()}” is too short: {len(body)} digits, and it is not a valid "
                f"number in {region or 'any region'} either"
            )
        raise InvalidPhone(f"“{text.strip()}” is not a valid phone number")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidPhone(
            f"“{text.strip()}” has {len(digits)} digits with its country code; BSG accepts "
            f"{MIN_DIGITS} to {MAX_DIGITS}"
        )
    return digits


def _candidates(value: str, body: str, region: str | None) -> list[tuple[str, str | None]]:
    if value.startswith("+"):
        return [(value, None)]
    candidates: list[tuple[str, str | None]] = []
    if region:
        candidates.append((body, region))
    # A full international number whose `+` a spreadsheet or a person left out.
    candidates.append(("+" + body, None))
    return candidates


def _parse(value: str, body: str, region: str | None) -> str | None:
    """The digits of the first valid reading of the number, or None.

    Same answers as `_parse_reference` (a test compares them on many numbers), about four
    times faster: a million-row import spends most of its time here.
    """
    for candidate, candidate_region in _candidates(value, body, region):
        parsed = _fast_parse_digits(candidate, candidate_region)
        if parsed is _DECLINED:
            number = _parse_with_phonenumbers(candidate, candidate_region)
            if number is not None and phonenumbers.is_valid_number(number):
                return _digits_of(number)
            continue
        if parsed is None:
            continue
        country_code, national = parsed
        if _fast_is_valid(country_code, national):
            return f"{country_code}{national}"
    return None


def _parse_reference(value: str, body: str, region: str | None) -> str | None:
    """The plain phonenumbers reading (`parse` + `is_valid_number`): the fast path's oracle."""
    for candidate, candidate_region in _candidates(value, body, region):
        number = _parse_with_phonenumbers(candidate, candidate_region)
        if number is not None and phonenumbers.is_valid_number(number):
            return _digits_of(number)
    return None


def _parse_with_phonenumbers(candidate: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None


def _digits_of(number: PhoneNumber) -> str:
    if number.italian_leading_zero:
        zeros = "0" * (number.number_of_leading_zeros or 1)
        return f"{number.country_code}{zeros}{number.national_number}"
    return f"{number.country_code}{number.national_number}"


# --- The fast path ------------------------------------------------------------------------------
# `phonenumbers.parse` spends most of its ~20 µs on steps that change nothing for a string that
# is already bare ASCII digits (finding the number in free text, extensions, RFC 3966, Unicode
# digit normalisation). `_fast_parse_digits` runs the remaining steps of `parse` in the same
# order with the library's own helpers, and declines (`_DECLINED`) every case it does not
# reproduce exactly (IDD prefixes, leading zeros, very short input), which then takes the
# ordinary path.
_DECLINED = object()
_NON_MATCH_IDD = re.compile("NonMatch")
_KEEP_NATIONAL_NUMBER = frozenset(
    {
        pnu.ValidationResult.TOO_SHORT,
        pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        pnu.ValidationResult.INVALID_LENGTH,
    }
)


def _fast_parse_digits(candidate: str, region: str | None):
    """(country code, national significant number) as `parse` would read them, None when
    `parse` would refuse the number, or `_DECLINED`."""
    if len(candidate) < 5:
        return _DECLINED
    if candidate[0] == "+":
        country_code, national = pnu._extract_country_code(candidate[1:])
        if country_code == 0:
            return _DECLINED
        metadata = _metadata_for_code(country_code)
    else:
        plan = _REGION_PLANS.get(region)
        if plan is None:
            plan = _REGION_PLANS[region] = _region_plan(region)
        if plan is _DECLINED:
            return _DECLINED
        metadata, idd_pattern, code_text = plan
        if idd_pattern.match(candidate):
            return _DECLINED
        country_code, national, code_in_number = _strip_default_country_code(
            candidate, metadata, code_text
        )
        if code_in_number:
            # A country code read from the number itself: `parse` then switches to the
            # metadata of that code's main region (for +1 typed in Canada, the United States').
            main = _metadata_for_code(country_code)
            if pnu.region_code_for_country_code(country_code) != region:
                metadata = main
    if metadata is None or len(national) < pnu._MIN_LENGTH_FOR_NSN:
        return _DECLINED
    if metadata.national_prefix_for_parsing:
        _, potential, _ = pnu._maybe_strip_national_prefix_carrier_code(national, metadata)
        if _length_result(metadata, len(potential)) not in _KEEP_NATIONAL_NUMBER:
            national = potential
    if len(national) > pnu._MAX_LENGTH_FOR_NSN:
        return None
    if len(national) < pnu._MIN_LENGTH_FOR_NSN or national[0] == "0":
        return _DECLINED
    return country_code, national


# Per-region and per-length answers that `parse` recomputes on every call; they depend on the
# metadata alone (and the number's length), never on the digits.
_REGION_PLANS: dict[str | None, object] = {}
_CODE_METADATA: dict[int, PhoneMetadata | None] = {}
_LENGTH_RESULTS: dict[tuple[int, int], object] = {}


def _region_plan(region: str | None):
    metadata = PhoneMetadata.metadata_for_region(region, None) if region else None
    if metadata is None:
        return _DECLINED
    idd = metadata.international_prefix
    idd_pattern = re.compile(idd) if idd is not None else _NON_MATCH_IDD
    return metadata, idd_pattern, str(metadata.country_code)


def _metadata_for_code(country_code: int) -> PhoneMetadata | None:
    if country_code not in _CODE_METADATA:
        _CODE_METADATA[country_code] = PhoneMetadata.metadata_for_region_or_calling_code(
            country_code, pnu.region_code_for_country_code(country_code)
        )
    return _CODE_METADATA[country_code]


def _length_result(metadata: PhoneMetadata, length: int):
    key = (id(metadata), length)
    result = _LENGTH_RESULTS.get(key)
    if result is None:
        # `_test_number_length` reads only the length of the number it is given.
        result = _LENGTH_RESULTS[key] = pnu._test_number_length("0" * length, metadata)
    return result


def _strip_default_country_code(
    number: str, metadata: PhoneMetadata, code: str
) -> tuple[int, str, bool]:
    """The region's own country code at the start of a number without `+`, as `parse` sees it:
    (country code, national number, whether the code was read from the number)."""
    if number.startswith(code):
        general_desc = metadata.general_desc
        _, potential, _ = pnu._maybe_strip_national_prefix_carrier_code(
            number[len(code) :], metadata
        )
        # The library's condition with its two terms swapped: the cached length answer
        # (a full international number is too long for a national one) settles most numbers
        # without the two pattern matches. Both terms are pure, so the answer is the same.
        if _length_result(metadata, len(number)) == pnu.ValidationResult.TOO_LONG or (
            not pnu._match_national_number(number, general_desc, False)
            and pnu._match_national_number(potential, general_desc, False)
        ):
            return metadata.country_code, potential, True
    return metadata.country_code, number, False


def _fast_is_valid(country_code: int, national: str) -> bool:
    """`is_valid_number` for a number without leading zeros.

    Valid means "matches the general pattern and at least one number type"; the library tests
    the types in an order that puts mobile last, and testing it first changes no answer.
    """
    checks = _VALIDITY_CHECKS.get(country_code)
    if checks is None:
        checks = _VALIDITY_CHECKS[country_code] = _validity_checks(country_code)
    if checks is _SHARED_COUNTRY_CODE:
        # Shared country codes (+1, +7, +44…) pick their region by pattern: leave it to the library.
        return phonenumbers.is_valid_number(
            PhoneNumber(country_code=country_code, national_number=int(national))
        )
    general, types = checks
    length = len(national)
    if not _desc_matches(general, national, length):
        return False
    return any(_desc_matches(desc, national, length) for desc in types)


_SHARED_COUNTRY_CODE = object()
_Desc = tuple[frozenset[int], re.Pattern[str] | None]
_VALIDITY_CHECKS: dict[int, object] = {}


def _desc_matches(desc: _Desc, national: str, length: int) -> bool:
    # `_is_number_matching_desc`: the possible lengths first, then the whole pattern.
    lengths, pattern = desc
    if pattern is None or (lengths and length not in lengths):
        return False
    return pattern.fullmatch(national) is not None


def _validity_checks(country_code: int):
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions or len(regions) > 1:
        return _SHARED_COUNTRY_CODE
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if metadata is None:
        return _SHARED_COUNTRY_CODE

    def compiled(desc) -> _Desc:
        if desc is None or not desc.national_number_pattern:
            return frozenset(), None
        return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)

    types = (
        metadata.mobile,
        metadata.fixed_line,
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    )
    return compiled(metadata.general_desc), tuple(compiled(desc) for desc in types)


def phone_display(digits: str) -> str:
    """`380501234567` as a person reads it: `+380 50 123 4567`."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
