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

A placeholder may carry a fallback for recipients without a value: `{city|your city}`. BSG's
send-groups fills `{<field id>}` itself and documents no fallback (sms-send-groups.txt: "you
must specify the identifier(s) of the contact field(s) in the form {field_id}"), so a fallback
there is an error. A value missing where a placeholder has no fallback renders as nothing; the
campaign's `missing_values` says whether such recipients get that text, are left out or block
sending (Campaign.leaves_out_recipients_missing_values).

Unknown placeholders are errors wherever placeholders are rendered.

`CompiledText.personalise` is the one way a recipient's values are found: the send plan, the
engine's ledger, the preview and the test send all call it, so they agree on every text, on who
is left out, and on the values the approval digest covers (campaigns.audience_digest).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from bsg import smstext
from bsg.rules import utf16_length
from contacts.models import ContactField

# `{key}` or `{key|fallback}`; a fallback is any text but braces and line breaks.
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)(?:\|([^{}\n]*))?\}")
NAME = "name"
PHONE = "phone"

MODE_INDIVIDUAL = "individual"
MODE_GROUPS = "groups"
MODE_LITERAL = "literal"  # to numbers, RCS SMS fallback
# How a text that goes to everyone alike gets personalised: campaigns.rcs_content says it its
# own way for RCS to BSG groups.
LITERAL_REMEDY = gettext_lazy("choose contact lists to personalise it.")


@dataclass(frozen=True, slots=True)
class Slot:
    """One placeholder as written (`token`) and what it reads."""

    token: str
    source: str  # "field", "name" or "phone"
    field_key: str = ""
    bsg_field_id: int | None = None
    # What a recipient without a value gets here; None: nothing (and the campaign's
    # missing_values decides whether they get the text at all).
    fallback: str | None = None
    # The field's own name (ContactField.label) when the text was compiled.
    field_name: str = ""

    @property
    def label(self) -> str:
        return self.field_key or self.source

    @property
    def name(self) -> str:
        """What a marketer calls it, as the composer's "Insert field" picker names it
        (campaigns.selectors.placeholder_choices): "First name", not `first_name`."""
        if self.source != "field":
            return own_name(self.source) or self.source
        return self.field_name or self.field_key


def own_name(label: str) -> str | None:
    """The contact's own name and phone (a Slot.label of "name" or "phone") in the reader's
    language; None for a field's label."""
    if label == NAME:
        return pgettext("a person's name", "Name")
    if label == PHONE:
        return _("Phone")
    return None


def placeholder_said(label: str, name: str) -> str:
    """A placeholder in a note about missing values, by its name and as it is typed: "City
    {city}". The marketer acts on such a note in the text (a fallback goes inside those
    braces), so both are said; a field without a name of its own is said as typed, "{city}"."""
    typed = f"{{{label}}}"
    if not name or name == label:
        return typed
    return pgettext("a placeholder: its name, then as typed", "%(name)s %(typed)s") % {
        "name": name,
        "typed": typed,
    }


def placeholders_lacking(counts: Mapping[str, str], names: Mapping[str, str]) -> str:
    """How many recipients lack each placeholder (`counts` by Slot.label, already in the
    reader's digits), said with placeholder_said: "City {city} (12), First name {first_name}
    (3)"."""
    return ", ".join(
        pgettext("a placeholder and how many recipients lack it", "%(placeholder)s (%(count)s)")
        % {"placeholder": placeholder_said(label, names.get(label, label)), "count": count}
        for label, count in counts.items()
    )


