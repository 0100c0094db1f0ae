"""Phone numbers as BSG wants them: digits only, country code included, 9 to 15 digits.

Every way a number enters the product (forms, CSV rows, pasted recipient lists, opt-outs) goes
through `normalize_phone`, so one number is always stored and compared one way.
"""

import re

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
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
            _(
                "“%(number)s” was shortened by a spreadsheet (scientific notation) and lost "
                "digits; format the column as text and export it again"
            )
            % {"number": raw.strip()}
        )
    return significant


def normalize_phone(raw: object, *, region: str | None = None) -> str:
    """The number as digits with country code, or `InvalidPhone` saying what is wrong.

    Numbers typed without a country code are read in `region` (default: the
    CONTACTS_DEFAULT_REGION setting). A leading `+` lost by a spreadsheet is tolerated.
    """
    # The English says "digits" for any count, as it always has; `ngettext` gives other
    # languages their plural forms (Ukrainian has three).
    if raw is None:
        raise InvalidPhone(_("the phone number is empty"))
    text = raw if isinstance(raw, str) else str(raw)
    if text.isdigit() and text.isascii():
        # The common case in big imports: a clean digit string needs no repair or cleaning.
        value = body = text
    else:
        if not text.strip():
            raise InvalidPhone(_("the phone number is empty"))
        value = _DECORATION.sub("", _repair_spreadsheet_damage(text))
        if value.startswith("00"):
            value = "+" + value[2:]
        body = value[1:] if value.startswith("+") else value
        if not body.isdigit() or not body.isascii():
            raise InvalidPhone(
                _("“%(number)s” contains characters that are not digits")
                % {"number": text.strip()[:40]}
            )
    if len(body) > MAX_DIGITS:
        raise InvalidPhone(
            ngettext(
                "“%(number)s” has %(count)s digits; at most %(max)s",
                "“%(number)s” has %(count)s digits; at most %(max)s",
                len(body),
            )
            % {"number": text.strip(), "count": len(body), "max": MAX_DIGITS}
        )
    region = (region or settings.CONTACTS_DEFAULT_REGION or "").upper() or None
    digits = _parse(value, body, region)
    if digits is None:
        if len(body) < MIN_DIGITS and not value.startswith("+"):
            if region:
                message = ngettext(
                    "“%(number)s” is too short: %(count)s digits, and it is not a valid number "
                    "in %(region)s either",
                    "“%(number)s” is too short: %(count)s digits, and it is not a valid number "
                    "in %(region)s either",
                    len(body),
                )
            else:
                message = ngettext(
                    "“%(number)s” is too short: %(count)s digits, and it is not a valid number "
                    "in any region either",
                    "“%(number)s” is too short: %(count)s digits, and it is not a valid number "
                    "in any region either",
                    len(body),
                )
            raise InvalidPhone(
                message % {"number": text.strip(), "count": len(body), "region": region}
            )
        raise InvalidPhone(_("“%(number)s” is not a valid phone number") % {"number": text.strip()})
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidPhone(
            ngettext(
                "“%(number)s” has %(count)s digits with its country code; BSG accepts "
                "%(min)s to %(max)s",
                "“%(number)s” has %(count)s digits with its country code; BSG accepts "
                "%(min)s to %(max)s",
                len(digits),
            )
            % {"number": text.strip(), "count": len(digits), "min": MIN_DIGITS, "max": MAX_DIGITS}
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
    times faster (the common shapes, by one regex match, about twenty): a million-row import
    spends most of its time here.
    """
    plus = value.startswith("+")
    patterns = _own_number_patterns(region) if region else _NO_PATTERNS
    pattern = patterns[1] if plus else patterns[0]
    if pattern is not None and pattern.fullmatch(value):
        return body
    if region and not plus:
        national = _national_number_pattern(region)
        if national is not None and (found := national[1].fullmatch(value)):
            return national[0] + found.group(1)
        if value.startswith("00") and value[2:3] not in ("", "0") and _dials_out_with_00(region):
            # `parse` strips the region's international prefix and reads the rest as it reads
            # it after a `+` (and a "0" after "00" is never a country code: no stripping).
            return _parse("+" + value[2:], value[2:], region)
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
            # No country has this code: `parse` refuses a `+` number without one (and the
            # refusal, an exception, costs ten times the reading).
            return None
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
    if isinstance(checks, frozenset):
        # Shared country codes (+1, +7, +44…) pick their region by pattern: leave it to the
        # library, unless no region of the code has numbers of this length (a valid number
        # matches its region's general description, lengths first), as for `+12345`, which
        # would cost the library ~50 µs over the 25 regions of +1.
        if len(national) not in checks:
            return False
        return phonenumbers.is_valid_number(
            PhoneNumber(country_code=country_code, national_number=int(national))
        )
    general, types = checks
    length = len(national)
    if not _desc_matches(general, national, length):
        return False
    return any(_desc_matches(desc, national, length) for desc in types)


def _shared_code_lengths(regions) -> frozenset[int]:
    """The national number lengths any of the regions can have (all lengths, when unknown)."""
    lengths: set[int] = set()
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None or not metadata.general_desc.possible_length:
            return _ANY_LENGTH
        lengths.update(metadata.general_desc.possible_length)
    return frozenset(lengths) if lengths else _ANY_LENGTH


_ANY_LENGTH = frozenset(range(pnu._MAX_LENGTH_FOR_NSN + 1))
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
        return _shared_code_lengths(regions or ())
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if metadata is None:
        return _shared_code_lengths(())

    def compiled(desc) -> _Desc:
        if desc is None or not desc.national_number_pattern:
            return frozenset(), None
        return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)

    types = _type_descs(metadata)
    return compiled(metadata.general_desc), tuple(compiled(desc) for desc in types)


# --- The common shapes, by one regex -------------------------------------------------------------
# Most numbers in a big file are already what we store: the default region's country code and
# a valid national number, written as bare digits (or after a `+`). For those the fast path
# above reads the code, strips nothing, and checks the national number against the region's
# patterns; `_own_number_patterns` folds exactly those steps into one compiled regex per region,
# so such a number costs one C-level match (~0.5 µs) instead of a dozen Python calls (~6 µs).
# A number the regex does not accept simply takes the path above: the regex only ever says
# "yes, and the answer is the digits themselves" in cases where that path says so too (a test
# compares them on many numbers and regions).
_NO_PATTERNS: tuple[re.Pattern[str] | None, re.Pattern[str] | None] = (None, None)
_OWN_NUMBER_PATTERNS: dict[str, tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = {}


def _own_number_patterns(region: str) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """(bare digits, `+` and digits) patterns of the region's own valid numbers, or None each."""
    patterns = _OWN_NUMBER_PATTERNS.get(region)
    if patterns is None:
        patterns = _OWN_NUMBER_PATTERNS[region] = _build_own_number_patterns(region)
    return patterns


def _lengths_ahead(lengths) -> str | None:
    """A lookahead for "the rest is one of these lengths"; None when no length is possible."""
    positive = sorted({length for length in lengths if length > 0})
    if not positive:
        return None
    return "(?=(?:" + "|".join(f"[0-9]{{{length}}}" for length in positive) + r")\Z)"


def _desc_regex(desc) -> str | None:
    """`_desc_matches` as regex text at the national number's start; None: never matches."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = ""
    if desc.possible_length:
        lengths = _lengths_ahead(desc.possible_length)
        if lengths is None:
            return None
    return f"{lengths}(?:{desc.national_number_pattern})\\Z"


def _build_own_number_patterns(region: str):
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None:
        return _NO_PATTERNS
    code = str(metadata.country_code)
    # Shared country codes pick their region by pattern; a shorter code at the start would be
    # read first by `_extract_country_code`: both stay with the general path.
    if COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code) != (region,) or any(
        int(code[:i]) in COUNTRY_CODE_TO_REGION_CODE for i in range(1, len(code))
    ):
        return _NO_PATTERNS
    general = _desc_regex(metadata.general_desc)
    types = [text for desc in _type_descs(metadata) if (text := _desc_regex(desc)) is not None]
    if general is None or not types:
        return _NO_PATTERNS
    prefix = metadata.national_prefix_for_parsing
    national = (
        # `_maybe_strip_national_prefix_carrier_code` finds no prefix: the number stays whole.
        (f"(?!(?:{prefix}))" if prefix else "")
        # No leading zero (the general path declines those), a length `parse` accepts, then
        # `_fast_is_valid`: the general description and at least one number type.
        + "(?!0)"
        + f"(?=[0-9]{{{pnu._MIN_LENGTH_FOR_NSN},{pnu._MAX_LENGTH_FOR_NSN}}}\\Z)"
        + f"(?={general})"
        + "(?:"
        + "|".join(types)
        + ")"
    )
    # Without `+`, `parse` reads the region's code from the number only when the whole number
    # is too long to be a national one (or by two pattern matches, left to the general path),
    # and never when it starts with the international dialling prefix.
    too_long = [
        length
        for length in range(MIN_DIGITS, MAX_DIGITS + 1)
        if _length_result(metadata, length) == pnu.ValidationResult.TOO_LONG
    ]
    idd = metadata.international_prefix
    plain = None
    if too_long:
        plain = re.compile(
            (f"(?!(?:{idd}))" if idd else "") + _lengths_ahead(too_long) + code + national,
            re.ASCII,
        )
    plus = re.compile(rf"\+(?=[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}\Z)" + code + national, re.ASCII)
    return plain, plus


def _type_descs(metadata: PhoneMetadata) -> tuple:
    """The number types `is_valid_number` tries (mobile first changes no answer)."""
    return (
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


# --- Numbers written the national way, and after 00 -------------------------------------------
# "067 132 0496" (once cleaned, "0671320496") is the region's national prefix and a valid national
# number. For regions whose prefix is a plain digit string, `_national_number_pattern` is the
# steps `_fast_parse_digits` and `_fast_is_valid` take for such a number as one regex: not the
# international prefix, not the country code, the prefix stripped (a valid rest is always
# stripped), then the rest as `_build_own_number_patterns` checks it. The same test compares it
# with `_parse_reference` on every region.
_NATIONAL_PATTERNS: dict[str, tuple[str, re.Pattern[str]] | None] = {}


def _national_number_pattern(region: str) -> tuple[str, re.Pattern[str]] | None:
    """(the region's country code, a pattern whose group is the national number), or None."""
    if region not in _NATIONAL_PATTERNS:
        _NATIONAL_PATTERNS[region] = _build_national_number_pattern(region)
    return _NATIONAL_PATTERNS[region]


def _build_national_number_pattern(region: str) -> tuple[str, re.Pattern[str]] | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or _own_number_patterns(region) == _NO_PATTERNS:
        return None  # shared country codes, and the rest the own-number patterns leave alone
    prefix = metadata.national_prefix_for_parsing
    if not prefix or not prefix.isdigit() or metadata.national_prefix_transform_rule:
        return None
    general = _desc_regex(metadata.general_desc)
    types = [text for desc in _type_descs(metadata) if (text := _desc_regex(desc)) is not None]
    # The lengths after which `_fast_parse_digits` keeps the stripped number.
    kept = [
        length
        for length in metadata.general_desc.possible_length
        if pnu._MIN_LENGTH_FOR_NSN <= length <= pnu._MAX_LENGTH_FOR_NSN
        and _length_result(metadata, length) not in _KEEP_NATIONAL_NUMBER
    ]
    lengths = _lengths_ahead(kept)
    if general is None or not types or lengths is None:
        return None
    code = str(metadata.country_code)
    idd = metadata.international_prefix
    pattern = re.compile(
        (f"(?!(?:{idd}))" if idd else "")
        + f"(?!{code})(?=[0-9]{{5}})"
        + prefix
        + f"({lengths}(?!0)(?={general})(?:{'|'.join(types)}))",
        re.ASCII,
    )
    return code, pattern


def _dials_out_with_00(region: str) -> bool:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    return metadata is not None and metadata.international_prefix == "00"


# Only what `_DECORATION` removes too: a spelling that is digits once these are gone reads the
# same with every character `_DECORATION` removes gone.
_PLAIN_DECORATION = str.maketrans("", "", " \u00a0-()")


def own_number_reader(region: str | None = None):
    """A function giving the digits `normalize_phone` returns for a spelling of one of the
    region's own valid numbers, with its country code (`380501234567`) or its national prefix
    (`0501234567`), bare or written with spaces, dashes, brackets, a leading `+` or spreadsheet
    apostrophe (`'+380 (50) 123-45-67`, `(050) 123-45-67`), or None for any other spelling;
    None when the region has no such shortcut.

    For the import's hot loop: `read(p) or normalize_phone(p)` gives the same answer as
    `normalize_phone(p)` for every `p`. Customers' files write most numbers these ways, and one
    translate and one or two regex matches cost a fraction of the full reading.
    """
    region = (region or settings.CONTACTS_DEFAULT_REGION or "").upper()
    plain, plus = _own_number_patterns(region) if region else _NO_PATTERNS
    if plain is None or plus is None:
        return None
    plain_match, plus_match, decoration = plain.fullmatch, plus.fullmatch, _PLAIN_DECORATION
    national = _national_number_pattern(region)
    code, national_match = (national[0], national[1].fullmatch) if national else ("", None)

    def read(raw: str) -> str | None:
        # As `_repair_spreadsheet_damage` begins; its repairs need a `.`, `,` or `e`, which
        # the patterns refuse, so they never apply to what matches here.
        text = raw.strip().lstrip("'").translate(decoration)
        if text[:1] == "+":
            return text[1:] if plus_match(text) else None
        if plain_match(text):
            return text
        # Then `_parse`'s next reading, and `normalize_phone`'s checks of the lengths.
        if national_match is None or len(text) > MAX_DIGITS:
            return None
        found = national_match(text)
        if found is None:
            return None
        digits = code + found.group(1)
        return digits if MIN_DIGITS <= len(digits) <= MAX_DIGITS else None

    return read


def phone_display(digits: str) -> str:
    """`380501234567` as a person reads it: `+380 50 123 4567`.

    Pages of many numbers (a campaign's recipients, 50 a page) call this per row. `parse` costs
    ~17 µs of the ~35 µs; the stored digits are already what `parse` reads, so the fast path's
    reading (`_fast_parse_digits`, the same steps) and `format_number` take ~8 µs. Numbers it
    declines (leading zeros, very short ones) take the plain path; a test compares the two.
    """
    if digits.isdigit() and digits.isascii():
        parsed = _fast_parse_digits("+" + digits, None)
        if parsed is None:
            return "+" + digits  # `parse` refuses it too
        if parsed is not _DECLINED:
            country_code, national = parsed
            number = PhoneNumber(country_code=country_code, national_number=int(national))
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return _phone_display_reference(digits)


def _phone_display_reference(digits: str) -> str:
    """`phone_display` by `parse` and `format_number` alone: the fast path's oracle."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
