"""Reads for the campaigns app. Calls to BSG that only read live here, behind a short cache."""

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from bsg import rules
from bsg.errors import BsgError
from bsg.schemas import Balance
from config.bsg import bsg_client
from config.paging import Keyset, Page
from config.streaming import rows_streamed
from contacts.csvsafe import neutralise_cell
from contacts.models import ContactImport, DoNotContact, ListMembership
from contacts.phones import InvalidPhone, normalize_phone
from contacts.selectors import audience_contacts, audience_summary, do_not_contact_phones

from .models import (
    DELIVERED_MESSAGE_STATUSES,
    FAILED_MESSAGE_STATUSES,
    Campaign,
    CampaignEvent,
    CampaignPart,
    CampaignSchedule,
    CampaignSnapshot,
    Recipient,
    SavedSender,
    SendPlan,
    TestSend,
)
from .rendering import CompiledText

# Campaigns whose figures can still change by themselves (Campaign.is_live).
LIVE_STATUSES = (Campaign.Status.READY, Campaign.Status.SENDING)

BALANCE_CACHE_KEY = "bsg:account-balance"
# The balance changes only when campaigns are billed; a minute old is fresh enough for a header,
# and it keeps a busy dashboard from calling BSG on every page view.
BALANCE_CACHE_SECONDS = 60


@dataclass(frozen=True)
class AccountState:
    balance: Balance | None
    error: str | None


def bsg_account_state() -> AccountState:
    """The BSG account's balance, or a plain-words reason it could not be read."""
    cached = cache.get(BALANCE_CACHE_KEY)
    if cached is not None:
        return cached
    try:
        with bsg_client() as client:
            state = AccountState(balance=client.balance(), error=None)
    except BsgError as error:
        # Not cached: the next view tries again, so a sandbox that starts late is seen at once.
        return AccountState(balance=None, error=str(error))
    cache.set(BALANCE_CACHE_KEY, state, BALANCE_CACHE_SECONDS)
    return state


# --- audiences ---------------------------------------------------------------------------------

# "number = reference" on one pasted line; entries are split at line ends, commas and semicolons.
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_ENTRY_SEPARATORS = re.compile(r"[,;]")


@dataclass(frozen=True)
class PastedNumber:
    phone: str
    reference_id: str | None
    # The line of the pasted text it was on (1-based), for messages that name it.
    line: int = 0


@dataclass(frozen=True)
class RepeatedReference:
    """A reference id given to a second number: BSG and our ledger need each one once."""

    reference_id: str
    line: int
    first_line: int


@dataclass(frozen=True)
class InvalidEntry:
    entry: str
    message: str


@dataclass(frozen=True)
class PastedNumbers:
    """What a pasted block of numbers holds, after normalisation and de-duplication."""

    numbers: tuple[PastedNumber, ...]
    invalid: tuple[InvalidEntry, ...]
    duplicates: int
    repeated_references: tuple[RepeatedReference, ...] = ()


def pasted_numbers_parse(*, text: str) -> PastedNumbers:
    """Numbers pasted or typed for "To numbers", read the way contacts read them.

    Entries are separated by new lines, commas or semicolons; spaces inside an entry are part of
    the number (+380 50 123 45 67), unless the entry only makes sense as several numbers
    separated by spaces. `number = ref` gives that number BSG's optional reference id. A number
    given twice is sent once (the first reference id wins); a reference id given to two
    numbers is reported in `repeated_references` (sending refuses it).
    """
    numbers: dict[str, PastedNumber] = {}
    invalid: list[InvalidEntry] = []
    duplicates = 0
    reference_lines: dict[str, int] = {}
    repeated: list[RepeatedReference] = []
    for line, text_line in enumerate(_LINE_ENDS.split(text or ""), start=1):
        for raw in _ENTRY_SEPARATORS.split(text_line):
            entry = raw.strip()
            if not entry:
                continue
            reference: str | None = None
            if "=" in entry:
                entry_number, reference = (part.strip() for part in entry.split("=", 1))
                problem = rules.reference_id_error(reference)
                if problem:
                    invalid.append(InvalidEntry(entry=entry, message=problem))
                    continue
            else:
                entry_number = entry
            try:
                phones = [normalize_phone(entry_number)]
            except InvalidPhone as error:
                phones = _space_separated(entry_number)
                if not phones or reference is not None:
                    invalid.append(InvalidEntry(entry=entry, message=str(error)))
                    continue
            for phone in phones:
                if phone in numbers:
                    duplicates += 1
                    continue
                numbers[phone] = PastedNumber(phone=phone, reference_id=reference, line=line)
                if reference is None:
                    continue
                if reference in reference_lines:
                    repeated.append(RepeatedReference(reference, line, reference_lines[reference]))
                else:
                    reference_lines[reference] = line
    return PastedNumbers(
        numbers=tuple(numbers.values()),
        invalid=tuple(invalid),
        duplicates=duplicates,
        repeated_references=tuple(repeated),
    )


