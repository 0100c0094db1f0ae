"""SMS text rules: which encoding a text needs, how long it is, how it splits, BSG's limits.

One module owns these rules; the client, the sandbox, the forms and the preview all ask it, and
the browser's counter mirrors it.

The model
- A text is GSM-7 when every character is in the GSM 03.38 default alphabet (3GPP TS 23.038
  §6.2.1) or its extension table (§6.2.1.1). Any other character makes the *whole* text UCS-2:
  a single typographic apostrophe (U+2019) or no-break space (U+00A0) turns a 765-character
  limit into 335 and can double the cost of a campaign.
- Length is what BSG counts against its limit: GSM-7 septets, where an extension character
  (^ { } \\ [ ~ ] | € and form feed) is sent as ESC plus a septet and costs two; or, in UCS-2,
  UTF-16 code units, where an emoji outside the Basic Multilingual Plane is a surrogate pair and
  costs two.
- One SMS holds 160 septets or 70 UCS-2 units. A longer text is sent as concatenated parts
  whose user-data header takes 7 septets / 3 units, leaving 153 / 67 per part (3GPP TS 23.040).
- BSG accepts at most 765 Latin or 335 Cyrillic characters (vendor pages sms-send-groups.txt,
  sms-send-individual.txt), exactly five concatenated parts: 5 x 153 and 5 x 67. We enforce both
  the length and the five parts (see ``split_parts`` for why they can differ).
"""

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from .i18n import gettext as _
from .i18n import ngettext

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The GSM 03.38 default alphabet in table order, 0x00-0x7F, 16 per line. 0x1B is ESC, the
# switch to the extension table, not a character anyone can type, so it is left out: a text
# holding U+001B is not GSM-7.
_GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # ESC (0x1B) sits between Ξ and Æ
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + one septet, so it costs two. Form feed (0x1B0A) is
# in the table too (TS 23.038), so it counts as two septets rather than forcing UCS-2.
_GSM7_EXTENSION_TABLE = "\x0c^{}\\[~]|€"

GSM7_BASIC: frozenset[str] = frozenset(_GSM7_BASIC_TABLE)
GSM7_EXTENSION: frozenset[str] = frozenset(_GSM7_EXTENSION_TABLE)
_GSM7_ALL: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION

MAX_PARTS = 5
# Single SMS and per-part sizes of a concatenated SMS (3GPP TS 23.040: a 6-octet concatenation
# header costs 7 septets or 3 UCS-2 units of the 140-octet payload).
GSM7_SINGLE_PART = 160
GSM7_MULTI_PART = 153
UCS2_SINGLE_PART = 70
UCS2_MULTI_PART = 67
# Vendor pages (sms-send-groups.txt, sms-send-individual.txt): "335 characters Cyrillic,
# 765 characters Latin", i.e. MAX_PARTS full parts. The YAML's prose "355" is a slip.
MAX_GSM7_LENGTH = MAX_PARTS * GSM7_MULTI_PART  # 765
MAX_UCS2_LENGTH = MAX_PARTS * UCS2_MULTI_PART  # 335

