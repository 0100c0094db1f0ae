"""Query-string checks for the paged reads: GET /api/campaigns (E5, vendor page
campaigns-list.txt), GET /api/messages (E9), and the contact book's pages (YAML)."""

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.validation.fields import (
    Errors,
    key,
)
from sandbox.vendor_rules import (
    BLANK,
    CAMPAIGNS_PAGE,
    CHOICE,
    MAX_SCHEDULE_DAYS,
    MAX_SEARCH_VALUE,
    MAX_WINDOW_MONTHS,
    MESSAGES_PAGE,
    NOT_DATETIME,
    between,
    parse_datetime,
    reference_id_problem,
    too_long,
    type_message,
)


def _query_int(
    errors: Errors,
    args: Mapping[str, str],
    name: str,
    *,
    default: int,
    low: int,
    high: int | None = None,
) -> int:
    raw = args.get(name)
    field = key(*re.split(r"[\[\]]", name))
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add(field, type_message("integer"))
        return default
    if value < low or (high is not None and value > high):
        if high is None:
            errors.add(field, f"This value should be greater than or equal to {low}.")
        else:
            errors.add(field, between(low, high))
        return default
    return value


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def page(errors: Errors, args: Mapping[str, str], bounds: tuple[int, int, int]) -> Page:
    """page[offset] >= 0 and page[limit] within the YAML's (low, high, default) for the
    endpoint (``vendor_rules.*_PAGE``). A limit out
    of bounds is refused (422 naming "pagelimit") rather than clamped: the YAML states the
    bounds as a schema, which BSG's validator enforces, and a refusal shows a caller's bug."""
    offset = _query_int(errors, args, "page[offset]", default=0, low=0)
    low, high, default = bounds
    limit = _query_int(errors, args, "page[limit]", default=default, low=low, high=high)
    return Page(offset, limit)


def _query_datetime(
    errors: Errors, args: Mapping[str, str], name: str, time_zone: str
) -> datetime | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    moment = parse_datetime(raw, time_zone)
    if moment is None:
        errors.add(key(*re.split(r"[\[\]]", name)), NOT_DATETIME)
    return moment


def months_before(moment: datetime, months: int, time_zone: str) -> datetime:
    """The same wall-clock moment ``months`` calendar months earlier (day clamped to the month)."""
    local = moment.astimezone(ZoneInfo(time_zone))
    month_index = local.year * 12 + local.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class CampaignQuery:
    type: str
    start: datetime
    end: datetime
    page: Page
    sort: str
    way: str
    search_field: str | None
    search_value: str | None


CAMPAIGN_TYPES = ("sms", "rcs", "whatsapp")  # YAML GET /api/campaigns filter[type] enum
CAMPAIGN_SORTS = ("id", "sender", "type", "date", "status")  # YAML sort enum
SEARCH_FIELDS = ("sender", "taskname")  # YAML search[field] enum


def campaign_query(args: Mapping[str, str], *, now: datetime, time_zone: str) -> CampaignQuery:
    """E5 GET /api/campaigns (vendor page campaigns-list.txt and the YAML)."""
    errors = Errors()
    kind = args.get("filter[type]") or "sms"
    if kind not in CAMPAIGN_TYPES:
        errors.add("filtertype", CHOICE)
    end = _query_datetime(errors, args, "filter[to]", time_zone)
    start = _query_datetime(errors, args, "filter[from]", time_zone)
    if end is None:
        end = now  # "filter[to] ... default now"
    elif end > now + timedelta(days=MAX_SCHEDULE_DAYS):
        # "It is possible to specify a future date: the valid value is 30 days ahead".
        errors.add("filterto", f"The end may be at most {MAX_SCHEDULE_DAYS} days ahead.")
    earliest = months_before(end, MAX_WINDOW_MONTHS, time_zone)
    if start is None:
        start = earliest  # "filter[from] ... default filter[to] -3 month"
    elif start > end:
        errors.add("filterfrom", "The start of the period must not be after its end.")
    elif start < earliest:
        errors.add("filterfrom", f"The period may span at most {MAX_WINDOW_MONTHS} months.")
    paging = page(errors, args, CAMPAIGNS_PAGE)
    sort = args.get("sort") or "id"
    if sort not in CAMPAIGN_SORTS:
        errors.add("sort", CHOICE)
    way = args.get("way") or "asc"
    if way not in ("asc", "desc"):
        errors.add("way", CHOICE)
    field = args.get("search[field]") or None
    value = args.get("search[value]") or None
    if field is not None and field not in SEARCH_FIELDS:
        errors.add("searchfield", CHOICE)
    if (field is None) != (value is None):
        errors.add("searchvalue" if value is None else "searchfield", BLANK)
    if value is not None and len(value) > MAX_SEARCH_VALUE:
        errors.add("searchvalue", too_long(MAX_SEARCH_VALUE))
    errors.raise_if_any()
    return CampaignQuery(kind, start, end, paging, sort, way, field, value)


@dataclass(frozen=True)
class MessageQuery:
    id: int | None
    campaign_id: int | None
    reference_id: str | None
    start: datetime | None
    end: datetime | None
    page: Page
    sort: str
    way: str


MESSAGE_SORTS = ("id", "phone", "delivered")  # YAML GET /api/messages sort enum


def message_query(args: Mapping[str, str], *, time_zone: str) -> MessageQuery:
    """E9 GET /api/messages (YAML). No window is applied unless asked for: the YAML states no
    defaults for filter[from]/filter[to] here."""
    errors = Errors()
    message_id = _query_int(errors, args, "filter[id]", default=0, low=1) or None
    campaign_id = _query_int(errors, args, "filter[campaign_id]", default=0, low=1) or None
    reference = args.get("filter[reference_id]") or None
    if reference is not None:
        problem = reference_id_problem(reference)
        if problem:
            errors.add("filterreference_id", problem)
    start = _query_datetime(errors, args, "filter[from]", time_zone)
    end = _query_datetime(errors, args, "filter[to]", time_zone)
    paging = page(errors, args, MESSAGES_PAGE)
    sort = args.get("sort") or "id"
    if sort not in MESSAGE_SORTS:
        errors.add("sort", CHOICE)
    way = args.get("way") or "asc"
    if way not in ("asc", "desc"):
        errors.add("way", CHOICE)
    errors.raise_if_any()
    return MessageQuery(message_id, campaign_id, reference, start, end, paging, sort, way)


def book_page(args: Mapping[str, str], bounds: tuple[int, int, int]) -> Page:
    """GET /api/groups and /api/contacts (``vendor_rules.GROUPS_PAGE``, ``CONTACTS_PAGE``)."""
    errors = Errors()
    paging = page(errors, args, bounds)
    errors.raise_if_any()
    return paging
