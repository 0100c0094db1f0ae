"""Reads for the contacts app: audiences, search, lookups. Writes live in contacts/services.py."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers
from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    prefetch_related_objects,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, StrIndex, Upper
from django.db.models.lookups import Exact, GreaterThan

from bsg.errors import BsgError
from config.bsg import bsg_client
from config.paging import Keyset, Page

from .csvsafe import neutralise_cell, neutralise_cells, phone_cell
from .models import (
    Contact,
    ContactField,
    ContactList,
    DoNotContact,
    ListMemberCount,
    ListMembership,
)

# Keeps each `phone IN (...)` well under SQLite's 32,766 bound parameters and PostgreSQL's
# comfortable plan size.
PHONE_BATCH = 5_000


def _members_of(
    list_ids: Sequence[int], *, first_key: int | None = None, end_key: int | None = None
) -> QuerySet[Contact]:
    # EXISTS rather than a JOIN: a contact in two of the lists is one row without DISTINCT,
    # which PostgreSQL would otherwise sort or hash over a million rows.
    memberships = ListMembership.objects.filter(
        contact_id=OuterRef("pk"), contact_list_id__in=list(list_ids)
    )
    contacts = Contact.objects.all()
    # A slice's key range bounds the memberships too: PostgreSQL then reads that range of the
    # (list, contact) index instead of probing it contact by contact (a ten-million dispatch's
    # slice read: ~30 ms -> ~22 ms).
    if first_key is not None:
        contacts = contacts.filter(id__gte=first_key)
        memberships = memberships.filter(contact_id__gte=first_key)
    if end_key is not None:
        contacts = contacts.filter(id__lt=end_key)
        memberships = memberships.filter(contact_id__lt=end_key)
    return contacts.filter(Exists(memberships))


class _ProbedExists(Exists):
    """EXISTS run as a lookup for each row: OFFSET 0 keeps PostgreSQL from turning it into a
    join (and SQLite accepts it after the LIMIT 1 Django gives every EXISTS)."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def _opted_out(by: datetime | None = None, *, probed: bool = False) -> Exists:
    entries = DoNotContact.objects.filter(phone=OuterRef("phone"))
    if by is not None:
        entries = entries.filter(created_at__lte=by)
    return _ProbedExists(entries) if probed else Exists(entries)


def audience_contacts(
    *,
    list_ids: Sequence[int],
    opted_out_by: datetime | None = None,
    first_key: int | None = None,
    end_key: int | None = None,
) -> QuerySet[Contact]:
    """Each contact in any of the lists once, without the numbers on the do-not-contact list.

    Every send goes through here, so an opt-out is honoured however the campaign was built.
    With `opted_out_by`, only the numbers on the list by then are left out: an approved
    campaign's dispatch reads the audience its approver saw, and leaves the later opt-outs
    (`opted_out_since`) out of what it sends itself.

    `first_key` and `end_key` (a dispatch slice: contacts with first_key <= id < end_key,
    either bound optional) read a few thousand contacts at a time; each of their numbers is
    then looked up in the do-not-contact list's index. PostgreSQL otherwise sometimes chose to
    hash the whole list for each slice (100,000 numbers at ten million contacts: ~90 ms a
    slice instead of ~15, and a ten-million dispatch ~40 % slower when it did).
    """
    if not list_ids:
        return Contact.objects.none()
    sliced = first_key is not None or end_key is not None
    members = _members_of(list_ids, first_key=first_key, end_key=end_key)
    return members.filter(~_opted_out(opted_out_by, probed=sliced))


def opted_out_since(*, since: datetime) -> set[str]:
    """Numbers put on the do-not-contact list after `since`."""
    return set(DoNotContact.objects.filter(created_at__gt=since).values_list("phone", flat=True))


