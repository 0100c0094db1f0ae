"""bsg.smstext: GSM-7 / UCS-2, length units, SMS parts and BSG's limits.

The independent oracle is the `gsm0338` codec ("gsm03.38"). How it behaves, checked below:
- it encodes every character of the GSM 03.38 default and extension tables, an extension
  character as ESC + septet (two bytes), which is our "two units";
- it also encodes U+001B (ESC) as a one-byte character. ESC is the switch to the extension
  table, not text, so smstext treats U+001B as non-GSM (UCS-2); the property test's alphabet
  leaves it out, and the exhaustive comparison names it as the one deliberate difference.
"""

import dataclasses
import string

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsg.smstext import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    MAX_GSM7_LENGTH,
    MAX_PARTS,
    MAX_UCS2_LENGTH,
    TextStats,
    analyse,
    encoding_of,
    limit_error,
    split_parts,
)

# Enough examples to hit part boundaries; no deadline, so a slow machine cannot fail the test.
QUICK = settings(max_examples=200, deadline=None)

EXTENSION_CHARACTERS = "^{}\\[~]|€\x0c"
GREEK_CAPITALS_IN_GSM7 = "ΔΦΓΛΩΠΨΣΘΞ"
GRINNING = "\U0001f600"  # outside the BMP: a surrogate pair, two UTF-16 units
APOSTROPHE = "\u2019"  # typographic: not in GSM-7
SMILE_BMP = "\u263a"  # ☺ inside the BMP: one UTF-16 unit


def _units(part: str) -> int:
    return analyse(part).length


# --- the tables ---------------------------------------------------------------------------


def test_the_tables_hold_the_gsm_03_38_alphabet():
    assert len(GSM7_BASIC) == 127  # 128 codes, less ESC (0x1B)
    assert set(EXTENSION_CHARACTERS) == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert "\x1b" not in GSM7_BASIC


def test_the_codec_treats_esc_as_a_character_and_we_do_not():
    assert "\x1b".encode("gsm03.38") == b"\x1b"
    assert analyse("\x1b").encoding == "UCS-2"


def test_every_bmp_character_is_gsm7_exactly_when_the_codec_encodes_it():
    disagreements = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates are not characters
        character = chr(code)
        try:
            character.encode("gsm03.38")
            codec_says_gsm = True
        except UnicodeEncodeError:
            codec_says_gsm = False
        if codec_says_gsm != (encoding_of(character) == "GSM-7"):
            disagreements.append(character)
    assert disagreements == ["\x1b"]


# --- fast path and the general walk agree with the codec ----------------------------------

GSM_ALPHABET = sorted(GSM7_BASIC | GSM7_EXTENSION)


@QUICK
@given(st.text(alphabet=st.sampled_from(GSM_ALPHABET), max_size=900))
def test_gsm7_length_is_what_the_codec_encodes(text):
    stats = analyse(text)
    assert stats.encoding == "GSM-7"
    assert stats.length == len(text.encode("gsm03.38"))
    assert stats.characters == len(text)


@QUICK
@given(st.text(alphabet=st.sampled_from(string.printable), max_size=900))
def test_ascii_fast_path_agrees_with_the_codec(text):
    # string.printable has the backtick, tab, vertical tab and form feed: the ASCII edge cases.
    try:
        septets = len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        assert analyse(text).encoding == "UCS-2"
        assert analyse(text).length == len(text)
    else:
        assert analyse(text).encoding == "GSM-7"
        assert analyse(text).length == septets


MIXED_ALPHABET = st.sampled_from(
    ["a", "Z", " ", "\n", "é", "Δ", "€", "^", "{", "\\", "Ж", APOSTROPHE, SMILE_BMP, GRINNING]
)


@QUICK
@given(st.text(alphabet=MIXED_ALPHABET, max_size=900))
def test_parts_and_split_parts_come_from_the_same_walk(text):
    stats = analyse(text)
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == stats.parts
    assert encoding_of(text) == stats.encoding
    assert stats.length == _unit_count(text, stats.encoding)
    if stats.parts > 1:
        for index, part in enumerate(parts):
            units = _unit_count(part, stats.encoding)
            assert units <= stats.part_size
            if index < len(parts) - 1:
                # Greedy: the next character would not have fitted.
                following = _unit_count(parts[index + 1][0], stats.encoding)
                assert units + following > stats.part_size
    assert stats.fits == (stats.length <= stats.max_length and stats.parts <= MAX_PARTS)
    assert stats.remaining == stats.max_length - stats.length


def _unit_count(part: str, encoding: str) -> int:
    """Units of a part in the whole text's encoding (a part alone may be GSM-7)."""
    if encoding == "UCS-2":
        return len(part.encode("utf-16-le")) // 2
    return len(part.encode("gsm03.38"))