# Campaigns whose pasted reference ids are spoken for although not yet in the ledger: the
# engine writes the ledger when it dispatches them.
_WAITING_TO_SEND = (
    Campaign.Status.AWAITING_APPROVAL,
    Campaign.Status.READY,
    Campaign.Status.SCHEDULED,
)
_REFERENCE_BATCH = 1_000
# Ten thousand pasted numbers could all be wrong: the field shows the first ones and a count.
REFERENCE_PROBLEMS_SHOWN = 20


def pasted_reference_problems(*, parsed: PastedNumbers, campaign_id: int | None) -> list[str]:
    """Why the pasted reference ids cannot be sent, line by line: each may be used once, here
    and account-wide (the ledger's reference_id is unique, and BSG finds messages by it).

    Checks the numbers' own repeats, the ledgers of campaigns sent before, and the pasted
    numbers of campaigns waiting to send (their ledger is written only when they go)."""
    problems = [
        f"Line {r.first_line} and line {r.line} both use reference id {r.reference_id}."
        for r in parsed.repeated_references
    ]
    lines = {n.reference_id: n.line for n in parsed.numbers if n.reference_id is not None}
    if not lines:
        return problems
    others = Campaign.objects.exclude(pk=campaign_id) if campaign_id else Campaign.objects.all()
    used: dict[str, str] = {}
    references = list(lines)
    for start in range(0, len(references), _REFERENCE_BATCH):
        batch = references[start : start + _REFERENCE_BATCH]
        found = Recipient.objects.filter(reference_id__in=batch).exclude(campaign_id=campaign_id)
        for reference, name in found.values_list("reference_id", "campaign__name"):
            used.setdefault(reference, f"was already used by campaign “{name}”")
    waiting = others.filter(
        status__in=_WAITING_TO_SEND,
        channel=Campaign.Channel.SMS,
        sms_mode=Campaign.SmsMode.NUMBERS,
        retry_of__isnull=True,
        pasted_numbers__contains="=",
    )
    for name, pasted in waiting.values_list("name", "pasted_numbers").iterator():
        for number in pasted_numbers_parse(text=pasted).numbers:
            if number.reference_id in lines:
                used.setdefault(
                    number.reference_id,
                    f"is already taken by campaign “{name}”, waiting to send",
                )
    problems += [
        f"Line {line}: reference id {reference} {used[reference]}."
        for reference, line in lines.items()
        if reference in used
    ]
    if len(problems) > REFERENCE_PROBLEMS_SHOWN:
        more = len(problems) - REFERENCE_PROBLEMS_SHOWN
        problems = [*problems[:REFERENCE_PROBLEMS_SHOWN], f"…and {more} more reference ids."]
    return problems


def _space_separated(entry: str) -> list[str]:
    tokens = entry.split()
    if len(tokens) < 2:
        return []
    try:
        return [normalize_phone(token) for token in tokens]
    except InvalidPhone:
        return []


@dataclass(frozen=True)
class AudienceCounts:
    """Who a campaign reaches: the totals the preview and the send plan show."""

    recipients: int
    excluded_do_not_contact: int
    duplicates: int
    invalid: int
    bsg_campaigns: int


