"""Reads for the dashboard's pages: home, the campaigns page, a campaign's detail and its
recipients tab.

Every read here is a fixed number of queries whatever the number of rows: lists read one page of
rows and then one grouped query for their parts' figures (tests/dashboard pins the counts). The
BSG balance is the one call to BSG, behind a short cache."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, StrIndex, Upper
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext as _

from bsg.errors import BsgError
from bsg.schemas import Balance
from config.bsg import bsg_client
from config.paging import Keyset, Page
from contacts.models import ContactImport

from .bsg_words import bsg_trouble, message_status_words
from .models import (
    Campaign,
    CampaignEvent,
    CampaignPart,
    CampaignSnapshot,
    Recipient,
    SavedSender,
    SendPlan,
)

logger = logging.getLogger(__name__)

# Campaigns whose figures can still change by themselves (Campaign.is_live).
LIVE_STATUSES = (Campaign.Status.READY, Campaign.Status.SENDING)

# How often a page follows campaigns that may change without its reader (Campaign.
# is_in_progress): every few seconds while the engine moves one (is_live), less often while
# they wait for an approver or their start time. app.js slows both while the tab is hidden.
LIVE_POLL = "5s"
WAITING_POLL = "15s"


def poll_pace(*, live: bool, waiting: bool) -> str:
    """The htmx `every` interval of a panel following campaigns, or "" when none can change
    by itself (the panel then renders without its trigger and stops)."""
    if live:
        return LIVE_POLL
    return WAITING_POLL if waiting else ""


BALANCE_CACHE_KEY = "bsg:account-balance"
# The balance changes only when campaigns are billed; a minute old is fresh enough for a header,
# and it keeps a busy dashboard from calling BSG on every page view.
BALANCE_CACHE_SECONDS = 60


@dataclass(frozen=True)
class AccountState:
    balance: Balance | None
    # Why there is no balance, in the reader's words; and what went wrong, for a title.
    problem: str = ""
    detail: str = ""


def bsg_account_state() -> AccountState:
    """The BSG account's balance, or a plain-words reason it could not be read."""
    cached = cache.get(BALANCE_CACHE_KEY)
    if cached is not None:
        return cached
    try:
        with bsg_client() as client:
            state = AccountState(balance=client.balance())
    except BsgError as error:
        logger.warning("BSG balance not read: %s", error)
        # Not cached: the next view tries again, so a sandbox that starts late is seen at once.
        return AccountState(balance=None, problem=bsg_trouble(error).shown(), detail=str(error))
    cache.set(BALANCE_CACHE_KEY, state, BALANCE_CACHE_SECONDS)
    return state


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
    # The campaigns page's Recipients column: the parts' figure once the campaign went out;
    # before that (no parts yet) what its latest finished send plan counted, None (a dash)
    # without one. A draft's 0 contradicted the 2 its send plan showed.
    recipients: int | None


def _with_planned_recipients(query: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """`query` with `planned_recipients`: the recipients the latest finished send plan of a
    campaign not yet sent counted. A subquery in the page's own query, so the list stays at its
    fixed number of queries; PostgreSQL runs it only for the page's rows that are before sending
    (CASE), each through the send plans' campaign index."""
    latest_count = (
        SendPlan.objects.filter(campaign=OuterRef("pk"), status=SendPlan.Status.DONE)
        .order_by("-created_at", "-id")
        .annotate(counted=Cast(KT("result__recipients"), BigIntegerField()))
        .values("counted")[:1]
    )
    return query.annotate(
        planned_recipients=Case(
            When(status__in=Campaign.BEFORE_SENDING, then=Subquery(latest_count)),
            default=None,
            output_field=BigIntegerField(),
        )
    )


def _rows_with_figures(campaigns: list[Campaign]) -> list[CampaignRow]:
    """The campaigns with their parts' figures, read in one grouped query (and, where the
    campaigns were read through _with_planned_recipients, their send plans' counts)."""
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
        if found is None and campaign.is_before_sending:
            recipients = getattr(campaign, "planned_recipients", None)
        else:
            recipients = figures.recipients
        rows.append(CampaignRow(campaign=campaign, figures=figures, recipients=recipients))
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
            _("Today"),
            timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0),
        ),
        ("week", _("Last 7 days"), now - timedelta(days=7)),
        ("month", _("Last 30 days"), now - timedelta(days=30)),
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


def campaigns_sending_now(
    *, shown: list[int] | None = None, limit: int = HOME_LIST_SIZE
) -> list[CampaignRow]:
    """Campaigns asked to send or sending, newest first, with their progress; and those of
    `shown` (what the panel showed before this poll) that have ended since, so a campaign that
    finishes between two polls is seen with its final figures instead of vanishing."""
    wanted = Q(status__in=LIVE_STATUSES)
    if shown:
        wanted |= Q(pk__in=shown[:limit])
    campaigns = list(Campaign.objects.filter(wanted).order_by("-created_at", "-id")[: 2 * limit])
    return _rows_with_figures(campaigns)