# --- GSM-7 boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts", "part_size"),
    [(1, 1, 160), (160, 1, 160), (161, 2, 153), (306, 2, 153), (307, 3, 153), (765, 5, 153)],
)
def test_latin_part_boundaries(length, parts, part_size):
    stats = analyse("a" * length)
    assert (stats.encoding, stats.length, stats.parts, stats.part_size) == (
        "GSM-7",
        length,
        parts,
        part_size,
    )
    assert stats.fits
    assert limit_error("a" * length) is None


def test_765_latin_characters_fit_and_766_do_not():
    assert analyse("a" * 765).remaining == 0
    stats = analyse("a" * 766)
    assert (stats.length, stats.parts, stats.remaining, stats.fits) == (766, 6, -1, False)
    assert limit_error("a" * 766) == (
        "The text is 766 characters long; with standard characters BSG accepts at most 765 "
        "(five SMS parts)."
    )


@pytest.mark.parametrize("character", list(EXTENSION_CHARACTERS))
def test_each_extension_character_costs_two_septets(character):
    stats = analyse("a" + character)
    assert (stats.encoding, stats.characters, stats.length) == ("GSM-7", 2, 3)


def test_an_extension_character_that_ends_exactly_a_single_sms():
    assert analyse("a" * 158 + "€").parts == 1  # 160 septets
    stats = analyse("a" * 159 + "€")  # 161 septets
    assert (stats.length, stats.parts, stats.part_size) == (161, 2, 153)


def test_an_extension_character_never_straddles_two_parts():
    text = "a" * 152 + "€" + "a" * 10  # the € would need septets 153 and 154
    parts = split_parts(text)
    assert parts == ["a" * 152, "€" + "a" * 10]
    assert analyse(text).parts == 2


def test_an_extension_character_that_fills_a_part_exactly_stays_in_it():
    text = "a" * 151 + "€" + "a" * 10
    assert split_parts(text) == ["a" * 151 + "€", "a" * 10]


def test_a_straddling_extension_character_can_need_a_sixth_part_within_765():
    text = "a" * 152 + "€" + "a" * 611  # 765 septets, but the first part wastes one
    stats = analyse(text)
    assert (stats.length, stats.parts, stats.fits) == (765, 6, False)
    assert len(split_parts(text)) == 6
    assert limit_error(text) == (
        "The text is 765 characters long (€ counts as two) but needs 6 SMS parts, because a "
        "character that counts as two cannot be split between parts; BSG accepts at most "
        "five parts."
    )


def test_extension_characters_count_towards_765():
    text = "a" * 763 + "{}"
    assert analyse(text).length == 767
    assert limit_error(text) == (
        "The text is 767 characters long ({ and } count as two); with standard characters BSG "
        "accepts at most 765 (five SMS parts)."
    )


def test_newline_and_carriage_return_are_gsm7_single_septets():
    stats = analyse("line one\r\nline two")
    assert (stats.encoding, stats.length) == ("GSM-7", 18)


def test_the_greek_capitals_of_gsm7_keep_the_text_gsm7():
    stats = analyse(GREEK_CAPITALS_IN_GSM7)
    assert (stats.encoding, stats.length) == ("GSM-7", 10)


def test_a_greek_capital_that_merely_looks_latin_makes_the_text_ucs2():
    # U+0391 GREEK CAPITAL LETTER ALPHA is not in GSM-7 (only the Latin A is).
    assert analyse("\u0391BC").encoding == "UCS-2"


def test_the_accented_letters_of_gsm7_stay_gsm7_and_others_do_not():
    stats = analyse("Ça, señor Müller: Ærø, ¿què?")
    assert (stats.encoding, stats.non_gsm_characters) == ("GSM-7", ())
    assert analyse("à bientôt").non_gsm_characters == ("ô",)


# --- ASCII characters that are not GSM-7 --------------------------------------------------


def test_the_backtick_is_the_printable_ascii_character_that_is_not_gsm7():
    not_gsm = [c for c in string.printable if encoding_of(c) == "UCS-2"]
    assert not_gsm == ["`", "\t", "\x0b"]
    stats = analyse("Use `code` here")
    assert (stats.encoding, stats.non_gsm_characters) == ("UCS-2", ("`",))


def test_a_tab_makes_the_text_ucs2():
    assert analyse("a\tb").non_gsm_characters == ("\t",)


def test_every_other_printable_ascii_character_is_gsm7():
    text = "".join(c for c in string.printable if c not in "`\t\x0b")
    assert encoding_of(text) == "GSM-7"


# --- UCS-2 boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts", "part_size"),
    [(70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67), (335, 5, 67)],
)
def test_cyrillic_part_boundaries(length, parts, part_size):
    stats = analyse("Ж" * length)
    assert (stats.encoding, stats.length, stats.parts, stats.part_size) == (
        "UCS-2",
        length,
        parts,
        part_size,
    )
    assert stats.max_length == 335
    assert stats.fits


def test_335_cyrillic_characters_fit_and_336_do_not():
    assert limit_error("Ж" * 335) is None
    stats = analyse("Ж" * 336)
    assert (stats.length, stats.parts, stats.remaining, stats.fits) == (336, 6, -1, False)
    assert limit_error("Ж" * 336) == (
        # Written in Cyrillic: the alphabet is said, not each letter (smstext.script_of).
        "The text is 336 characters long and has special characters (Cyrillic text); BSG then "
        "accepts at most 335 (five SMS parts), or 765 with standard characters only."
    )