def bsg_campaigns_for(*, channel: str, recipients: int) -> int:
    """How many BSG campaigns an audience splits into (10,000 SMS / 5,000 RCS each)."""
    size = rules.MAX_RCS_RECIPIENTS if channel == "rcs" else rules.MAX_SMS_RECIPIENTS
    return -(-recipients // size) if recipients else 0


def campaign_list_ids(*, campaign: Campaign) -> list[int]:
    return sorted(campaign.lists.values_list("id", flat=True)) if campaign.pk else []


def audience_counts(
    *, channel: str, sms_mode: str, list_ids: list[int], pasted: str
) -> AudienceCounts:
    """Totals for an audience as composed (saved or not): recipients, exclusions, BSG splits."""
    if channel == Campaign.Channel.SMS and sms_mode == Campaign.SmsMode.NUMBERS:
        parsed = pasted_numbers_parse(text=pasted)
        opted_out = do_not_contact_phones(phones=[n.phone for n in parsed.numbers])
        recipients = len(parsed.numbers) - len(opted_out)
        return AudienceCounts(
            recipients=recipients,
            excluded_do_not_contact=len(opted_out),
            duplicates=parsed.duplicates,
            invalid=len(parsed.invalid),
            bsg_campaigns=bsg_campaigns_for(channel=channel, recipients=recipients),
        )
    summary = audience_summary(list_ids=list_ids)
    memberships = ListMembership.objects.filter(contact_list_id__in=list_ids).count()
    return AudienceCounts(
        recipients=summary.recipients,
        excluded_do_not_contact=summary.excluded,
        # A contact in two of the lists is sent one message.
        duplicates=max(0, memberships - summary.members),
        invalid=0,
        bsg_campaigns=bsg_campaigns_for(channel=channel, recipients=summary.recipients),
    )


@dataclass(frozen=True, slots=True)
class AudienceRow:
    phone: str
    name: str
    fields: dict
    reference_id: str | None
    contact_id: int | None


def audience_rows(
    *,
    channel: str,
    sms_mode: str,
    list_ids: list[int],
    pasted: str,
    limit: int | None = None,
    chunk_size: int = 5_000,
) -> Iterator[AudienceRow]:
    """Every recipient once, do-not-contact numbers left out, streamed from the database.

    Lists are read as tuples (config.streaming.rows_streamed), so a million contacts never sit
    in memory as model instances, and the caller may write while it reads.
    """
    if channel == Campaign.Channel.SMS and sms_mode == Campaign.SmsMode.NUMBERS:
        parsed = pasted_numbers_parse(text=pasted)
        opted_out = do_not_contact_phones(phones=[n.phone for n in parsed.numbers])
        numbers = (n for n in parsed.numbers if n.phone not in opted_out)
        for index, number in enumerate(numbers):
            if limit is not None and index >= limit:
                return
            yield AudienceRow(number.phone, "", {}, number.reference_id, None)
        return
    rows = audience_contacts(list_ids=list_ids).values_list("id", "phone", "name", "fields")
    streamed = rows_streamed(rows, key="id", chunk_size=chunk_size)
    for contact_id, phone, name, fields in islice(streamed, limit):
        yield AudienceRow(phone, name, fields or {}, None, contact_id)


def campaign_audience_rows(
    *, campaign: Campaign, limit: int | None = None
) -> Iterator[AudienceRow]:
    return audience_rows(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=campaign_list_ids(campaign=campaign),
        pasted=campaign.pasted_numbers,
        limit=limit,
    )


# A test send renders as one real recipient: the first of this many with every placeholder
# filled, else the first of them. Bounded, so a million-contact list costs one small read.
TEST_CONTACT_SCAN = 1_000


def test_send_contact(*, campaign: Campaign, compiled: CompiledText) -> AudienceRow | None:
    """The audience's recipient a test send renders as when no contact was chosen: the first
    one with a value for every placeholder of `compiled`, or else the first one; None when the
    audience is empty."""
    first = None
    for row in campaign_audience_rows(campaign=campaign, limit=TEST_CONTACT_SCAN):
        if all(compiled.values_for(phone=row.phone, name=row.name, fields=row.fields)):
            return row
        first = first or row
    return first


def campaign_latest_plan(*, campaign_id: int) -> SendPlan | None:
    return SendPlan.objects.filter(campaign_id=campaign_id).order_by("-created_at", "-id").first()


def saved_senders() -> list[SavedSender]:
    return list(SavedSender.objects.all())


def test_sends_of(*, campaign_id: int, limit: int = 5) -> list[TestSend]:
    return list(TestSend.objects.filter(campaign_id=campaign_id)[:limit])


# --- the dashboard: home, campaigns page, detail, recipients tab ---------------------------------
#
# Every read here is a fixed number of queries whatever the number of rows: lists read one page
# of rows and then one grouped query for their parts' figures (tests/dashboard pins the counts).

CAMPAIGN_PAGE_SIZE = 25
RECIPIENT_PAGE_SIZE = 50
# A live poll refreshes at most this many rows of the campaigns page (one page's worth, twice).
LIVE_ROWS_MAX = 2 * CAMPAIGN_PAGE_SIZE
HOME_LIST_SIZE = 10
RECENT_IMPORTS = 5
# The detail chart keeps at most this many points: enough for a 640-pixel-wide line.
CHART_MAX_POINTS = 240
CHART_WIDTH = 640
CHART_HEIGHT = 200
# What E9 reports per message (bsg-api.md), and "" for a recipient without a report yet.
RECIPIENT_STATUSES = (
    "accepted",
    "sent",
    "delivered",
    "read",
    "undelivered",
    "expired",
    "failed",
    "rejected",
    "unknown",
    "cancelled",
)


@dataclass(frozen=True)
class Figures:
    """Recipients, sent and delivered (sent counts delivered too: bsg-api.md, RCS counting)."""

    recipients: int = 0
    sent: int = 0
    delivered: int = 0

    @property
    def delivery_rate(self) -> float | None:
        """Delivered per hundred sent; None before anything was sent."""
        return round(self.delivered * 100 / self.sent, 1) if self.sent else None

    @property
    def sent_percent(self) -> int:
        return _percent(self.sent, self.recipients)

    @property
    def delivered_percent(self) -> int:
        return _percent(self.delivered, self.recipients)


def _percent(part: int, whole: int) -> int:
    return min(100, int(part * 100 / whole)) if whole else 0


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    figures: Figures


def _rows_with_figures(campaigns: list[Campaign]) -> list[CampaignRow]:
    """The campaigns with their parts' figures, read in one grouped query."""
    sums = (
        {
            row["campaign_id"]: row
            for row in CampaignPart.objects.filter(campaign_id__in=[c.pk for c in campaigns])
            .values("campaign_id")
            .annotate(recipients=Sum("recipients"), sent=Sum("sent"), delivered=Sum("delivered"))
            .order_by()
        }
        if campaigns
        else {}
    )
    rows = []
    for campaign in campaigns:
        found = sums.get(campaign.pk)
        figures = (
            Figures(found["recipients"] or 0, found["sent"] or 0, found["delivered"] or 0)
            if found
            else Figures()
        )
        rows.append(CampaignRow(campaign=campaign, figures=figures))
    return rows


# --- home --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodTotals:
    label: str
    campaigns: int
    figures: Figures


def dashboard_totals(*, now: datetime | None = None) -> list[PeriodTotals]:
    """Campaigns that went out today, in the last 7 and in the last 30 days, and their figures.

    One aggregate query over the parts of campaigns dispatched in the last 30 days (a campaign
    counts from the moment its recipients were resolved, whenever it was composed)."""
    now = now or timezone.now()
    periods = [
        (
            "today",
            "Today",
            timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0),
        ),
        ("week", "Last 7 days", now - timedelta(days=7)),
        ("month", "Last 30 days", now - timedelta(days=30)),
    ]
    aggregates = {}
    for key, _label, start in periods:
        since = Q(campaign__dispatched_at__gte=start)
        aggregates[f"{key}_campaigns"] = Count("campaign_id", distinct=True, filter=since)
        aggregates[f"{key}_recipients"] = Sum("recipients", filter=since)
        aggregates[f"{key}_sent"] = Sum("sent", filter=since)
        aggregates[f"{key}_delivered"] = Sum("delivered", filter=since)
    oldest = min(start for _key, _label, start in periods)
    found = CampaignPart.objects.filter(campaign__dispatched_at__gte=oldest).aggregate(**aggregates)
    return [
        PeriodTotals(
            label=label,
            campaigns=found[f"{key}_campaigns"] or 0,
            figures=Figures(
                recipients=found[f"{key}_recipients"] or 0,
                sent=found[f"{key}_sent"] or 0,
                delivered=found[f"{key}_delivered"] or 0,
            ),
        )
        for key, label, _start in periods
    ]


