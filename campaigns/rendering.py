"""Placeholders in campaign texts, and the GSM-7 helper's one-click fixes.

A text may name contact data in braces: `{first_name}` (a ContactField key), `{17}` (the BSG
field id of a ContactField), `{name}` and `{phone}` (the contact's own columns). What each SMS
mode does with them:

- individual (BSG sms/send-individual): we render every recipient's text here.
- groups (BSG sms/send-groups): BSG fills `{<field id>}` from its contact book, so only fields
  linked to BSG may be used; we send `{first_name}` as `{17}`, and the preview fills them from
  our copy of the contacts.
- numbers (BSG sms/send) and the RCS SMS fallback: one text for everyone, so a placeholder that
  names a field is an error (braces naming nothing are plain text there).

Unknown placeholders are errors wherever placeholders are rendered; an empty value renders as
nothing and is reported, so the preview can warn about it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bsg import smstext
from contacts.models import ContactField

PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")
NAME = "name"
PHONE = "phone"

MODE_INDIVIDUAL = "individual"
MODE_GROUPS = "groups"
MODE_LITERAL = "literal"  # to numbers, RCS SMS fallback


@dataclass(frozen=True, slots=True)
class Slot:
    """One placeholder as written (`token`) and what it reads."""

    token: str
    source: str  # "field", "name" or "phone"
    field_key: str = ""
    bsg_field_id: int | None = None

    @property
    def label(self) -> str:
        return self.field_key or self.source


@dataclass(frozen=True)
class CompiledText:
    """A text cut into literal pieces and slots: `pieces[0] slot[0] pieces[1] … pieces[n]`."""

    source: str
    pieces: tuple[str, ...]
    slots: tuple[Slot, ...]
    errors: tuple[str, ...]

    @property
    def field_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.field_key for s in self.slots if s.source == "field"))

    def values_for(self, *, phone: str, name: str, fields: Mapping[str, object]) -> tuple[str, ...]:
        """The value of each slot for one contact, in slot order ("" when missing)."""
        values = []
        for slot in self.slots:
            if slot.source == "field":
                value = fields.get(slot.field_key) if fields else None
                values.append("" if value is None else str(value))
            elif slot.source == NAME:
                values.append(name or "")
            else:
                values.append(f"+{phone}" if phone else "")
        return tuple(values)

    def stand_in_values(self, *, phone: str) -> tuple[str, ...]:
        """Each slot's name in brackets ("[first_name]"), the phone as given: for a text that
        must show where contact data would go when there is no contact to take it from."""
        return tuple(
            f"+{phone}" if slot.source == PHONE else f"[{slot.label}]" for slot in self.slots
        )

    def render_values(self, values: Sequence[str]) -> str:
        if not self.slots:
            return self.source
        out = [self.pieces[0]]
        for value, piece in zip(values, self.pieces[1:], strict=True):
            out.append(value)
            out.append(piece)
        return "".join(out)

    def render(self, *, phone: str, name: str = "", fields: Mapping[str, object]) -> Rendered:
        values = self.values_for(phone=phone, name=name, fields=fields)
        empty = tuple(
            dict.fromkeys(s.label for s, v in zip(self.slots, values, strict=True) if not v)
        )
        return Rendered(text=self.render_values(values), empty_fields=empty)

    def for_bsg_groups(self) -> str:
        """The text as BSG's send-groups wants it: every field slot as `{<bsg field id>}`."""
        if not self.slots:
            return self.source
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append(f"{{{slot.bsg_field_id}}}")
            out.append(piece)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    empty_fields: tuple[str, ...]


def compile_text(text: str, *, fields: Mapping[str, ContactField], mode: str) -> CompiledText:
    """Find the placeholders of `text` and check them against `mode` (see the module doc).

    `fields` is `contacts.selectors.fields_by_reference()`: fields by key and by BSG id.
    """
    pieces: list[str] = []
    slots: list[Slot] = []
    errors: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        token = match.group(1)
        slot = _slot(token, fields)
        if mode == MODE_LITERAL:
            if slot is not None:
                errors.append(
                    f"{{{token}}} names contact data, but this text goes to everyone alike; "
                    "choose contact lists to personalise it."
                )
            continue
        if slot is None:
            errors.append(_unknown(token, fields))
            continue
        if mode == MODE_GROUPS:
            if slot.source != "field":
                errors.append(
                    f"{{{token}}} cannot be used with BSG contact-book groups: BSG fills only "
                    "contact fields; use individual personalisation instead."
                )
                continue
            if slot.bsg_field_id is None:
                errors.append(
                    f"{{{token}}}: the field “{slot.field_key}” is not linked to a BSG contact "
                    "field, so BSG cannot fill it; link it or personalise here instead."
                )
                continue
        pieces.append(text[position : match.start()])
        slots.append(slot)
        position = match.end()
    pieces.append(text[position:])
    if not slots:
        pieces = [text]
    return CompiledText(
        source=text, pieces=tuple(pieces), slots=tuple(slots), errors=tuple(dict.fromkeys(errors))
    )


def _slot(token: str, fields: Mapping[str, ContactField]) -> Slot | None:
    if token == NAME:
        return Slot(token=token, source=NAME)
    if token == PHONE:
        return Slot(token=token, source=PHONE)
    field = fields.get(token)
    if field is None:
        return None
    return Slot(token=token, source="field", field_key=field.key, bsg_field_id=field.bsg_field_id)