@dataclass(frozen=True)
class AudienceSummary:
    """Who a send to some lists reaches, and who it leaves out and why."""

    members: int
    # DoNotContact.Source value -> how many members it excludes; only sources that exclude any.
    excluded_by_source: dict[str, int] = field(default_factory=dict)

    @property
    def excluded(self) -> int:
        return sum(self.excluded_by_source.values())

    @property
    def recipients(self) -> int:
        return self.members - self.excluded

    @property
    def excluded_by_label(self) -> list[tuple[str, int]]:
        """(human label, count) pairs for the page, in the Source enum's order."""
        return [
            (source.label, self.excluded_by_source[source.value])
            for source in DoNotContact.Source
            if self.excluded_by_source.get(source.value)
        ]


def audience_summary(*, list_ids: Sequence[int]) -> AudienceSummary:
    """Members of the lists (distinct), how many are opted out, by source, and who remains."""
    if not list_ids:
        return AudienceSummary(members=0)
    return AudienceSummary(
        members=_members_of(list_ids).count(), excluded_by_source=_excluded_by_source(list_ids)
    )


def contact_list_audience(*, list_id: int) -> AudienceSummary:
    """audience_summary of one list, its members from the kept count (ListMemberCount): one
    list has no member twice, and counting ten million took 3.2 s a view.

    The opt-outs are counted from the do-not-contact list's side: one lookup of the contact
    and of the membership per opted-out number, however big the list."""
    return AudienceSummary(
        members=contact_list_member_count(list_id=list_id),
        excluded_by_source=_excluded_by_source([list_id]),
    )


def _excluded_by_source(list_ids: Sequence[int]) -> dict[str, int]:
    member_phones = _members_of(list_ids).filter(phone=OuterRef("phone"))
    excluded = (
        DoNotContact.objects.filter(Exists(member_phones))
        .order_by()
        .values("source")
        .annotate(n=Count("id"))
    )
    return {row["source"]: row["n"] for row in excluded}


def do_not_contact_phones(
    *, phones: Iterable[str], opted_out_by: datetime | None = None
) -> set[str]:
    """Which of these normalized phones are on the do-not-contact list (by `opted_out_by`, if
    given: see audience_contacts)."""
    found: set[str] = set()
    batch: list[str] = []
    for phone in phones:
        batch.append(phone)
        if len(batch) >= PHONE_BATCH:
            found.update(_opted_out_among(batch, opted_out_by))
            batch = []
    if batch:
        found.update(_opted_out_among(batch, opted_out_by))
    return found


def _opted_out_among(phones: list[str], by: datetime | None) -> Iterable[str]:
    entries = DoNotContact.objects.filter(phone__in=set(phones))
    if by is not None:
        entries = entries.filter(created_at__lte=by)
    return entries.values_list("phone", flat=True)


def fields_by_reference() -> dict[str, ContactField]:
    """Each field under its key and, when linked to BSG, under its BSG field id as a string.

    A template may say `{first_name}` or `{17}`; both look up here and resolve the same way.
    Keys start with a letter, so a key can never collide with a numeric id.
    """
    lookup: dict[str, ContactField] = {}
    for contact_field in ContactField.objects.all():
        lookup[contact_field.key] = contact_field
        if contact_field.bsg_field_id is not None:
            lookup[str(contact_field.bsg_field_id)] = contact_field
    return lookup


# --- pages ---------------------------------------------------------------------------------

PAGE_SIZE = 50


def phone_search_prefix(typed: str, *, region: str | None = None) -> str:
    """The stored-digits prefix for a phone as someone types it in a search box.

    `+380 50 12`, `00380 50-12` and (in the default region UA) `050 12` all become `3805012`,
    so a prefix search finds the number however it is typed.
    """
    digits = re.sub(r"\D", "", typed)
    if typed.strip().startswith("+") or not digits:
        return digits
    if digits.startswith("00"):
        return digits[2:]
    region = (region or settings.CONTACTS_DEFAULT_REGION or "").upper()
    if digits.startswith("0") and region:
        # A national number with its trunk 0: the country code replaces the 0.
        country_code = phonenumbers.country_code_for_region(region)
        if country_code:
            return f"{country_code}{digits[1:]}"
    return digits