def campaigns_sending_now(*, limit: int = HOME_LIST_SIZE) -> list[CampaignRow]:
    """Campaigns asked to send or sending, newest first, with their progress."""
    campaigns = list(
        Campaign.objects.filter(status__in=LIVE_STATUSES).order_by("-created_at", "-id")[:limit]
    )
    return _rows_with_figures(campaigns)


def parts_needing_attention(*, limit: int = HOME_LIST_SIZE) -> list[CampaignPart]:
    """Parts that wait for a person: held by a guard rail, or unclear after reconciling."""
    return list(
        CampaignPart.objects.filter(
            state__in=[CampaignPart.State.NEEDS_ATTENTION, CampaignPart.State.HELD]
        )
        .select_related("campaign")
        .order_by("-campaign_id", "number")[:limit]
    )


def recent_imports(*, limit: int = RECENT_IMPORTS) -> list[ContactImport]:
    return list(
        ContactImport.objects.select_related("contact_list").order_by("-created_at", "-id")[:limit]
    )


# --- the campaigns page ------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignFilters:
    status: str = ""
    channel: str = ""
    sender: str = ""
    search: str = ""
    created_from: date | None = None
    created_to: date | None = None

    @property
    def active(self) -> bool:
        return any(
            (
                self.status,
                self.channel,
                self.sender,
                self.search,
                self.created_from,
                self.created_to,
            )
        )


# Newest first; the id breaks ties between campaigns created in the same microsecond (a
# schedule's copies, a bulk import). Cursors read "<µs since 1970>.<id>".
CAMPAIGN_KEYSET = Keyset(Campaign, "-created_at", "-id")