class Personalised(NamedTuple):
    """One recipient's slot values, fallbacks applied, and what they lack."""

    values: tuple[str, ...]
    # Labels of the placeholders this recipient has no value for, fallback or not.
    missing: tuple[str, ...]
    # Of those, the ones without a fallback: the text has a hole there.
    unfilled: tuple[str, ...]


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

    def names(self, labels: Sequence[str]) -> tuple[str, ...]:
        """The slots' `labels` (Personalised.missing, say) as a marketer reads them (Slot.name);
        a label no slot has is said as it is."""
        names = {slot.label: slot.name for slot in self.slots}
        return tuple(names.get(label, label) for label in labels)

    @property
    def unfilled_labels(self) -> tuple[str, ...]:
        """Labels of the placeholders without a fallback: a recipient missing one of these has
        a hole in their text."""
        return tuple(dict.fromkeys(s.label for s in self.slots if s.fallback is None))

    def personalise(self, *, phone: str, name: str, fields: Mapping[str, object]) -> Personalised:
        """Each slot's value for one contact, in slot order: theirs, else the slot's fallback,
        else "". A million recipients pass through here, so the common case (every value
        there) builds one tuple and nothing else."""
        values = []
        for slot in self.slots:
            if slot.source == "field":
                value = fields.get(slot.field_key) if fields else None
                values.append("" if value is None else str(value))
            elif slot.source == NAME:
                values.append(name or "")
            else:
                values.append(f"+{phone}" if phone else "")
        if "" not in values:
            return Personalised(tuple(values), (), ())
        missing: dict[str, None] = {}
        unfilled: dict[str, None] = {}
        for index, slot in enumerate(self.slots):
            if values[index]:
                continue
            missing[slot.label] = None
            if slot.fallback is None:
                unfilled[slot.label] = None
            else:
                values[index] = slot.fallback
        return Personalised(tuple(values), tuple(missing), tuple(unfilled))

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
        personalised = self.personalise(phone=phone, name=name, fields=fields)
        return Rendered(
            text=self.render_values(personalised.values),
            empty_fields=personalised.unfilled,
            fallback_fields=tuple(
                label for label in personalised.missing if label not in personalised.unfilled
            ),
        )

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
    empty_fields: tuple[str, ...]  # missing, and rendered as nothing
    fallback_fields: tuple[str, ...] = ()  # missing, and rendered as their fallback