def phone_starts_with(prefix: str) -> Q:
    """Stored numbers starting with `prefix`, as the range [prefix, the next prefix) that the
    phone's unique index serves (`3805` → `phone >= '3805' AND phone < '3806'`).

    Stored numbers are ASCII digits, which every collation orders as bytes, so the range holds
    exactly the numbers a LIKE 'prefix%' would find. It needs no second, pattern-ops index on
    the phone, which cost every import (migration 0010).
    """
    if not (prefix.isascii() and prefix.isdigit()):
        return Q(pk__in=[])  # nothing stored starts with anything else
    stem = prefix.rstrip("9")
    if not stem:
        return Q(phone__gte=prefix)  # "99…": every number above it starts with it
    following = stem[:-1] + str(int(stem[-1]) + 1)
    return Q(phone__gte=prefix, phone__lt=following)


@dataclass(frozen=True)
class ContactFilters:
    text: str = ""
    phone: str = ""
    name: str = ""
    field_key: str = ""
    field_value: str = ""
    list_id: int | None = None

    @property
    def active(self) -> bool:
        return bool(
            self.text
            or self.phone
            or self.name
            or (self.field_key and self.field_value)
            or self.list_id
        )

    @property
    def selective(self) -> bool:
        """Page from the search's own index, then sort what it found (Keyset.page).

        Always for a phone prefix. A name or text search first walks a window of the ids
        (`searches_words`, contacts_page) and pages from the trigram indexes only when the
        window holds too few matches.
        """
        return bool(self.phone)

    @property
    def searches_words(self) -> bool:
        """A name or text search: trigram indexes, whose match counts PostgreSQL misjudges.

        It never estimates a LIKE '%word%' below 1 in 10,000 rows of each expression: at ten
        million contacts a word that matches nothing is "2,000 matches", and it walked the
        primary key for the first 51 through every row (5.8 s, BENCHMARKS.md). A common word
        can be misjudged the other way ("odesa", 1 in 5: 1 in 300), and its trigram index
        read as a bitmap of millions. contacts_page decides by walking instead.
        """
        return bool(self.name.strip() or self.text.strip()) and not self.phone


_PHONE_LIKE = re.compile(r"\+?[\d\s().-]*\d[\d\s().-]*")


def looks_like_phone(text: str) -> bool:
    """Digits, maybe with +, spaces, dots, dashes and brackets: a phone number as typed."""
    return bool(_PHONE_LIKE.fullmatch(text))


class FieldValuesText(Func):
    """Every custom field value of a contact as one text, for a substring search.

    On PostgreSQL `jsonb_path_query_array(fields, '$.*')::text`, e.g. `["Kyiv", "A-1"]`: values
    without their keys, and the very expression that migration 0006 indexes with pg_trgm. On
    SQLite the values from json_each: Django stores JSON there with `\\u` escapes, so the raw
    text would never match a Cyrillic word.
    """

    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(F("fields"))

    def as_sql(self, compiler, connection, **extra_context):
        # fields_sql is the compiled column reference, never a value from a request.
        fields_sql, params = compiler.compile(self.source_expressions[0])
        return f"(SELECT group_concat(value, ' ') FROM json_each({fields_sql}))", params  # noqa: S608

    def as_postgresql(self, compiler, connection, **extra_context):
        fields_sql, params = compiler.compile(self.source_expressions[0])
        return f"jsonb_path_query_array({fields_sql}, '$.*')::text", params


# --- Search over both halves of the contacts --------------------------------------------------
# The GIN search indexes hold only contacts with `search_pending` false (migration 0009); the
# contacts an import wrote wait for the catch-up task (contacts.search_index) and are read
# through `contact_search_pending`, the small index of exactly those rows. Every search is
# therefore "(indexed and matches) or (waiting and matches)", and the two halves say "matches"
# in different SQL on purpose: PostgreSQL factors a condition common to every branch of an OR
# out of it ("X and (not pending or pending)"), after which neither partial index can serve.


def _waiting_contains(expression, text: str) -> Q:
    """`expression` contains `text` in any case, as icontains, spelt with strpos()."""
    return Q(GreaterThan(StrIndex(Upper(expression), Upper(Value(text))), 0))