@dataclass(frozen=True)
class CampaignPage:
    rows: list[CampaignRow]
    # Cursors for the next (older) and previous (newer) pages; None at either end.
    next_after: str | None
    prev_before: str | None

    @property
    def live_ids(self) -> list[int]:
        return [row.campaign.pk for row in self.rows if row.campaign.is_live]


def campaign_page(
    *,
    filters: CampaignFilters,
    after: str | tuple | None = None,
    before: str | tuple | None = None,
    size: int = CAMPAIGN_PAGE_SIZE,
) -> CampaignPage:
    """One page of campaigns, newest first, keyset-paged (config.paging): no OFFSET and no
    COUNT, so the hundredth page costs what the first does. `after` pages to older rows,
    `before` to newer."""
    query = _filtered_campaigns(filters).select_related("created_by")
    page = CAMPAIGN_KEYSET.page(query, after=after, before=before, size=size)
    return CampaignPage(
        rows=_rows_with_figures(page.items),
        next_after=page.next_after,
        prev_before=page.prev_before,
    )


def _filtered_campaigns(filters: CampaignFilters) -> QuerySet[Campaign]:
    query = Campaign.objects.all()
    if filters.status:
        query = query.filter(status=filters.status)
    if filters.channel:
        query = query.filter(channel=filters.channel)
    if filters.sender:
        query = query.filter(sender=filters.sender)
    if filters.search:
        # Served by the trigram index on UPPER(name) (migration 0005).
        query = query.filter(name__icontains=filters.search)
    if filters.created_from:
        query = query.filter(created_at__gte=_start_of(filters.created_from))
    if filters.created_to:
        query = query.filter(created_at__lt=_start_of(filters.created_to + timedelta(days=1)))
    return query


def _start_of(day: date) -> datetime:
    """Midnight of that day in the current time zone: "from 1 May" means the user's 1 May."""
    return timezone.make_aware(datetime.combine(day, time.min))


def campaign_rows(*, campaign_ids: list[int]) -> list[CampaignRow]:
    """The rows a live campaigns page refreshes, with their figures (two queries)."""
    campaigns = list(
        Campaign.objects.filter(pk__in=campaign_ids[:LIVE_ROWS_MAX])
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )
    return _rows_with_figures(campaigns)


def sender_choices() -> list[str]:
    """The saved senders, offered as suggestions in the sender filter."""
    return list(SavedSender.objects.order_by("sender").values_list("sender", flat=True))


# --- campaign detail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignOverview:
    """Everything the detail page's live panel shows, read from the parts in one query."""

    parts: list[CampaignPart]
    figures: Figures
    price: Decimal | None
    currency: str
    # E8's per-status counts summed over the parts (delivered, read, not_rcs_user, ...).
    breakdown: dict[str, int]
    attention: list[CampaignPart]
    held: bool

    @property
    def priced_all(self) -> bool:
        """BSG gives a part's price when it ends (E8); until all have, the price is partial."""
        return all(part.price is not None for part in self.parts)

    @property
    def not_rcs_users(self) -> int:
        """RCS recipients BSG found without RCS: those the SMS fallback was meant for."""
        return self.breakdown.get("not_rcs_user", 0)

    @property
    def read(self) -> int:
        return self.breakdown.get("read", 0)

    @property
    def fallback_sms_rows(self) -> list[tuple[str, int]]:
        """The SMS fallback's own counts (BSG's alternative_channels.sms statistics)."""
        prefix = "fallback_sms_"
        return [
            (name[len(prefix) :].replace("_", " "), count)
            for name, count in self.breakdown.items()
            if name.startswith(prefix)
        ]

    @property
    def breakdown_rows(self) -> list[tuple[str, int]]:
        return [
            (name.replace("_", " "), n)
            for name, n in self.breakdown.items()
            if n and not name.startswith("fallback_sms_")
        ]


def campaign_overview(*, campaign_id: int) -> CampaignOverview:
    parts = list(CampaignPart.objects.filter(campaign_id=campaign_id).order_by("number"))
    breakdown: dict[str, int] = {}
    for part in parts:
        for name, count in (part.breakdown or {}).items():
            if isinstance(count, int) and not isinstance(count, bool):
                breakdown[name] = breakdown.get(name, 0) + count
    prices = [part.price for part in parts if part.price is not None]
    currencies = {part.currency for part in parts if part.currency}
    return CampaignOverview(
        parts=parts,
        figures=Figures(
            recipients=sum(p.recipients for p in parts),
            sent=sum(p.sent for p in parts),
            delivered=sum(p.delivered for p in parts),
        ),
        price=sum(prices, Decimal(0)) if prices else None,
        currency=", ".join(sorted(currencies)),
        breakdown=breakdown,
        attention=[
            p
            for p in parts
            if p.state in (CampaignPart.State.NEEDS_ATTENTION, CampaignPart.State.HELD)
        ],
        held=any(p.state == CampaignPart.State.HELD for p in parts),
    )