def _unknown(token: str, fields: Mapping[str, ContactField]) -> str:
    lowered = token.lower()
    hint = ""
    if lowered != token and (lowered in fields or lowered in (NAME, PHONE)):
        hint = f" Did you mean {{{lowered}}}?"
    known = sorted({f.key for f in fields.values()} | {NAME, PHONE})
    return (
        f"{{{token}}} names no contact field.{hint} Known: "
        + ", ".join(f"{{{k}}}" for k in known)
        + "."
    )


# --- counting many rendered texts ---------------------------------------------------------------

_T = TypeVar("_T")

# Bytes that are one GSM-7 septet each: deleting them from an ASCII value leaves nothing when the
# value changes a count by its length alone.
_ONE_SEPTET_ASCII = bytes(ord(c) for c in smstext.GSM7_BASIC if c.isascii())
SHAPE_CACHE_MAX = 200_000


def value_shape(value: str) -> int | str:
    """What of a slot's value can change the count of the text around it.

    A value made only of one-septet ASCII GSM-7 characters changes encoding and parts only by
    its length (it adds one unit per character in GSM-7 and in UCS-2 alike), so its shape is its
    length; any other value (an extension character, a typographic apostrophe, Cyrillic) is kept
    whole. A million contacts with a few thousand first names are a few hundred shapes.
    """
    if value.isascii() and not value.encode("ascii").translate(None, _ONE_SEPTET_ASCII):
        return len(value)
    return value


class ShapeCache(Generic[_T]):
    """`count(values)` memoised by the shape of the slot values (see `value_shape`).

    The send plan and the engine both count every recipient's rendered text through one of
    these, so a million recipients cost a few hundred `smstext.analyse` calls, not a million.
    `count` must depend on the values only through what their shapes keep (their encoding and
    length): the first values of a shape stand for all the others.
    """

    def __init__(
        self, count: Callable[[tuple[str, ...]], _T], *, max_size: int = SHAPE_CACHE_MAX
    ) -> None:
        self._count = count
        self._cache: dict[tuple[int | str, ...], _T] = {}
        # The same values again (a common first name in the same city) skip even the shaping.
        self._seen: dict[tuple[str, ...], _T] = {}
        self._max_size = max_size

    def get(self, values: tuple[str, ...]) -> _T:
        counted = self._seen.get(values)
        if counted is not None:
            return counted
        key = tuple(map(value_shape, values))
        counted = self._cache.get(key)
        if counted is None:
            # Unbounded distinct values (a free-text field) would otherwise grow without end.
            if len(self._cache) >= self._max_size:
                self._cache.clear()
            counted = self._count(values)
            self._cache[key] = counted
        if len(self._seen) >= self._max_size:
            self._seen.clear()
        self._seen[values] = counted
        return counted

    def __len__(self) -> int:
        return len(self._cache)


# --- GSM-7 helper ----------------------------------------------------------------------------

# Characters that make a whole SMS UCS-2 (halving what fits in a part, so often doubling the
# cost) but have a GSM-7 twin a reader would not miss. The preview renders the fixed text into
# its "fix" button and static/js/sms-counter.js only copies it in, so the browser keeps no table.
GSM7_FIXES: dict[str, str] = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark, the typographic apostrophe
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",
    "\u2032": "'",  # prime
    "\u201c": '"',  # typographic double quotes
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',  # double prime
    "\u00ab": '"',  # guillemets: GSM-7 has none
    "\u00bb": '"',
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u2002": " ",  # en space
    "\u2003": " ",  # em space
    "\t": " ",  # a tab is not GSM-7 either
    "\u2026": "...",  # ellipsis
    "\u200b": "",  # zero-width space: invisible, and it alone makes a text UCS-2
    "\ufeff": "",  # byte-order mark pasted from a file
}


def gsm7_fix(text: str) -> str:
    """`text` with every fixable UCS-2-forcing character replaced by its GSM-7 twin."""
    return "".join(GSM7_FIXES.get(c, c) for c in text)


@dataclass(frozen=True)
class Gsm7Report:
    """Which characters force UCS-2, which can be fixed, and what fixing them saves."""

    forcing: tuple[str, ...]  # distinct characters forcing UCS-2, in order of first use
    fixable: tuple[str, ...]
    unfixable: tuple[str, ...]
    fixed_text: str
    parts_before: int
    parts_after: int
    encoding_after: str

    @property
    def parts_saved(self) -> int:
        return self.parts_before - self.parts_after


def gsm7_report(text: str) -> Gsm7Report:
    stats = smstext.analyse(text)
    forcing = stats.non_gsm_characters
    fixable = tuple(c for c in forcing if c in GSM7_FIXES)
    fixed = gsm7_fix(text)
    after = smstext.analyse(fixed)
    return Gsm7Report(
        forcing=forcing,
        fixable=fixable,
        unfixable=tuple(c for c in forcing if c not in GSM7_FIXES),
        fixed_text=fixed,
        parts_before=stats.parts,
        parts_after=after.parts,
        encoding_after=after.encoding,
    )
