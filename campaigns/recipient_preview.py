"""The composer's preview for one recipient the author chooses: found by name or phone, stepped
to the next or previous one, or jumped to the longest text, the one with the most SMS parts, or
the next one missing a value. The text is rendered by `CompiledText.personalise`, the one
rendering path the send plan, the engine and test sends use.

A million-contact audience costs each click a fixed handful of small queries, never a pass over
the audience:

- stepping is a keyset page of one by contact id over the audience query (config.paging): the
  next recipient is the first id past this one, read from the primary key; no OFFSET, no COUNT;
- "Longest text" and "Most SMS parts" come from the last send plan when it counts the campaign
  as typed (it rendered every recipient). Otherwise from the audience's longest values, the
  summary the live preview keeps cached (campaigns.audience_values), and one indexed look-up per
  value for a recipient who holds it; their texts are rendered and the worst one shown;
- "Missing a value" walks the ids past the one shown and stops at the first recipient without a
  value, reading at most MISSING_WINDOW rows (and none when the summary says no one lacks one);
- search is the contacts page's own free-text search (contacts.selectors.contacts_search: name,
  field values, phone prefix, each served by its index), narrowed to the audience.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When, Window
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from bsg import smstext
from config.paging import Keyset
from contacts.models import Contact
from contacts.selectors import (
    ContactFilters,
    audience_contacts,
    contacts_search,
    looks_like_phone,
)

from . import sendplan, services
from .audience_values import audience_values
from .models import Campaign
from .rendering import NAME, PHONE, CompiledText, Slot

# Ascending ids: "next" is the next contact the author would meet in a list sorted by age.
RECIPIENT_KEYSET = Keyset(Contact, "id")
SEARCH_MATCHES = 5
# At most this many recipients are read looking for one without a value (60 ms on PostgreSQL
# on a busy 2-core machine); the next click looks on from the last one read.
MISSING_WINDOW = 20_000

SEARCH = "search"
PREVIOUS = "previous"
NEXT = "next"
LONGEST = "longest"
MOST_PARTS = "most_parts"
MISSING = "missing"
STEPS = [
    (SEARCH, gettext_lazy("Find")),
    (PREVIOUS, gettext_lazy("Previous")),
    (NEXT, gettext_lazy("Next")),
    (LONGEST, gettext_lazy("Longest text")),
    (MOST_PARTS, gettext_lazy("Most SMS parts")),
    (MISSING, gettext_lazy("Missing a value")),
]
NOT_A_RECIPIENT = gettext_lazy(
    "That contact is not one of this campaign's recipients; here is the first."
)
_COLUMNS = ("id", "phone", "name", "fields")


@dataclass(frozen=True)
class RecipientMatch:
    contact_id: int
    phone: str
    name: str


@dataclass(frozen=True)
class RecipientPreview:
    # Why no recipient can be shown, in words ("" when one is).
    unavailable: str = ""
    contact_id: int | None = None
    text: sendplan.PreviewText | None = None
    # Which recipient this is and how it was found.
    note: str = ""
    # The placeholders without a value that leave this recipient out of the campaign, by their
    # names (rendering.Slot.name).
    left_out: tuple[str, ...] = ()
    matches: tuple[RecipientMatch, ...] = ()
    more_matches: bool = False
    # What the search found, said beside the search box.
    search_note: str = ""


def recipient_preview(
    *,
    campaign: Campaign,
    list_ids: list[int],
    contact_id: int | None = None,
    step: str = "",
    search: str = "",
    choose: int | None = None,
) -> RecipientPreview:
    """The text one recipient of `campaign` (saved or as typed) gets: the contact shown before
    (`contact_id`), moved by `step`, or the one chosen from the search's matches (`choose`)."""
    if not campaign.uses_lists:
        return RecipientPreview(
            unavailable=_("Sent to numbers typed in: each of them gets the text as written.")
        )
    text = sendplan.campaign_sms_text(campaign=campaign)
    if not text:
        return RecipientPreview(
            unavailable=_("Write the text to see it as each recipient gets it.")
            if campaign.is_sms
            else _("Turn on the SMS fallback to see it as each recipient gets it.")
        )
    compiled = sendplan.campaign_compiled(campaign=campaign, text=text)
    if compiled.errors:
        return RecipientPreview(unavailable=_("Fix the text marked above to see it per recipient."))
    if not list_ids:
        return RecipientPreview(
            unavailable=_("Choose contact lists to see the text as each of their contacts gets it.")
        )
    finder = _Finder(campaign, list_ids, compiled)
    if choose is not None:
        return finder.chosen(choose)
    if step == SEARCH:
        return finder.search(search, contact_id)
    if step in (NEXT, PREVIOUS):
        return finder.step(contact_id, forward=step == NEXT)
    if step in (LONGEST, MOST_PARTS):
        return finder.worst(contact_id, by_parts=step == MOST_PARTS)
    if step == MISSING:
        return finder.missing(contact_id)
    return finder.shown(contact_id)