def _indexed(match: Q) -> Q:
    return Q(search_pending=False) & match


def _waiting(match: Q) -> Q:
    return Q(search_pending=True) & match


def _text_match(text: str, *, indexed: bool = True) -> Q:
    """Name or any field value containing `text` (any case), or a phone starting with it.

    `indexed` False: spelt as for the waiting rows, which no search index serves."""
    unindexed = _waiting_contains(F("name"), text) | _waiting_contains(F("field_values"), text)
    if indexed:
        match = (
            _indexed(Q(name__icontains=text))
            | _indexed(Q(field_values__icontains=text))
            | _waiting(unindexed)
        )
    else:
        match = unindexed
    if looks_like_phone(text):
        prefix = phone_search_prefix(text)
        if prefix:
            match |= phone_starts_with(prefix)  # the phone index holds every contact
    return match


def name_contains(text: str, *, indexed: bool = True) -> Q:
    """Contacts whose name contains `text`, any case (contacts and admin searches).

    `indexed` False: spelt as for the waiting rows, which no search index serves."""
    unindexed = _waiting_contains(F("name"), text)
    if not indexed:
        return Q(unindexed)
    return _indexed(Q(name__icontains=text)) | _waiting(unindexed)


def _field_value_match(key: str, value: str, *, indexed: bool = True) -> Q:
    """The field `key` holds exactly `value` (field values are strings)."""
    unindexed = Q(Exact(KeyTextTransform(key, "fields"), value))
    if not indexed:
        return unindexed
    return _indexed(Q(fields__contains={key: value})) | _waiting(unindexed)


def contacts_search(*, filters: ContactFilters, indexed: bool = True) -> QuerySet[Contact]:
    """Contacts matching every filter given; each filter is served by an index on PostgreSQL.

    text: the search box, name or any field value containing it or a phone starting with it
    (pg_trgm GIN on each, migration 0006; phone as below), phone: prefix (a range of the unique
    phone index, `phone_starts_with`), name: substring, any case (pg_trgm GIN), field value:
    exact value of one field (GIN containment), list: membership (list, contact) index.

    `indexed` False: the text, name and field conditions are spelt so that no search index can
    serve them, for a bounded walk of the ids (contacts_page) that PostgreSQL must not turn
    into a bitmap of every match.
    """
    contacts = Contact.objects.all()
    text = filters.text.strip()
    if text:
        contacts = contacts.alias(field_values=FieldValuesText()).filter(
            _text_match(text, indexed=indexed)
        )
    if filters.phone:
        prefix = phone_search_prefix(filters.phone)
        if not prefix:
            return Contact.objects.none()
        contacts = contacts.filter(phone_starts_with(prefix))
    if filters.name:
        contacts = contacts.filter(name_contains(filters.name.strip(), indexed=indexed))
    if filters.field_key and filters.field_value:
        contacts = contacts.filter(
            _field_value_match(filters.field_key, filters.field_value.strip(), indexed=indexed)
        )
    if filters.list_id:
        contacts = contacts.filter(
            Exists(
                ListMembership.objects.filter(
                    contact_id=OuterRef("pk"), contact_list_id=filters.list_id
                )
            )
        )
    return contacts


# Newest first by id (config.paging): the contacts table, a list's members, do-not-contact.
CONTACT_KEYSET = Keyset(Contact, "-id")
DO_NOT_CONTACT_KEYSET = Keyset(DoNotContact, "-id")


# Rows of the id index a name or text search walks before it asks the trigram indexes: ~10 ms
# of matching at ten million contacts (BENCHMARKS.md). A word found at least once in 200 of the
# newest rows fills its page within them; a rarer one has at most ~1 in 200 rows to sort.
SEARCH_WALK_ROWS = 10_000


