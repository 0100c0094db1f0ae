"""What the composer needs to know about an audience's values, without reading every recipient
on every keystroke: per placeholder, how many recipients lack a value, the longest value, the
longest value outside GSM-7 and the longest holding a two-septet character; and how many
recipients lack a value for a placeholder without a fallback.

Why a cached summary and not a scan per keystroke: the live preview asks again at every pause
in typing, and what it needs changes only when the lists or the placeholders change, not with
the words around them. One query answers every placeholder in one pass over the audience,
grouped by the placeholders' values so the character tests run once per distinct value (about
1.5 s for a million contacts on a 2-core machine, done by the database; nothing streams to
Python; the preview's own recipient count costs 0.9 s of that size on every keystroke), and
its answer is cached for AUDIENCE_VALUES_CACHE_SECONDS under the lists and placeholders it
was asked for: typing the words around them costs a cache read. Contacts change through
imports, edits, list moves and the admin: rather than teach every one of them to invalidate a
cache, the summary simply expires, and a send plan forgets it once it has counted the real
thing. Nothing is approved from this summary: the send plan counts every recipient exactly,
and approval needs a fresh plan.

Each "longest" is found in the same pass as `MAX(lpad(length) || value)`: the zero-padded
length first, so the greatest string is the longest value (portable to SQLite, unlike
DISTINCT ON or window functions, and one pass instead of a max and a second search for it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import CharField, Count, F, Max, Q, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Concat, Length, LPad

from bsg import smstext
from contacts.selectors import audience_contacts

from .rendering import NAME, PHONE, CompiledText

# Long enough to compose a text in; a send plan drops it at once (audience_values_forget).
AUDIENCE_VALUES_CACHE_SECONDS = 300
# Wide enough for any value a contact field holds (a TextField in JSON, in practice short).
_LENGTH_DIGITS = 7


def _bracket(characters: frozenset[str]) -> str:
    # Escaped for both Python's re (SQLite's REGEXP, as Django registers it) and PostgreSQL's
    # advanced regular expressions, where a backslash inside brackets escapes the next
    # character too.
    return "".join("\\" + c if c in "\\]^-[" else c for c in sorted(characters))


# A value holding any character outside the GSM-7 alphabets makes the whole SMS UCS-2.
NOT_GSM7 = f"[^{_bracket(smstext.GSM7_BASIC | smstext.GSM7_EXTENSION)}]"
# A character of the extension table costs two septets.
GSM7_EXTENSION = f"[{_bracket(smstext.GSM7_EXTENSION)}]"


@dataclass(frozen=True)
class FieldValues:
    label: str
    missing: int  # recipients without a value
    longest: str
    longest_not_gsm7: str  # "" when every value is GSM-7
    longest_with_extension: str  # the longest GSM-7 value with a two-septet character


@dataclass(frozen=True)
class AudienceValues:
    recipients: int
    fields: dict[str, FieldValues]  # by placeholder label
    # Recipients without a value for at least one placeholder that has no fallback.
    unfilled: int

    def candidates(self, compiled: CompiledText) -> dict[str, list[str]]:
        """Values each placeholder may take for `rendering.worst_case`: the audience's longest
        ones, and its fallback where some recipients lack a value."""
        found: dict[str, list[str]] = {}
        for slot in compiled.slots:
            facts = self.fields.get(slot.label)
            if facts is None:
                continue
            values = found.setdefault(slot.label, [])
            values += [
                facts.longest,
                facts.longest_not_gsm7,
                facts.longest_with_extension,
            ]
            if facts.missing and slot.fallback:
                values.append(slot.fallback)
        return found


def audience_values(*, list_ids: Sequence[int], compiled: CompiledText) -> AudienceValues | None:
    """The summary for these lists and `compiled`'s placeholders (cached; see the module doc);
    None when there is nothing to summarise."""
    if not list_ids or not compiled.slots:
        return None
    key = _cache_key(list_ids, compiled)
    found = cache.get(key)
    if found is not None:
        return found
    summary = _summarise(list_ids, compiled)
    cache.set(key, summary, AUDIENCE_VALUES_CACHE_SECONDS)
    return summary


def audience_values_forget(*, list_ids: Sequence[int], compiled: CompiledText) -> None:
    """Drop the cached summary: a send plan has just read every recipient, and the composer
    should not go on showing an older count beside it."""
    if list_ids and compiled.slots:
        cache.delete(_cache_key(list_ids, compiled))


def _labels(compiled: CompiledText) -> list[tuple[str, str]]:
    return list(dict.fromkeys((slot.label, slot.source) for slot in compiled.slots))


def _cache_key(list_ids: Sequence[int], compiled: CompiledText) -> str:
    raw = json.dumps(
        [sorted(list_ids), _labels(compiled), sorted(compiled.unfilled_labels)],
        separators=(",", ":"),
    )
    return "campaigns:audience-values:" + hashlib.sha256(raw.encode()).hexdigest()


def _summarise(list_ids: Sequence[int], compiled: CompiledText) -> AudienceValues:
    labels = _labels(compiled)
    aliases = {}
    for index, (label, source) in enumerate(labels):
        if source == NAME:
            aliases[f"v{index}"] = F("name")
        elif source == PHONE:
            aliases[f"v{index}"] = Concat(Value("+"), F("phone"))
        else:
            aliases[f"v{index}"] = KT(f"fields__{label}")
    # Grouped by the placeholders' values first: the regular expressions and the padding then
    # run once per distinct combination of values (a few thousand first names and cities),
    # not once per contact.
    contacts = (
        audience_contacts(list_ids=list_ids)
        .order_by()
        .annotate(**aliases)
        .values(*aliases)
        .annotate(n=Count("pk"))
    )

    def missing(index: int) -> Q:
        return Q(**{f"v{index}__isnull": True}) | Q(**{f"v{index}": ""})

    def longest(index: int) -> Concat:
        value = F(f"v{index}")
        size = Cast(Length(value), output_field=CharField())
        return Concat(LPad(size, _LENGTH_DIGITS, Value("0")), value, output_field=CharField())

    aggregates = {"recipients": Sum("n")}
    unfilled: Q | None = None
    for index, (label, _source) in enumerate(labels):
        outside = Q(**{f"v{index}__regex": NOT_GSM7})
        aggregates[f"missing{index}"] = Sum("n", filter=missing(index))
        aggregates[f"longest{index}"] = Max(longest(index))
        aggregates[f"outside{index}"] = Max(longest(index), filter=outside)
        aggregates[f"extension{index}"] = Max(
            longest(index), filter=Q(**{f"v{index}__regex": GSM7_EXTENSION}) & ~outside
        )
        if label in compiled.unfilled_labels:
            unfilled = missing(index) if unfilled is None else unfilled | missing(index)
    if unfilled is not None:
        aggregates["unfilled"] = Sum("n", filter=unfilled)
    row = contacts.aggregate(**aggregates)
    return AudienceValues(
        recipients=row["recipients"] or 0,
        fields={
            label: FieldValues(
                label=label,
                missing=row[f"missing{index}"] or 0,
                longest=_value(row[f"longest{index}"]),
                longest_not_gsm7=_value(row[f"outside{index}"]),
                longest_with_extension=_value(row[f"extension{index}"]),
            )
            for index, (label, _source) in enumerate(labels)
        },
        unfilled=row.get("unfilled") or 0,
    )


def _value(padded: str | None) -> str:
    return (padded or "")[_LENGTH_DIGITS:]