def test_one_typographic_apostrophe_makes_the_whole_text_ucs2():
    text = f"It{APOSTROPHE}s ready" + "!" * 330  # 340: fine in GSM-7, too long in UCS-2
    stats = analyse(text)
    assert (stats.encoding, stats.max_length) == ("UCS-2", 335)
    assert stats.non_gsm_characters == (APOSTROPHE,)
    assert analyse(text.replace(APOSTROPHE, "'")).fits
    message = limit_error(text)
    assert message is not None
    assert f"because of “{APOSTROPHE}” curly apostrophe" in message
    assert "U+" not in message


def test_limit_error_names_invisible_characters_and_caps_the_list():
    # Mostly Latin: the few characters that make it UCS-2 are named.
    message = limit_error("a\u00a0b" + "abcdefgh" * 41 + "ЖЁЭЮЯЫЬ")
    assert message is not None
    assert "no-break space, “Ж”, “Ё”, “Э”, “Ю”" in message
    assert "U+" not in message
    assert "and 3 more" in message


def test_a_bmp_emoji_is_one_unit():
    stats = analyse(SMILE_BMP)
    assert (stats.encoding, stats.characters, stats.length) == ("UCS-2", 1, 1)


def test_an_astral_emoji_is_two_units():
    stats = analyse("Hi " + GRINNING)
    assert (stats.encoding, stats.characters, stats.length) == ("UCS-2", 4, 5)
    assert stats.non_gsm_characters == (GRINNING,)


def test_astral_emoji_at_the_single_sms_boundary():
    assert analyse("Ж" * 68 + GRINNING).parts == 1  # 70 units
    assert analyse("Ж" * 69 + GRINNING).parts == 2  # 71 units


def test_a_surrogate_pair_never_straddles_two_parts():
    text = "Ж" * 66 + GRINNING + "Ж" * 10  # the emoji would need units 67 and 68
    assert split_parts(text) == ["Ж" * 66, GRINNING + "Ж" * 10]
    for part in split_parts(text):
        part.encode("utf-16-le")  # no lone surrogate


def test_a_straddling_surrogate_pair_can_need_a_sixth_part_within_335():
    text = "Ж" * 66 + GRINNING + "Ж" * 267
    stats = analyse(text)
    assert (stats.length, stats.parts, stats.fits) == (335, 6, False)
    assert limit_error(text) == (
        "The text is 335 characters long and has special characters (Cyrillic text) but "
        "needs 6 SMS parts, because an emoji that counts as two cannot be split between parts; "
        "BSG accepts at most five parts."
    )


def test_astral_emoji_count_towards_335_and_the_message_says_so():
    text = GRINNING * 168  # 168 characters, 336 units
    stats = analyse(text)
    assert (stats.characters, stats.length, stats.fits) == (168, 336, False)
    message = limit_error(text)
    assert message is not None
    assert message.endswith("Most emoji count as two.")


def test_mixed_text_is_ucs2_and_counts_extension_characters_once():
    text = "Hi Иван, 10€ {ok} " + GRINNING
    stats = analyse(text)
    assert stats.encoding == "UCS-2"
    assert stats.non_gsm_characters == (*"Иван", GRINNING)
    assert stats.length == len(text) + 1  # only the astral emoji counts twice


# --- empty text, the API shape ------------------------------------------------------------


def test_empty_text():
    stats = analyse("")
    assert stats == TextStats(
        encoding="GSM-7",
        characters=0,
        length=0,
        parts=0,
        part_size=160,
        max_length=MAX_GSM7_LENGTH,
        remaining=MAX_GSM7_LENGTH,
        non_gsm_characters=(),
        fits=True,
    )
    assert split_parts("") == []
    assert encoding_of("") == "GSM-7"
    assert limit_error("") == "The text is empty."


@pytest.mark.parametrize("blank", [" ", "\n\r", "   \t", "\u00a0"])
def test_whitespace_only_text_is_empty(blank):
    assert limit_error(blank) == "The text is empty."


def test_a_single_part_text_splits_into_itself():
    assert split_parts("Hello") == ["Hello"]
    assert split_parts("a" * 161) == ["a" * 153, "a" * 8]


def test_text_stats_are_immutable():
    stats = analyse("Hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.length = 1  # type: ignore[misc]


def test_limits_are_five_concatenated_parts():
    assert (MAX_PARTS, MAX_GSM7_LENGTH, MAX_UCS2_LENGTH) == (5, 5 * 153, 5 * 67)


def test_a_text_far_over_the_limit_is_still_split_and_counted_alike():
    text = ("a" * 152 + "€") * 50
    stats = analyse(text)
    assert not stats.fits
    assert stats.parts == len(split_parts(text)) > MAX_PARTS
    assert "".join(split_parts(text)) == text