def contacts_page(
    *,
    filters: ContactFilters,
    after: str | tuple | None = None,
    before: str | tuple | None = None,
) -> Page[Contact]:
    """One page of contacts for the table: two queries (page and lists), up to two more for
    a name or text search.

    A phone prefix matches few rows: the page is sorted from the phone index instead of
    walking the ids (Keyset.page's `selective`). A name or text search (`searches_words`)
    first walks the next SEARCH_WALK_ROWS ids past the cursor with conditions no search index
    serves, so PostgreSQL cannot choose anything else whatever it guesses: a common word
    fills its page there. When the window holds fewer than a page, the matches are rare and
    the page is sorted from the trigram indexes."""
    queryset = contacts_search(filters=filters).prefetch_related("lists")
    if filters.searches_words:
        window = CONTACT_KEYSET.window(
            Contact.objects.all(), after=after, before=before, rows=SEARCH_WALK_ROWS
        )
        walked = contacts_search(filters=filters, indexed=False)
        if window is None:  # fewer rows than the window remain: walk them all
            walked = walked.prefetch_related("lists")
            return CONTACT_KEYSET.page(walked, after=after, before=before, size=PAGE_SIZE)
        page = CONTACT_KEYSET.page(
            walked.filter(window), after=after, before=before, size=PAGE_SIZE
        )
        # A page and one more row found in the window are the page the whole table gives.
        if (page.prev_before if before is not None else page.next_after) is not None:
            prefetch_related_objects(page.items, "lists")
            return page
        return CONTACT_KEYSET.page(
            queryset, after=after, before=before, size=PAGE_SIZE, selective=True
        )
    return CONTACT_KEYSET.page(
        queryset, after=after, before=before, size=PAGE_SIZE, selective=filters.selective
    )


@dataclass(frozen=True)
class FieldValue:
    """One of a contact's field values as the contacts table shows it: under the field's label,
    with its key kept only as a hint (a marketer named the field; the key is for templates)."""

    label: str
    key: str
    value: str


@dataclass(frozen=True)
class ContactRow:
    contact: Contact
    fields: list[FieldValue]


def contact_rows(
    *, contacts: Iterable[Contact], contact_fields: Sequence[ContactField]
) -> list[ContactRow]:
    """The table's rows: each contact with its field values labelled, in the fields' order.

    Labels come from `contact_fields`, which the page has already read for its filter, so the
    rows cost no query. A value whose field was deleted since keeps its key as its label."""
    labels = {f.key: f.label or f.key for f in contact_fields}
    order = {key: position for position, key in enumerate(labels)}
    rows = []
    for contact in contacts:
        values = contact.fields or {}
        keys = sorted(values, key=lambda key: (order.get(key, len(order)), key))
        rows.append(
            ContactRow(
                contact=contact,
                fields=[FieldValue(labels.get(k, k), k, str(values[k])) for k in keys],
            )
        )
    return rows


def do_not_contact_page(
    *,
    phone: str = "",
    source: str = "",
    after: str | tuple | None = None,
    before: str | tuple | None = None,
) -> Page[DoNotContact]:
    entries = do_not_contact_search(phone=phone, source=source).select_related("created_by")
    return DO_NOT_CONTACT_KEYSET.page(entries, after=after, before=before, size=PAGE_SIZE)


# Below this many contacts (as estimated) they are counted: counting 100,000 rows is an
# index-only scan of a few milliseconds, and "About 200 contacts" over a table that holds exactly
# 200 reads as a guess where none was needed. Above it, a count of millions would cost the page
# seconds, and "About 1,204,311" is as useful as the exact figure.
CONTACTS_COUNTED_BELOW = 100_000


@dataclass(frozen=True)
class ContactsTotal:
    number: int
    # False: PostgreSQL's estimate ("About 1,204,311 contacts").
    exact: bool


def contacts_total_estimate() -> ContactsTotal:
    """How many contacts there are: counted when they are few, else estimated, without
    counting a million rows.

    PostgreSQL keeps the rows per page it found at its last ANALYZE (or VACUUM, or CREATE
    INDEX); that density times the table's pages now is the estimate, as its planner makes
    it. Below CONTACTS_COUNTED_BELOW, and for a table never measured with rows in it (a fresh
    database: the migrations' indexes were made on an empty table, and reltuples says 0 until
    the next ANALYZE), the contacts are counted instead. Elsewhere (SQLite) counting is cheap
    enough for the sizes it is used for.
    """
    estimate = _contacts_estimate()
    if estimate is not None and estimate >= CONTACTS_COUNTED_BELOW:
        return ContactsTotal(number=estimate, exact=False)
    return ContactsTotal(number=Contact.objects.count(), exact=True)