def compile_text(text: str, *, fields: Mapping[str, ContactField], mode: str) -> CompiledText:
    """Find the placeholders of `text` and check them against `mode` (see the module doc).

    `fields` is `contacts.selectors.fields_by_reference()`: fields by key and by BSG id.
    """
    pieces: list[str] = []
    slots: list[Slot] = []
    errors: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        token, fallback = match.group(1), match.group(2)
        slot = _slot(token, fields, fallback)
        written = match.group(0)
        if mode == MODE_LITERAL:
            if slot is not None:
                errors.append(
                    _(
                        "%(placeholder)s names contact data, but this text goes to everyone "
                        "alike; %(remedy)s"
                    )
                    % {"placeholder": written, "remedy": LITERAL_REMEDY}
                )
            continue
        if slot is None:
            errors.append(_unknown(token, fields, written))
            continue
        if mode == MODE_GROUPS:
            if slot.source != "field":
                errors.append(
                    _(
                        "%(placeholder)s cannot be used with BSG contact-book groups: BSG fills "
                        "only contact fields; use individual personalisation instead."
                    )
                    % {"placeholder": f"{{{token}}}"}
                )
                continue
            if slot.bsg_field_id is None:
                errors.append(
                    _(
                        "%(placeholder)s: the field “%(field)s” is not linked to a BSG contact "
                        "field, so BSG cannot fill it; link it or personalise here instead."
                    )
                    % {"placeholder": f"{{{token}}}", "field": slot.field_key}
                )
                continue
            if fallback is not None:
                errors.append(
                    _(
                        "%(placeholder)s: BSG fills contact-book groups itself and has no "
                        "fallback for an empty field, so “|%(fallback)s” cannot be sent; write "
                        "%(plain)s, or choose “To contact lists, personalised here” to keep the "
                        "fallback."
                    )
                    % {"placeholder": written, "fallback": fallback, "plain": f"{{{token}}}"}
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


def _slot(token: str, fields: Mapping[str, ContactField], fallback: str | None) -> Slot | None:
    if token == NAME:
        return Slot(token=token, source=NAME, fallback=fallback)
    if token == PHONE:
        return Slot(token=token, source=PHONE, fallback=fallback)
    field = fields.get(token)
    if field is None:
        return None
    return Slot(
        token=token,
        source="field",
        field_key=field.key,
        bsg_field_id=field.bsg_field_id,
        fallback=fallback,
        field_name=field.label,
    )


def _unknown(token: str, fields: Mapping[str, ContactField], written: str) -> str:
    known = sorted({f.key for f in fields.values()} | {NAME, PHONE})
    lowered = token.lower()
    suggestion = ""
    if lowered != token and (lowered in fields or lowered in (NAME, PHONE)):
        suggestion = lowered
    elif close := difflib.get_close_matches(lowered, known, n=1):
        suggestion = close[0]
    said = {"placeholder": written, "known": ", ".join(f"{{{k}}}" for k in known)}
    if suggestion:
        return _(
            "%(placeholder)s names no contact field. Did you mean %(suggestion)s? Known: %(known)s."
        ) % {**said, "suggestion": f"{{{suggestion}}}"}
    return _("%(placeholder)s names no contact field. Known: %(known)s.") % said


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


# --- the worst case over an audience ---------------------------------------------------------


@dataclass(frozen=True)
class WorstCase:
    """The most expensive text the audience's values can make, and the values that make it."""

    text: str
    stats: smstext.TextStats
    # (name, value) of each placeholder as the worst text fills it, values that are there; the
    # placeholder by its name (Slot.name), as the composer's other notes say it.
    values: tuple[tuple[str, str], ...]
    # (name, value, its characters outside GSM-7) of the values that make the text UCS-2.
    ucs2_values: tuple[tuple[str, str, tuple[str, ...]], ...]


def _septets(value: str) -> int:
    return len(value) + sum(c in smstext.GSM7_EXTENSION for c in value)


def _is_gsm7(value: str) -> bool:
    return smstext.encoding_of(value) == smstext.GSM7


def worst_case(compiled: CompiledText, candidates: Mapping[str, Sequence[str]]) -> WorstCase:
    """The text with the most parts (then the longest) that `candidates`, some values each
    placeholder label can take, make.

    Two ways to be worst: every placeholder at its longest GSM-7 value (the text stays GSM-7),
    or the text pushed into UCS-2 (70 a part instead of 160) by any value outside GSM-7, with
    every other placeholder at its longest in UTF-16 units. Each label is filled on its own, so
    this may combine values no single recipient has: an upper bound, which is what a price
    warning should be; the send plan counts every recipient exactly.
    """
    labels = tuple(dict.fromkeys(slot.label for slot in compiled.slots))
    options = {label: [v for v in candidates.get(label, ()) if v] or [""] for label in labels}
    gsm7 = {
        label: max((v for v in vs if _is_gsm7(v)), key=_septets, default="")
        for label, vs in options.items()
    }
    tries = [gsm7]
    longest = {label: max(vs, key=utf16_length) for label, vs in options.items()}
    if any(not _is_gsm7(v) for v in longest.values()):
        tries.append(longest)
    else:
        for label, vs in options.items():
            ucs2 = [v for v in vs if not _is_gsm7(v)]
            if ucs2:
                tries.append(longest | {label: max(ucs2, key=utf16_length)})
    best: tuple[tuple[int, bool, int], str, smstext.TextStats, dict[str, str]] | None = None
    for chosen in tries:
        text = compiled.render_values([chosen[slot.label] for slot in compiled.slots])
        stats = smstext.analyse(text)
        rank = (stats.parts, stats.encoding == smstext.UCS2, stats.length)
        if best is None or rank > best[0]:
            best = (rank, text, stats, chosen)
    _rank, text, stats, chosen = best
    names = dict(zip(labels, compiled.names(labels), strict=True))
    return WorstCase(
        text=text,
        stats=stats,
        values=tuple((names[label], value) for label, value in chosen.items() if value),
        ucs2_values=tuple(
            (names[label], value, smstext.analyse(value).non_gsm_characters)
            for label, value in chosen.items()
            if value and not _is_gsm7(value)
        ),
    )


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
    # The alphabet the text is written in when GSM-7 lacks it (smstext.script_of): said
    # plainly instead of each of its letters listed as forcing UCS-2.
    script: str = ""

    @property
    def script_note(self) -> str:
        return smstext.script_note(self.script) if self.script else ""

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
        script=smstext.script_of(text) if forcing else "",
    )