class _Finder:
    """The reads behind each button, over one campaign's audience."""

    def __init__(self, campaign: Campaign, list_ids: list[int], compiled: CompiledText) -> None:
        self.campaign = campaign
        self.list_ids = list_ids
        self.compiled = compiled
        self.audience: QuerySet[Contact] = audience_contacts(list_ids=list_ids).only(*_COLUMNS)

    # --- the buttons ---------------------------------------------------------------------------

    def shown(self, contact_id: int | None, note: str = "", **more) -> RecipientPreview:
        """The contact shown before, if still a recipient; else the first recipient."""
        contact = self._at(contact_id)
        if contact is None:
            if contact_id is not None and not note:
                note = str(NOT_A_RECIPIENT)
            return self._first(note=note, **more)
        return self._preview(contact, note=note, **more)

    def chosen(self, contact_id: int) -> RecipientPreview:
        contact = self._at(contact_id)
        if contact is None:
            return self._first(note=str(NOT_A_RECIPIENT))
        return self._preview(contact, note=_("The recipient you chose."))

    def step(self, contact_id: int | None, *, forward: bool) -> RecipientPreview:
        if contact_id is None:
            return self._first()
        key = (contact_id,)
        page = RECIPIENT_KEYSET.page(
            self.audience, after=key if forward else None, before=None if forward else key, size=1
        )
        if page.items:
            return self._preview(page.items[0])
        end = _("That was the last recipient.") if forward else _("This is the first recipient.")
        return self.shown(contact_id, note=end)

    def search(self, typed: str, contact_id: int | None) -> RecipientPreview:
        typed = typed.strip()
        if not typed:
            return self.shown(contact_id, search_note=_("Type a name or a phone number to find."))
        # A number searches the phones alone by prefix: its index, sorted from what it found
        # (Keyset.page's `selective`); OR-ed with the name and field searches, PostgreSQL walked
        # the ids instead (0.6 s at 300,000 contacts for "+380 50 0299").
        phone = looks_like_phone(typed)
        filters = ContactFilters(phone=typed) if phone else ContactFilters(text=typed)
        members = audience_contacts(list_ids=self.list_ids).values("pk")
        found = contacts_search(filters=filters).filter(pk__in=members).only(*_COLUMNS)
        page = RECIPIENT_KEYSET.page(found, size=SEARCH_MATCHES, selective=filters.selective)
        if not page.items:
            return self.shown(
                contact_id,
                search_note=_(
                    "No recipient of this campaign has “%(typed)s” in their name, phone or details."
                )
                % {"typed": typed},
            )
        matches = tuple(RecipientMatch(c.pk, c.phone, c.name) for c in page.items)
        more = page.next_after is not None
        return self._preview(
            page.items[0],
            note=_("The first recipient found."),
            matches=matches,
            more_matches=more,
            search_note=(
                ngettext(
                    "The first %(count)s found; type more to narrow it down.",
                    "The first %(count)s found; type more to narrow it down.",
                    len(matches),
                )
                if more
                else ngettext("%(count)s found.", "%(count)s found.", len(matches))
            )
            % {"count": len(matches)},
        )

    def worst(self, contact_id: int | None, *, by_parts: bool) -> RecipientPreview:
        """The recipient with the longest text, or with the most SMS parts (then the longest)."""
        if not self.compiled.slots:
            return self.shown(contact_id, note=_("Every recipient gets the same text."))
        fresh, plan = (
            services.campaign_plan_is_fresh(campaign=self.campaign, list_ids=self.list_ids)
            if self.campaign.pk
            else (False, None)
        )
        example = (plan.result.get(MOST_PARTS if by_parts else LONGEST) if fresh else None) or {}
        if example.get("phone"):
            contact = self.audience.filter(phone=example["phone"]).first()
            if contact is not None:
                counted = (
                    _("Of all recipients, as the send plan counted them, the most SMS parts.")
                    if by_parts
                    else _("Of all recipients, as the send plan counted them, the longest text.")
                )
                return self._preview(contact, note=counted)
        found = self._holders_of_longest_values()
        if not found:
            return self.shown(contact_id)

        def rank(item: tuple[Contact, sendplan.PreviewText]) -> tuple:
            contact, preview = item
            stats = preview.stats
            # Someone the campaign leaves out gets nothing: they are not the worst case.
            sent = not self._leaves_out(preview)
            ucs2 = stats.encoding == smstext.UCS2
            if by_parts:
                return (sent, stats.parts, ucs2, stats.length, -contact.pk)
            return (sent, stats.length, stats.parts, -contact.pk)

        contact, _preview = max(found, key=rank)
        if by_parts:
            note = _(
                "Of the recipients with the audience's longest values, the most SMS parts; the "
                "send plan checks every recipient."
            )
        else:
            note = _(
                "Of the recipients with the audience's longest values, the longest text; the "
                "send plan checks every recipient."
            )
        return self._preview(contact, note=note)

    def missing(self, contact_id: int | None) -> RecipientPreview:
        """The next recipient without a value for a placeholder of the text, from the one shown
        on (and round to the first); their text shows the fallback or the gap."""
        slots = tuple({slot.label: slot for slot in self.compiled.slots}.values())
        summary = audience_values(list_ids=self.list_ids, compiled=self.compiled)
        if summary is None or not any(facts.missing for facts in summary.fields.values()):
            # The summary (cached for the live preview) says no one lacks a value: no walk.
            return self.shown(
                contact_id, note=_("Every recipient has a value for each placeholder.")
            )
        found, lacking = self._look_for_missing(slots, after=contact_id)
        if found is None and contact_id is not None:
            found, lacking = self._look_for_missing(slots, after=None)
        if found is None:
            return self.shown(contact_id, note=_("No recipient lacks a value now."))
        if not lacking:
            return self._preview(
                found,
                note=_(
                    "None of the next %(count)s recipients lacks a value; this is the last of "
                    "them. “Missing a value” again looks on from here."
                )
                % {"count": number_format(MISSING_WINDOW, force_grouping=True)},
            )
        return self._preview(found, note=_("A recipient missing a value."))

    # --- reads ---------------------------------------------------------------------------------

    def _at(self, contact_id: int | None) -> Contact | None:
        if contact_id is None:
            return None
        return self.audience.filter(pk=contact_id).first()

    def _first(self, **more) -> RecipientPreview:
        page = RECIPIENT_KEYSET.page(self.audience, size=1)
        if not page.items:
            return RecipientPreview(
                unavailable=_("No recipients: the lists chosen have no contacts.")
            )
        return self._preview(page.items[0], **more)

    def _holders_of_longest_values(self) -> list[tuple[Contact, sendplan.PreviewText]]:
        """A recipient holding each of the audience's longest values (the longest, the longest
        outside GSM-7, the longest with a two-septet character, per placeholder) and, where a
        fallback fills a missing value, one without it: the worst text is among theirs, but for
        texts whose worst case needs two values no single recipient has."""
        summary = audience_values(list_ids=self.list_ids, compiled=self.compiled)
        if summary is None:
            return []
        holders: dict[int, Contact] = {}
        slots = {slot.label: slot for slot in self.compiled.slots}
        for label, slot in slots.items():
            facts = summary.fields.get(label)
            if facts is None:
                continue
            values = (facts.longest, facts.longest_not_gsm7, facts.longest_with_extension)
            for value in dict.fromkeys(v for v in values if v):
                contact = self._holder(slot, value)
                if contact is not None:
                    holders.setdefault(contact.pk, contact)
            if facts.missing and slot.fallback:
                contact, lacking = self._look_for_missing((slot,), after=None)
                if contact is not None and lacking:
                    holders.setdefault(contact.pk, contact)
        return [(contact, self._text(contact)) for contact in holders.values()]

    def _holder(self, slot: Slot, value: str) -> Contact | None:
        """Any recipient whose placeholder value is `value`, found through an index.

        Unordered on purpose: any holder will do, and an ORDER BY id would tempt PostgreSQL to
        walk the primary key hoping to meet a holder soon (the keyset's `selective` case)."""
        if slot.source == PHONE:
            match = Q(phone=value.removeprefix("+"))  # the unique index
        elif slot.source == NAME:
            # icontains is UPPER(name) LIKE …: the pg_trgm index on UPPER(name) (contacts
            # migration 0006) finds the few candidates, the equality keeps the exact one.
            match = Q(name__icontains=value, name=value)
        elif connection.features.supports_json_field_contains:
            # fields @> {"city": "…"}: the GIN index on fields (contacts migration 0002).
            match = Q(fields__contains={slot.field_key: value})
        else:
            match = Q(**{f"fields__{slot.field_key}": value})  # SQLite: no index, small data
        return self.audience.filter(match).order_by().first()

    def _look_for_missing(
        self, slots: tuple[Slot, ...], *, after: int | None
    ) -> tuple[Contact | None, bool]:
        """The first of the next MISSING_WINDOW recipients past `after` without a value for one
        of `slots`, and True; else the last of those recipients, and False; (None, False) when
        no recipient follows `after`.

        Written as SELECT … FROM (the next MISSING_WINDOW recipients by id, numbered) WHERE
        lacking OR the last one, LIMIT 1: PostgreSQL reads the window in id order and stops at
        the first row that answers, so a common gap (253 of 1,708) costs a few rows and a rare
        one at most the window, never the whole audience; the next click looks on from the
        last row read. Django has no subquery in FROM, hence SQL text around the ORM's query."""
        aliases = {}
        lacks = []
        for index, slot in enumerate(slots):
            if slot.source == NAME:
                lacks.append(Q(name=""))
            elif slot.source == "field":
                aliases[f"v{index}"] = KT(f"fields__{slot.field_key}")
                lacks.append(Q(**{f"v{index}__isnull": True}) | Q(**{f"v{index}": ""}))
        if not lacks:
            return None, False  # every recipient has a phone
        window = audience_contacts(list_ids=self.list_ids).alias(**aliases)
        if after is not None:
            window = window.filter(pk__gt=after)
        window = (
            window.annotate(
                lacking=Case(
                    When(reduce(or_, lacks), then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                ),
                place=Window(RowNumber(), order_by=F("id").asc()),
            )
            .order_by("id")
            .values_list("id", "lacking", "place")[:MISSING_WINDOW]
        )
        inner, params = window.query.sql_with_params()
        with connection.cursor() as cursor:
            # `inner` is the ORM's SQL with its parameters kept apart: nothing typed is in it.
            cursor.execute(
                f"SELECT w.id, w.lacking FROM ({inner}) w "  # noqa: S608
                "WHERE w.lacking = 1 OR w.place = %s ORDER BY w.id LIMIT 1",
                (*params, MISSING_WINDOW),
            )
            row = cursor.fetchone()
        if row is None:
            return None, False
        return self._at(row[0]), bool(row[1])

    # --- the answer ----------------------------------------------------------------------------

    def _text(self, contact: Contact) -> sendplan.PreviewText:
        return sendplan.recipient_text(
            compiled=self.compiled, phone=contact.phone, name=contact.name, fields=contact.fields
        )

    def _leaves_out(self, preview: sendplan.PreviewText) -> tuple[str, ...]:
        if self.campaign.leaves_out_recipients_missing_values:
            return preview.empty_fields
        return ()

    def _preview(self, contact: Contact, **more) -> RecipientPreview:
        preview = self._text(contact)
        return RecipientPreview(
            contact_id=contact.pk, text=preview, left_out=self._leaves_out(preview), **more
        )