def campaigns_waiting_exist() -> bool:
    """Whether any campaign waits for an approver or its start time: the home page's "Sending
    now" keeps looking (slowly) for it to start."""
    waiting = Campaign.IN_PROGRESS - set(LIVE_STATUSES)
    return Campaign.objects.filter(status__in=waiting).exists()


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
    # Archived campaigns are left out unless asked for ("Show archived").
    archived: bool = False

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
                self.archived,
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
    def watched_ids(self) -> list[int]:
        """The rows that may change while the page is open (Campaign.is_in_progress)."""
        return [row.campaign.pk for row in self.rows if row.campaign.is_in_progress]

    @property
    def poll_every(self) -> str:
        return rows_poll_pace(self.rows)


def rows_poll_pace(rows: list[CampaignRow]) -> str:
    """How often a list of campaign rows polls (poll_pace)."""
    return poll_pace(
        live=any(row.campaign.is_live for row in rows),
        waiting=any(row.campaign.is_in_progress for row in rows),
    )


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
    query = _with_planned_recipients(_filtered_campaigns(filters).select_related("created_by"))
    if filters.search:
        page = _searched_page(query, filters.search, after=after, before=before, size=size)
    else:
        page = CAMPAIGN_KEYSET.page(query, after=after, before=before, size=size)
    return CampaignPage(
        rows=_rows_with_figures(page.items),
        next_after=page.next_after,
        prev_before=page.prev_before,
    )


def _filtered_campaigns(filters: CampaignFilters) -> QuerySet[Campaign]:
    query = Campaign.objects.all()
    if not filters.archived:
        # Few campaigns are archived: the newest-first index walk skips them as it goes.
        query = query.filter(archived_at__isnull=True)
    if filters.status:
        query = query.filter(status=filters.status)
    if filters.channel:
        query = query.filter(channel=filters.channel)
    if filters.sender:
        query = query.filter(sender=filters.sender)
    if filters.created_from:
        query = query.filter(created_at__gte=_start_of(filters.created_from))
    if filters.created_to:
        query = query.filter(created_at__lt=_start_of(filters.created_to + timedelta(days=1)))
    return query


# Campaigns a name search tests one by one, newest first, before it asks the trigram index.
SEARCH_WALK_ROWS = 5_000


def _searched_page(
    query: QuerySet[Campaign],
    text: str,
    *,
    after: str | tuple | None,
    before: str | tuple | None,
    size: int,
) -> Page[Campaign]:
    """The campaigns whose name holds `text`, as contacts_page pages a word search.

    Walking newest first and testing each name is quick while matches are recent, but for a
    name whose campaigns are all old ("Black Friday 2024" two years on) it read every newer
    campaign first (3.6 s at a million, BENCHMARKS.md "Web under load"); the trigram index
    and a sort cost as much as the name has matches (2.2 s for a common word). So the next
    SEARCH_WALK_ROWS campaigns past the cursor are tested with STRPOS, which the trigram index
    cannot serve (with LIKE, PostgreSQL ANDed that index's bitmap of every match into the
    walk: 30 ms for a common word), and only when they hold less than a page does the page
    come from the trigram index on UPPER(name) (migration 0005), sorted."""
    window = CAMPAIGN_KEYSET.window(query, after=after, before=before, rows=SEARCH_WALK_ROWS)
    walked = query.filter(GreaterThan(StrIndex(Upper("name"), Upper(Value(text))), 0))
    if window is None:  # fewer campaigns than the walk remain: test them all
        return CAMPAIGN_KEYSET.page(walked, after=after, before=before, size=size)
    page = CAMPAIGN_KEYSET.page(walked.filter(window), after=after, before=before, size=size)
    # A page and one more row found in the window are the page the whole table gives.
    if (page.prev_before if before is not None else page.next_after) is not None:
        return page
    searched = query.filter(name__icontains=text)
    return CAMPAIGN_KEYSET.page(searched, after=after, before=before, size=size, selective=True)


def _start_of(day: date) -> datetime:
    """Midnight of that day in the current time zone: "from 1 May" means the user's 1 May."""
    return timezone.make_aware(datetime.combine(day, time.min))


def campaign_rows(*, campaign_ids: list[int]) -> list[CampaignRow]:
    """The rows a live campaigns page refreshes, with their figures (two queries)."""
    campaigns = list(
        _with_planned_recipients(
            Campaign.objects.filter(pk__in=campaign_ids[:LIVE_ROWS_MAX]).select_related(
                "created_by"
            )
        ).order_by("-created_at", "-id")
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
            (message_status_words(name[len(prefix) :]), count)
            for name, count in self.breakdown.items()
            if name.startswith(prefix)
        ]

    @property
    def breakdown_rows(self) -> list[tuple[str, int]]:
        return [
            (message_status_words(name), n)
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
    # BSG's reports drawn (the first point may be the dispatch, at zero, which is not one).
    reports: int = 0

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


def campaign_delivery_chart(
    *, campaign_id: int, recipients: int, dispatched_at: datetime | None = None
) -> DeliveryChart:
    """The chart from the moment its recipients were resolved (nothing sent yet) to BSG's latest
    report: its first report alone would draw a line from a time to the same time."""
    points = campaign_delivery_series(campaign_id=campaign_id)
    reports = len(points)
    if points and dispatched_at is not None and dispatched_at < points[0].taken_at:
        points = [ChartPoint(dispatched_at, 0, 0), *points]
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
        reports=reports,
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
