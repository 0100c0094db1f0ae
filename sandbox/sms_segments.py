"""How many SMS parts a text is, and whether BSG takes it: the sandbox's own count.

A text is GSM-7 when every character is in the GSM 03.38 default alphabet or its extension table
(3GPP TS 23.038 §6.2.1); one other character makes the whole text UCS-2. BSG's pages give the
limit in "characters": "335 characters Cyrillic, 765 characters Latin" (sms-send-groups.txt,
sms-send-individual.txt). The sandbox counts what travels: a GSM-7 extension character is ESC
plus a septet (two), a UCS-2 character outside the Basic Multilingual Plane a surrogate pair
(two). One SMS carries 160 septets or 70 UCS-2 units; a longer text goes in parts of 153 / 67
(the concatenation header takes the rest, 3GPP TS 23.040), so 765 = 5 x 153 and 335 = 5 x 67:
the pages' limits are five full parts, and the sandbox refuses a sixth part too (a two-unit
character never straddles two parts, so 765 septets can need six).
"""

from sandbox.vendor_rules import MAX_GSM7_TEXT, MAX_UCS2_TEXT

# GSM 03.38 default alphabet, code points 0x00-0x7F in order (3GPP TS 23.038 §6.2.1). 0x1B is
# the escape to the extension table, not a character: it is left out (None).
_GSM7_DEFAULT = (
    "@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
    "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", None, "Æ", "æ", "ß", "É",
    " ", "!", '"', "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
    "¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
    "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
    "¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
    "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
)  # fmt: skip
# The extension table's characters (§6.2.1.1): form feed, ^ { } \ [ ~ ] | and the euro sign.
_GSM7_EXTENSION = ("\x0c", "^", "{", "}", "\\", "[", "~", "]", "|", "€")

ONE_SEPTET = frozenset(c for c in _GSM7_DEFAULT if c is not None)
TWO_SEPTETS = frozenset(_GSM7_EXTENSION)
_GSM7 = ONE_SEPTET | TWO_SEPTETS

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
MAX_PARTS = 5


def _units(text: str) -> tuple[list[int], int, int]:
    """Each character's units, and the single-SMS and per-part sizes of the text's encoding."""
    if _GSM7.issuperset(text):
        return [2 if c in TWO_SEPTETS else 1 for c in text], GSM7_SINGLE, GSM7_PART
    return [2 if ord(c) > 0xFFFF else 1 for c in text], UCS2_SINGLE, UCS2_PART


def length_and_parts(text: str) -> tuple[int, int]:
    """Units counted against the limit, and SMS parts: each part filled with whole characters."""
    if ONE_SEPTET.issuperset(text):  # the common case: one septet each, a plain ceiling
        length = len(text)
        if length <= GSM7_SINGLE:
            return length, 1 if length else 0
        return length, -(-length // GSM7_PART)
    units, single, per_part = _units(text)
    length = sum(units)
    if length <= single:
        return length, 1
    parts, free = 1, per_part
    for unit in units:
        if unit > free:
            parts, free = parts + 1, per_part
        free -= unit
    return length, parts


def parts(text: str) -> int:
    """SMS parts BSG bills for ``text`` (0 for "")."""
    return length_and_parts(text)[1]


def text_problem(text: str) -> str | None:
    """None when BSG takes ``text`` as an SMS text, else the sandbox's message."""
    return text_verdict(text)[0]


def text_verdict(text: str) -> tuple[str | None, int]:
    """(``text_problem(text)``, SMS parts): one count of the text for both."""
    if not text.strip():
        return "This value should not be blank.", 0
    length, count = length_and_parts(text)
    limit = MAX_GSM7_TEXT if _GSM7.issuperset(text) else MAX_UCS2_TEXT
    if length > limit:
        return f"This value is too long. It should have {limit} characters or less.", count
    if count > MAX_PARTS:
        return f"This text needs {count} SMS parts; at most {MAX_PARTS} are accepted.", count
    return None, count