# The fast path, for the common all-ASCII text: deleting every one-septet GSM-7 byte (a C-level
# bytes.translate) leaves only the ASCII characters that need a closer look: the extension
# characters (GSM-7, two septets each), and the backtick and control characters other than LF and
# CR (not GSM-7 at all: a stray tab makes the whole text UCS-2). Usually nothing is left.
_ASCII_SINGLE_SEPTET_BYTES = bytes(ord(c) for c in GSM7_BASIC if c.isascii())
_ASCII_EXTENSION_BYTES = frozenset(ord(c) for c in GSM7_EXTENSION if c.isascii())
_EXTENSION = re.compile("[" + re.escape(_GSM7_EXTENSION_TABLE) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

# Units per character for the greedy part walk.
_GSM7_UNITS: dict[str, int] = {c: 1 for c in GSM7_BASIC} | {c: 2 for c in GSM7_EXTENSION}

# How many forcing characters limit_error names before "and N more".
_NAMED_CHARACTERS = 5


@dataclass(frozen=True, slots=True)
class TextStats:
    """What a text costs: its encoding, BSG length, SMS parts, and whether BSG accepts it."""

    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # code points, what a person counts
    length: int  # units counted against BSG's limit: GSM-7 septets (extension = 2)
    # or UTF-16 code units (astral emoji = 2)
    parts: int  # 0 for "", 1 if length <= 160/70, else the greedy walk over 153/67
    part_size: int  # 160/70 for a single part, 153/67 when concatenated
    max_length: int  # 765 or 335
    remaining: int  # max_length - length (may be negative)
    non_gsm_characters: tuple[str, ...]  # distinct characters forcing UCS-2, in order of first use
    fits: bool  # length <= max_length and parts <= MAX_PARTS


def analyse(text: str) -> TextStats:
    """Encoding, length, parts and limits of ``text`` as BSG will send it.

    ``parts`` is ``ceil(length / 153)`` (or ``/ 67``) except when a two-unit character (a GSM-7
    extension character or a UCS-2 surrogate pair) would straddle a part boundary: it then moves
    whole to the next part, which can need one more part than the plain ceiling. So whenever the
    text holds a two-unit character and needs more than one part, ``parts`` is computed by the
    same greedy walk as ``split_parts``, and the two always agree.
    An empty text has 0 parts and ``fits`` (emptiness is ``limit_error``'s business).
    """
    characters = len(text)
    if text.isascii():
        rest = text.encode("ascii").translate(None, _ASCII_SINGLE_SEPTET_BYTES)
        if not rest:
            # The hot path: one septet per character, so no part-boundary surprises.
            return _stats(
                GSM7,
                characters,
                characters,
                _plain_parts(characters, GSM7_SINGLE_PART, GSM7_MULTI_PART),
                (),
            )
        if _ASCII_EXTENSION_BYTES.issuperset(rest):
            return _gsm7_stats(text, doubles=len(rest))
        return _ucs2_stats(text)
    if _GSM7_ALL.issuperset(text):
        return _gsm7_stats(text, doubles=len(_EXTENSION.findall(text)))
    return _ucs2_stats(text)


def _gsm7_stats(text: str, doubles: int) -> TextStats:
    length = len(text) + doubles
    if doubles and length > GSM7_SINGLE_PART:
        parts = len(_part_starts(text, GSM7, GSM7_MULTI_PART))
    else:
        parts = _plain_parts(length, GSM7_SINGLE_PART, GSM7_MULTI_PART)
    return _stats(GSM7, len(text), length, parts, ())


def _ucs2_stats(text: str) -> TextStats:
    non_gsm = tuple(sorted(set(text) - _GSM7_ALL, key=text.index))
    doubles = len(_ASTRAL.findall(text))
    length = len(text) + doubles
    if doubles and length > UCS2_SINGLE_PART:
        parts = len(_part_starts(text, UCS2, UCS2_MULTI_PART))
    else:
        parts = _plain_parts(length, UCS2_SINGLE_PART, UCS2_MULTI_PART)
    return _stats(UCS2, len(text), length, parts, non_gsm)


def _plain_parts(length: int, single: int, multi: int) -> int:
    """Parts when every character costs one unit: a plain ceiling."""
    if length <= single:
        return 1 if length else 0
    return -(-length // multi)


# TextStats is immutable and depends only on these five values, so equal answers are shared:
# building a frozen dataclass costs more than the whole fast path (a benchmark runs analyse over
# a million personalised texts, most of which repeat a few lengths).
@lru_cache(maxsize=4096)
def _stats(
    encoding: str, characters: int, length: int, parts: int, non_gsm: tuple[str, ...]
) -> TextStats:
    if encoding == GSM7:
        single, multi, max_length = GSM7_SINGLE_PART, GSM7_MULTI_PART, MAX_GSM7_LENGTH
    else:
        single, multi, max_length = UCS2_SINGLE_PART, UCS2_MULTI_PART, MAX_UCS2_LENGTH
    return TextStats(
        encoding=encoding,
        characters=characters,
        length=length,
        parts=parts,
        part_size=single if length <= single else multi,
        max_length=max_length,
        remaining=max_length - length,
        non_gsm_characters=non_gsm,
        fits=length <= max_length and parts <= MAX_PARTS,
    )


# The alphabets a whole text may be written in that GSM-7 lacks: (key, the start of its
# letters' Unicode names). static/js/sms-counter.js's SCRIPTS holds the same keys, found there
# by Unicode script property; tests/campaigns/test_counter_corpus.py checks the two agree.
SCRIPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Cyrillic", ("CYRILLIC",)),
    ("Greek", ("GREEK",)),
    ("Arabic", ("ARABIC",)),
    ("Hebrew", ("HEBREW",)),
    ("Armenian", ("ARMENIAN",)),
    ("Georgian", ("GEORGIAN",)),
    ("Devanagari", ("DEVANAGARI",)),
    ("Thai", ("THAI",)),
    ("Hangul", ("HANGUL",)),
    ("Hiragana", ("HIRAGANA",)),
    ("Katakana", ("KATAKANA",)),
    ("Han", ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")),
)
OTHER_SCRIPT = "other"
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def script_of(text: str) -> str:
    """The alphabet ``text`` is mostly written in when GSM-7 lacks it ("Cyrillic", … or
    "other"), else "".

    Such a text is UCS-2 by nature: naming each of its letters as "forcing UCS-2" only alarms
    (a Ukrainian text is not a mistake). The detailed "because of" stays for a GSM-7 text that
    a few stray characters (a curly quote, an emoji) make UCS-2. "Mostly": at least half of
    its letters, placeholders left out (their names are Latin whatever the text)."""
    letters = [c for c in _PLACEHOLDER.sub("", text) if c.isalpha()]
    foreign = [c for c in letters if c not in _GSM7_ALL]
    if not foreign or len(foreign) * 2 < len(letters):
        return ""
    counts = dict.fromkeys((key for key, _prefixes in SCRIPTS), 0)
    for letter in foreign:
        name = unicodedata.name(letter, "")
        for key, prefixes in SCRIPTS:
            if name.startswith(prefixes):
                counts[key] += 1
                break
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else OTHER_SCRIPT


def script_name(script: str) -> str:
    """The alphabet's name for people, in the active language."""
    names = {
        "Cyrillic": _("Cyrillic"),
        "Greek": _("Greek"),
        "Arabic": _("Arabic"),
        "Hebrew": _("Hebrew"),
        "Armenian": _("Armenian"),
        "Georgian": _("Georgian"),
        "Devanagari": _("Devanagari"),
        "Thai": _("Thai"),
        "Hangul": _("Korean"),
        "Hiragana": _("Japanese"),
        "Katakana": _("Japanese"),
        "Han": _("Chinese or Japanese"),
    }
    return names.get(script, _("Non-Latin"))


def script_note(script: str) -> str:
    """What a text in `script` costs, said plainly: e.g. "Cyrillic text: up to 70 characters
    per SMS part (67 when split)." """
    note = _("%(script)s text: up to %(single)s characters per SMS part (%(multi)s when split).")
    return note % {
        "script": script_name(script),
        "single": UCS2_SINGLE_PART,
        "multi": UCS2_MULTI_PART,
    }


def encoding_of(text: str) -> str:
    """ "GSM-7" when every character is in the GSM 03.38 tables, else "UCS-2" ("" is GSM-7)."""
    if text.isascii():
        rest = text.encode("ascii").translate(None, _ASCII_SINGLE_SEPTET_BYTES)
        return GSM7 if _ASCII_EXTENSION_BYTES.issuperset(rest) else UCS2
    return GSM7 if _GSM7_ALL.issuperset(text) else UCS2


def split_parts(text: str) -> list[str]:
    """The text cut into the SMS parts a phone receives, greedily filling each part.

    A text that fits one SMS (160 septets / 70 units) is one part; a longer one is cut into
    parts of at most 153 septets / 67 units. A part never ends between an extension character's
    ESC and its septet, nor between the two halves of a surrogate pair: a two-unit character
    that does not fit the last free unit moves whole to the next part, leaving that unit empty.
    Texts over BSG's limits are split all the same (then ``len(...) > MAX_PARTS``). "" -> [].
    """
    if not text:
        return []
    stats = analyse(text)
    if stats.parts == 1:
        return [text]
    starts = _part_starts(text, stats.encoding, stats.part_size)
    ends = [*starts[1:], len(text)]
    return [text[start:end] for start, end in zip(starts, ends, strict=True)]


def _part_starts(text: str, encoding: str, part_size: int) -> list[int]:
    """Indices where each part begins, filling every part greedily with whole characters."""
    if encoding == GSM7:
        units = list(map(_GSM7_UNITS.__getitem__, text))
    else:
        units = [2 if c > "\uffff" else 1 for c in text]
    # cumulative[i] = units of text[: i + 1]; each part takes the longest run that fits.
    cumulative = list(accumulate(units))
    starts: list[int] = []
    start = 0
    used = 0
    while start < len(text):
        starts.append(start)
        # Every character costs at most 2 < part_size, so each part takes at least one.
        end = bisect_right(cumulative, used + part_size, lo=start)
        used = cumulative[end - 1]
        start = end
    return starts


def limit_error(text: str) -> str | None:
    """A message for a person when BSG would refuse ``text``, else None.

    BSG refuses an empty text, more than 765 GSM-7 / 335 UCS-2 units, or (rarely, when a
    two-unit character straddles a part boundary) more than five parts.
    """
    if not text.strip():
        return _("The text is empty.")
    stats = analyse(text)
    if stats.fits:
        return None
    # English says "characters" and "parts" for any count here, as it always has; other
    # languages get their plural forms from `ngettext`.
    values = {"length": stats.length, "max": stats.max_length, "parts": stats.parts}

    if stats.encoding == GSM7:
        extension = [c for c in _GSM7_EXTENSION_TABLE if c in text]
        counted = ""
        if extension:
            counted = ngettext(
                " (%(characters)s counts as two)", " (%(characters)s count as two)", len(extension)
            ) % {"characters": _join(_show(c) for c in extension)}
        values["counted"] = counted
        if stats.length > stats.max_length:
            return (
                ngettext(
                    "The text is %(length)s characters long%(counted)s; with standard "
                    "characters BSG accepts at most %(max)s (five SMS parts).",
                    "The text is %(length)s characters long%(counted)s; with standard "
                    "characters BSG accepts at most %(max)s (five SMS parts).",
                    stats.length,
                )
                % values
            )
        return (
            ngettext(
                "The text is %(length)s characters long%(counted)s but needs %(parts)s SMS "
                "parts, because a character that counts as two cannot be split between parts; "
                "BSG accepts at most five parts.",
                "The text is %(length)s characters long%(counted)s but needs %(parts)s SMS "
                "parts, because a character that counts as two cannot be split between parts; "
                "BSG accepts at most five parts.",
                stats.length,
            )
            % values
        )

    script = script_of(text)
    if script:
        # A Ukrainian text is UCS-2 by nature: its letters are not the reason to list.
        values["because"] = _("(%(script)s text)") % {"script": script_name(script)}
    else:
        named = [character_words(c) for c in stats.non_gsm_characters[:_NAMED_CHARACTERS]]
        more = len(stats.non_gsm_characters) - len(named)
        if more:
            named.append(ngettext("%(count)s more", "%(count)s more", more) % {"count": more})
        values["because"] = _("because of %(characters)s") % {"characters": _join(named)}
    if stats.length > stats.max_length:
        message = ngettext(
            "The text is %(length)s characters long and has special characters %(because)s; "
            "BSG then accepts at most %(max)s (five SMS parts), or %(gsm7_max)s with standard "
            "characters only.",
            "The text is %(length)s characters long and has special characters %(because)s; "
            "BSG then accepts at most %(max)s (five SMS parts), or %(gsm7_max)s with standard "
            "characters only.",
            stats.length,
        ) % {**values, "gsm7_max": MAX_GSM7_LENGTH}
        if _ASTRAL.search(text):
            message += " " + _("Most emoji count as two.")
        return message
    return (
        ngettext(
            "The text is %(length)s characters long and has special characters %(because)s but "
            "needs %(parts)s SMS parts, because an emoji that counts as two cannot be split "
            "between parts; BSG accepts at most five parts.",
            "The text is %(length)s characters long and has special characters %(because)s but "
            "needs %(parts)s SMS parts, because an emoji that counts as two cannot be split "
            "between parts; BSG accepts at most five parts.",
            stats.length,
        )
        % values
    )


def _show(character: str) -> str:
    return _("form feed") if character == "\x0c" else character


def _plain_name(character: str) -> str:
    """The name a marketer knows a character by, for the ones typed or pasted without meaning
    to (a word processor's curly apostrophe is the usual reason a text turns UCS-2); "" for
    others. static/js/sms-counter.js names the same ones (plainName)."""
    names = {
        "\u2019": _("curly apostrophe"),
        "\u2018": _("curly opening quote"),
        "\u201c": _("curly opening quote"),
        "\u201d": _("curly closing quote"),
        "\u00ab": _("angle quote"),
        "\u00bb": _("angle quote"),
        "\u02bc": _("letter apostrophe"),
        "\u2013": _("en dash"),
        "\u2014": _("em dash"),
        "\u2026": _("ellipsis"),
        "\u2022": _("bullet"),
        "\u00a0": _("no-break space"),
        "\u202f": _("narrow no-break space"),
        "\u200b": _("zero-width space"),
        "\ufeff": _("invisible character"),
    }
    return names.get(character, "")


def character_words(character: str) -> str:
    """The character in quotes and its plain name ("curly apostrophe" after the apostrophe
    itself); an invisible one (a no-break space) by its name alone; never its code point, which
    means nothing to a marketer. The special-characters hint and bsg.rules' refusals of a
    sender or reference id name characters so."""
    name = _plain_name(character)
    if character.isspace() or not character.isprintable():
        return name or _("an invisible character")
    quoted = _("“%(character)s”") % {"character": character}
    return _("%(quoted)s %(name)s") % {"quoted": quoted, "name": name} if name else quoted


def _join(items: Iterable[str]) -> str:
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return _("%(items)s and %(last)s") % {"items": ", ".join(words[:-1]), "last": words[-1]}