def campaign_panel_version(*, campaign_id: int) -> str | None:
    """A fingerprint of everything the detail page's parts panel is drawn from: the campaign's
    row, every column of its parts and its events (how many, the newest). It changes with any
    write to them, however made (the engine moves parts with compare-and-set UPDATEs, which no
    signal sees), so a panel cached under it is never stale. One query, a few hundred µs of
    CPU against the several ms of reading and rendering the panel. None when the campaign does
    not exist, or off PostgreSQL (SQLite has no row_to_json): then nothing is cached."""
    if connection.vendor != "postgresql":
        return None
    campaign, part, event = (
        Campaign._meta.db_table,
        CampaignPart._meta.db_table,
        CampaignEvent._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT md5(row_to_json(c)::text),
                (SELECT md5(string_agg(row_to_json(p)::text, ',' ORDER BY p.id))
                   FROM {part} p WHERE p.campaign_id = c.id),
                (SELECT count(*)::text || '.' || coalesce(max(e.id), 0)::text
                   FROM {event} e WHERE e.campaign_id = c.id)
            FROM {campaign} c WHERE c.id = %s""",  # noqa: S608 - table names from the models
            [campaign_id],
        )
        found = cursor.fetchone()
    return None if found is None else ":".join(str(value) for value in found)


def campaign_events(*, campaign_id: int, limit: int = 20) -> list[CampaignEvent]:
    """The latest events, newest first, with who did them."""
    return list(
        CampaignEvent.objects.filter(campaign_id=campaign_id)
        .select_related("user")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class ChartPoint:
    taken_at: datetime
    sent: int
    delivered: int


@dataclass(frozen=True)
class DeliveryChart:
    """Sent and delivered over time, as SVG polyline coordinates (no JavaScript needed)."""

    points: list[ChartPoint]
    width: int
    height: int
    # The y axis' top: the campaign's recipients, or the highest figure if that is larger.
    top: int
    sent_line: str
    delivered_line: str

    @property
    def first(self) -> ChartPoint | None:
        return self.points[0] if self.points else None

    @property
    def last(self) -> ChartPoint | None:
        return self.points[-1] if self.points else None


def campaign_delivery_series(*, campaign_id: int) -> list[ChartPoint]:
    """The campaign's sent and delivered over time, summed across its parts.

    Snapshots are per part and written only when a part's figures change, so the campaign's
    figure at any moment is the sum of each part's latest snapshot until then."""
    latest: dict[int | None, tuple[int, int]] = {}
    points: list[ChartPoint] = []
    rows = (
        CampaignSnapshot.objects.filter(campaign_id=campaign_id)
        .order_by("taken_at", "id")
        .values_list("part_id", "taken_at", "sent", "delivered")
    )
    sent = delivered = 0
    for part_id, taken_at, part_sent, part_delivered in rows.iterator(chunk_size=2_000):
        before_sent, before_delivered = latest.get(part_id, (0, 0))
        sent += part_sent - before_sent
        delivered += part_delivered - before_delivered
        latest[part_id] = (part_sent, part_delivered)
        if points and points[-1].taken_at == taken_at:
            points[-1] = ChartPoint(taken_at, sent, delivered)
        else:
            points.append(ChartPoint(taken_at, sent, delivered))
    return _thinned(points, CHART_MAX_POINTS)


def _thinned(points: list[ChartPoint], most: int) -> list[ChartPoint]:
    """At most `most` points, evenly spread, always keeping the first and the last."""
    if len(points) <= most:
        return points
    step = (len(points) - 1) / (most - 1)
    return [points[round(i * step)] for i in range(most)]


def campaign_delivery_chart(*, campaign_id: int, recipients: int) -> DeliveryChart:
    points = campaign_delivery_series(campaign_id=campaign_id)
    top = max([recipients, 1] + [p.sent for p in points])
    if points:
        start = points[0].taken_at
        span = max((points[-1].taken_at - start).total_seconds(), 1.0)
    else:
        start, span = timezone.now(), 1.0

    def line(value: Callable[[ChartPoint], int]) -> str:
        coordinates = []
        for point in points:
            x = (point.taken_at - start).total_seconds() / span * CHART_WIDTH
            y = CHART_HEIGHT - value(point) / top * CHART_HEIGHT
            coordinates.append(f"{x:.1f},{y:.1f}")
        if len(coordinates) == 1:
            # One snapshot: a flat line across, so it shows at all.
            coordinates.append(f"{CHART_WIDTH},{coordinates[0].split(',')[1]}")
        return " ".join(coordinates)

    return DeliveryChart(
        points=points,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        top=top,
        sent_line=line(lambda p: p.sent),
        delivered_line=line(lambda p: p.delivered),
    )


# --- the recipients tab ------------------------------------------------------------------------


# The ledger in the order it was resolved; seq is unique within a campaign.
RECIPIENT_KEYSET = Keyset(Recipient, "seq")


def campaign_recipients_page(
    *,
    campaign_id: int,
    status: str | None = None,
    after: str | tuple | None = None,
    before: str | tuple | None = None,
    size: int = RECIPIENT_PAGE_SIZE,
) -> Page[Recipient]:
    """One page of a campaign's ledger in seq order, optionally of one message status.

    Keyset-paged by seq on (campaign, seq) or (campaign, status, seq): a page deep into a
    million recipients reads `size` index entries. status "" means "no report yet"."""
    query = Recipient.objects.filter(campaign_id=campaign_id).only(
        "id", "campaign_id", "part_id", "seq", "phone", "text", "sms_parts", "status", "status_at"
    )
    if status is not None:
        query = query.filter(status=status)
    return RECIPIENT_KEYSET.page(query, after=after, before=before, size=size)


# --- four-eyes approval: what was approved, and what changed since -------------------------------

# Snapshot key -> what the approver reads. Text, audience and schedule are what issue 6 asks to
# show; the rest changes what goes out just as much.
APPROVAL_LABELS = {
    "name": "Name",
    "channel": "Channel",
    "sms_mode": "Sent through",
    "sender": "Sender",
    "text": "Text",
    "pasted_numbers": "Numbers",
    "lists": "Lists",
    "rcs_agent": "RCS agent",
    "rcs_cards": "RCS cards",
    "rcs_check_stop_list": "BSG stop-list check",
    "fallback_enabled": "SMS fallback",
    "fallback_text": "Fallback text",
    "fallback_sender": "Fallback sender",
    "fallback_validity_hours": "Fallback validity (hours)",
    "validity_hours": "Validity (hours)",
    "tariff_code": "Tariff",
    "send_at": "When",
    "bsg_schedules": "Scheduled by BSG",
    "window": "Sending window",
}
# Sets of entries: the approver reads what was added and removed, not two long lists.
APPROVAL_SET_KEYS = ("lists", "pasted_numbers")


@dataclass(frozen=True)
class ApprovalChange:
    key: str
    label: str
    before: str
    after: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def campaign_approval_snapshot(*, campaign: Campaign) -> dict:
    """What an approver approves: content, audience and when, as JSON (Campaign.approval_snapshot).

    "send_at" is the author's intent while the campaign waits (None: as soon as approved)."""
    window = ""
    if campaign.has_window:
        window = (
            f"{campaign.window_start:%H:%M} to {campaign.window_end:%H:%M} "
            f"{campaign.window_time_zone or 'server time'}"
        )
    lists = sorted(campaign.lists.values_list("id", "name")) if campaign.pk else []
    return {
        "name": campaign.name,
        "channel": campaign.channel,
        "sms_mode": campaign.sms_mode if campaign.is_sms else "",
        "sender": campaign.sender if campaign.is_sms else "",
        "text": campaign.text if campaign.is_sms else "",
        "pasted_numbers": sorted(
            {line.strip() for line in re.split(r"[\n,;]+", campaign.pasted_numbers) if line.strip()}
        )
        if campaign.is_sms and not campaign.uses_lists
        else [],
        "lists": [f"{name} (#{pk})" for pk, name in lists] if campaign.uses_lists else [],
        "rcs_agent": campaign.rcs_agent if campaign.is_rcs else "",
        "rcs_cards": campaign.rcs_cards if campaign.is_rcs else [],
        "rcs_check_stop_list": campaign.rcs_check_stop_list if campaign.is_rcs else None,
        "fallback_enabled": campaign.fallback_enabled if campaign.is_rcs else None,
        "fallback_text": campaign.fallback_text if campaign.is_rcs else "",
        "fallback_sender": campaign.fallback_sender if campaign.is_rcs else "",
        "fallback_validity_hours": campaign.fallback_validity_hours if campaign.is_rcs else None,
        "validity_hours": campaign.validity_hours,
        "tariff_code": campaign.tariff_code,
        "send_at": campaign.approval_send_at.isoformat() if campaign.approval_send_at else None,
        "bsg_schedules": campaign.bsg_schedules,
        "window": window,
    }


def campaign_approval_fingerprint(*, snapshot: dict) -> str:
    """What the approver saw, posted back with "Approve" so a change in between is caught."""
    raw = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def campaign_approval_changes(*, before: dict, after: dict) -> list[ApprovalChange]:
    """Each snapshot key whose value differs, in APPROVAL_LABELS order, ready to show."""
    changes = []
    for key, label in APPROVAL_LABELS.items():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in APPROVAL_SET_KEYS:
            old_set, new_set = set(old or []), set(new or [])
            changes.append(
                ApprovalChange(
                    key=key,
                    label=label,
                    before=_approval_shown(key, old),
                    after=_approval_shown(key, new),
                    added=tuple(sorted(new_set - old_set)),
                    removed=tuple(sorted(old_set - new_set)),
                )
            )
        else:
            changes.append(
                ApprovalChange(
                    key=key,
                    label=label,
                    before=_approval_shown(key, old),
                    after=_approval_shown(key, new),
                )
            )
    return changes


def _approval_shown(key: str, value) -> str:
    if key == "send_at":
        if not value:
            return "As soon as approved"
        return f"{timezone.localtime(datetime.fromisoformat(value)):%Y-%m-%d %H:%M %Z}"
    if key == "pasted_numbers":
        return f"{len(value or [])} number(s)"
    if key == "lists":
        return ", ".join(value) if value else "none"
    if key == "rcs_cards":
        return json.dumps(value or [], ensure_ascii=False, indent=1)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --- the ledger and the engine's figures, read ------------------------------------------------

LEDGER_CSV_BATCH = 5_000


def campaign_totals(*, campaign_id: int) -> dict[str, Any]:
    totals = CampaignPart.objects.filter(campaign_id=campaign_id).aggregate(
        recipients=Sum("recipients"),
        sent=Sum("sent"),
        delivered=Sum("delivered"),
        price=Sum("price"),
    )
    return {k: v or 0 for k, v in totals.items()}


def ledger_csv_rows(*, campaign_id: int) -> Iterator[str]:
    """The ledger as CSV lines: who did and did not receive the campaign, and why."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(["phone", "part", "reference_id", "received", "status", "reason", "sms_parts"])
    parts = {p.pk: p for p in CampaignPart.objects.filter(campaign_id=campaign_id)}
    rows = (
        Recipient.objects.filter(campaign_id=campaign_id)
        .order_by("seq")
        .values_list("phone", "part_id", "reference_id", "status", "sms_parts")
    )
    for phone, part_id, reference, status, sms_parts in rows.iterator(chunk_size=LEDGER_CSV_BATCH):
        part = parts[part_id]
        received = "yes" if status in ("delivered", "read") else "no"
        if part.state != CampaignPart.State.SUBMITTED:
            reason = f"part {part.get_state_display().lower()}" + (
                f": {part.error}" if part.error else ""
            )
        else:
            reason = status or "no report yet"
        # Digits without "+": a leading "+" would make a spreadsheet read the cell as a formula.
        yield line(
            [phone, part.number, reference, received, status, neutralise_cell(reason), sms_parts]
        )


def campaign_failure_figures(*, campaign_id: int) -> tuple[int, int]:
    """(messages with a final status, of which failed) in the campaign's ledger."""
    figures = Recipient.objects.filter(
        campaign_id=campaign_id,
        status__in=FAILED_MESSAGE_STATUSES | DELIVERED_MESSAGE_STATUSES,
    ).aggregate(final=Count("id"), failed=Count("id", filter=Q(status__in=FAILED_MESSAGE_STATUSES)))
    return figures["final"] or 0, figures["failed"] or 0


def repeated_failures(*, campaign_id: int, min_campaigns: int | None = None) -> dict[str, int]:
    """Phones that failed in this campaign and in at least `min_campaigns` campaigns in all,
    not yet on the do-not-contact list: {phone: campaigns failed in}."""
    threshold = min_campaigns or settings.ENGINE_DNC_AFTER_FAILURES
    failed_here = Recipient.objects.filter(
        campaign_id=campaign_id, status__in=FAILED_MESSAGE_STATUSES
    ).values("phone")
    rows = (
        Recipient.objects.filter(status__in=FAILED_MESSAGE_STATUSES, phone__in=failed_here)
        .exclude(phone__in=DoNotContact.objects.values("phone"))
        .values("phone")
        .annotate(campaigns=Count("campaign_id", distinct=True))
        .filter(campaigns__gte=threshold)
        .order_by("phone")
    )
    return {row["phone"]: row["campaigns"] for row in rows}


def campaign_schedules() -> list[CampaignSchedule]:
    return list(
        CampaignSchedule.objects.select_related("template", "periodic_task__crontab").annotate(
            run_count=Count("runs")
        )
    )


def schedule_template_choices() -> list[Campaign]:
    """Campaigns a recurring schedule can copy: ours, sending to lists, not a run's copy."""
    return [
        c
        for c in Campaign.objects.filter(created_elsewhere=False, schedule__isnull=True)[:200]
        if c.uses_lists
    ]