def _contacts_estimate() -> int | None:
    """PostgreSQL's estimate of the contacts table's rows; None where it has none."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples, relpages, "
                "pg_relation_size(oid) / current_setting('block_size')::int "
                "FROM pg_class WHERE oid = %s::regclass",
                [Contact._meta.db_table],
            )
            row = cursor.fetchone()
        if row is not None:
            measured_rows, measured_pages, pages = row
            if measured_rows > 0 and measured_pages > 0:
                return round(measured_rows / measured_pages * pages)
    return None


def contact_lists_overview(*, archived: bool = False) -> QuerySet[ContactList]:
    """Lists with their member counts (kept: ListMemberCount), in one query."""
    return ContactList.objects.filter(archived_at__isnull=not archived).annotate(
        member_count=Coalesce(F("member_total__members"), 0)
    )


def contact_list_member_count(*, list_id: int) -> int:
    """The list's members, as kept by the database (ListMemberCount)."""
    count = ListMemberCount.objects.filter(contact_list_id=list_id).values_list(
        "members", flat=True
    )
    return next(iter(count), 0)


def contact_lists_active() -> QuerySet[ContactList]:
    return ContactList.objects.filter(archived_at__isnull=True)


@dataclass(frozen=True)
class BsgAnswer:
    """What BSG listed, or why it could not be asked: pages show the error, never a 500."""

    items: list
    error: str = ""


def bsg_groups() -> BsgAnswer:
    """The account's contact-book lists (E12), each with whether one of our lists claims it."""
    try:
        with bsg_client() as client:
            groups = list(client.iter_groups())
    except BsgError as exc:
        return BsgAnswer(items=[], error=str(exc))
    return BsgAnswer(items=groups)


def bsg_fields() -> BsgAnswer:
    """The account's custom contact fields (E13)."""
    try:
        with bsg_client() as client:
            return BsgAnswer(items=client.fields_list())
    except BsgError as exc:
        return BsgAnswer(items=[], error=str(exc))


def do_not_contact_search(*, phone: str = "", source: str = "") -> QuerySet[DoNotContact]:
    entries = DoNotContact.objects.all()
    if phone:
        prefix = phone_search_prefix(phone)
        entries = entries.filter(phone_starts_with(prefix)) if prefix else entries.none()
    if source:
        entries = entries.filter(source=source)
    return entries


# --- CSV export ----------------------------------------------------------------------------

EXPORT_CHUNK = 2_000


def contacts_export_rows(*, queryset: QuerySet[Contact]) -> Iterator[list[str]]:
    """The header, then one row per contact, read in chunks so memory stays flat.

    The header names the columns as our import maps them (`phone`, `name`, each field's key),
    so an export imports back as it was; phones go out as `+380501234567` (csvsafe.phone_cell).
    """
    contact_fields = list(ContactField.objects.values_list("key", flat=True))
    yield ["phone", "name", *contact_fields]
    for contact in (
        queryset.order_by("pk").only("phone", "name", "fields").iterator(chunk_size=EXPORT_CHUNK)
    ):
        values = contact.fields or {}
        texts = [contact.name, *(str(values.get(key, "")) for key in contact_fields)]
        yield [phone_cell(contact.phone), *neutralise_cells(texts)]


def do_not_contact_export_rows(*, queryset: QuerySet[DoNotContact]) -> Iterator[list[str]]:
    yield ["phone", "reason", "source", "added_at"]
    for entry in queryset.order_by("pk").iterator(chunk_size=EXPORT_CHUNK):
        yield [
            phone_cell(entry.phone),
            neutralise_cell(entry.reason),
            entry.source,
            entry.created_at.isoformat(timespec="seconds"),
        ]
