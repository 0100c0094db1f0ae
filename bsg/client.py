"""A thin, typed client for the BSG One API (https://one-api.bsg.world), plain Python.

One method per endpoint (E1-E14 in bsg-api.md), one private `_request`, answers parsed into the
frozen dataclasses of `bsg.schemas`, failures raised as the classes of `bsg.errors`. What a send
is made of is `bsg.payloads`; where the token is kept is `bsg.tokens`.

Why this module is long: it is one class with one method per endpoint and one HTTP seam, as
RapidPro's clients are; splitting it would scatter the endpoints and their wire rules.

What the client does and does not do:

- Authentication as BSG does it: `POST /api/auth/login {"api_key"}` answers `{"bearer": JWT}`;
  every call sends `Authorization: Bearer <JWT>`. The token lives in a `TokenStore` (Django's
  cache in the app, so every web and worker process shares one token) under a key made from
  the base URL and a hash of the API key. The client reads the JWT's `exp` (without verifying
  it) and refreshes through `POST /api/auth/refresh` shortly before expiry; a failed refresh
  falls back to a login. A 401 answer means BSG accepted nothing, so the client logs in again
  once and repeats the request once (POSTs included); a second 401 raises `BsgNotAuthorised`.
- No other retries, ever. A send that failed in a way that may have reached BSG raises
  `BsgOutcomeUnknown` and the caller looks its `reference_id`s up; resending blindly could be
  a second paid SMS blast. Even GETs are not retried here: the caller (a task with backoff)
  owns retrying.
- Every call has (connect, read) timeouts and `allow_redirects=False`: the API key and the
  token go to the configured base URL and nowhere else.
- The API key and tokens never appear in logs, errors or reprs. Log lines (logger
  "bsg.client") carry method, path, status and elapsed milliseconds only.

Decisions on failures (the flags are in `bsg.errors`):

- Reads (GET, and the price estimate, which changes nothing) never raise an error flagged
  `may_have_been_accepted`: a read timeout, a dropped connection or a 5xx is
  `BsgUnavailable`; an answer we cannot use is `BsgBadResponse`.
- Writes (POST, PATCH, DELETE): no connection (refused, DNS, connect timeout, TLS) or 503 is
  `BsgUnavailable`; a read timeout, a connection dropped after sending, a 2xx answer we cannot
  parse, or a 5xx other than 503 is `BsgOutcomeUnknown`. A 500/502/504 can come after BSG
  stored the campaign (or from a gateway whose upstream is still working), so it is not
  treated as "nothing accepted".
- Failures while logging in or refreshing happen before the caller's request was sent, so
  they never carry `may_have_been_accepted`.

A client is not meant to be shared between threads (it holds one `requests.Session`); build
one per thread or process. They can share one token store.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from urllib3.exceptions import ConnectTimeoutError

from bsg.errors import (
    BsgBadResponse,
    BsgError,
    BsgNoApiKey,
    BsgNotAuthorised,
    BsgNotFound,
    BsgOutcomeUnknown,
    BsgRateLimited,
    BsgRejected,
    BsgUnavailable,
    normalise_errors,
)
from bsg.payloads import (
    CallSuggestion,
    IndividualMessage,
    LinkSuggestion,
    RcsCard,
    RcsSuggestion,
    Recipient,
    SmsFallback,
)
from bsg.rules import callback_url_error, format_bsg_datetime
from bsg.schemas import (
    Balance,
    Campaign,
    CampaignDetail,
    CampaignPage,
    Contact,
    ContactField,
    ContactPage,
    Group,
    GroupPage,
    Message,
    MessagePage,
    PriceEstimate,
    ShapeError,
    data_list,
    data_object,
)
from bsg.tokens import InMemoryTokenStore, TokenStore, token_store_key, token_times

logger = logging.getLogger("bsg.client")

T = TypeVar("T")


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


ItemT = TypeVar("ItemT", bound=_Identified)

LOGIN_PATH = "/api/auth/login"
REFRESH_PATH = "/api/auth/refresh"

# BSG does not state the token lifetime (the YAML's sample token lives 30 days). A token that
# is not a JWT is kept for an hour; if it dies sooner, the 401 rule logs in again.
ASSUMED_TOKEN_LIFETIME = 3600.0
# Refresh when less than 10% of the token's lifetime or 5 minutes remain, whichever is
# shorter: a 30-day token is refreshed 5 minutes before expiry, a 60-second sandbox token 6
# seconds before (refreshing at "5 minutes" would renew it on every call).
REFRESH_MARGIN_SHARE = 0.1
REFRESH_MARGIN_SECONDS = 300.0

# campaigns-list.txt: "The maximum period for which you can sample the campaigns is 3 months."
# Three calendar months are 89 to 92 days; 89 days of wall-clock time in BSG's zone fits every
# reading of "3 months" (calendar, 90 days, or PHP's overflowing "-3 months").
CAMPAIGNS_WINDOW = timedelta(days=89)

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_REDACTED = "[redacted]"


class _Secret:
    """Holds the API key so that no repr, `vars()` or debug page of the client shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('***')"

    __str__ = __repr__


# --- wire helpers ----------------------------------------------------------------------------


def _digits(value: str | int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{what} must be digits as str or int, not {type(value).__name__}")
    text = str(value)
    # `int("+380...")` would silently drop the '+': only plain ASCII digits pass.
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{what} must be digits only, without '+' or spaces: {text!r}")
    return text


def _phone_number(value: str | int, what: str) -> int:
    """A phone number as the JSON integer BSG's SMS and contact endpoints take.

    An integer has no leading zero, so `int("0661231231")` would quietly send 661231231, a
    different number that still looks valid (9 digits): refuse it instead.
    """
    text = _digits(value, what)
    if text.startswith("0"):
        raise ValueError(f"{what} must be in international format without a leading zero: {text!r}")
    return int(text)


def _int_id(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _ids(values: Sequence[int], what: str) -> list[int]:
    if isinstance(values, str | bytes):
        raise TypeError(f"{what} must be a sequence of ints, not a string")
    return [_int_id(value, what) for value in values]


def _suggestion(suggestion: RcsSuggestion) -> dict[str, Any]:
    # The YAML requires `type` (a discriminator); the vendor page's sample omits it
    # (bsg-api.md, Disagreements): we send it.
    if isinstance(suggestion, LinkSuggestion):
        wire: dict[str, Any] = {"type": "link", "text": suggestion.text, "url": suggestion.url}
    elif isinstance(suggestion, CallSuggestion):
        wire = {"type": "call", "text": suggestion.text, "phone": suggestion.phone}
    else:
        raise TypeError(f"Not an RCS suggestion: {type(suggestion).__name__}")
    if suggestion.postback_data is not None:
        wire["postback_data"] = suggestion.postback_data
    return wire


def _card(card: RcsCard) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    if card.title is not None:
        wire["title"] = card.title
    if card.text is not None:
        wire["text"] = card.text
    if card.media_url is not None:
        wire["media"] = {"url": card.media_url}
    if card.suggestions:
        wire["suggestions"] = [_suggestion(suggestion) for suggestion in card.suggestions]
    return wire


def _rcs_options(cards: Sequence[RcsCard] | None, text: str | None) -> dict[str, Any]:
    # YAML Options: anyOf {cards: [...]} or {text} (plain text, up to 160 characters).
    if (cards is None) == (text is None):
        raise ValueError("An RCS message needs either cards or text (not both)")
    if cards is not None:
        return {"cards": [_card(card) for card in cards]}
    return {"text": text}


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date turned into seconds from now."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (args, urllib3's `reason`, cause, context)."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(current.args)
        pending.append(getattr(current, "reason", None))
        pending.append(current.__cause__)
        pending.append(current.__context__)


def _never_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached BSG: no connection was ever made."""
    if isinstance(
        exc,
        requests.exceptions.ConnectTimeout
        | requests.exceptions.SSLError
        | requests.exceptions.ProxyError,
    ):
        return True
    return any(
        # urllib3 2: NewConnectionError and NameResolutionError are ConnectTimeoutErrors.
        isinstance(cause, ConnectTimeoutError | ConnectionRefusedError | socket.gaierror)
        for cause in _causes(exc)
    )


# --- the client ------------------------------------------------------------------------------


class BsgClient:
    """The BSG One API, one method per endpoint. Methods take keyword arguments only."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        token_store: TokenStore | None = None,
        time_zone: str = "UTC",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        base_url = base_url.rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"BSG base URL must be http(s)://host[:port][/prefix]: {base_url!r}")
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown BSG time zone: {time_zone!r}") from exc
        self._base_url = base_url
        self._api_key = _Secret(api_key)
        self._store = token_store if token_store is not None else InMemoryTokenStore()
        self._store_key = token_store_key(base_url, api_key)
        self._time_zone = time_zone
        self._timeout = (connect_timeout, read_timeout)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        # API requests made (sign-ins and the one repeat after a 401 not counted): what a poll
        # cycle costs, as the engine reports it and the benchmarks measure it.
        self.requests_made = 0

    def __repr__(self) -> str:
        return f"BsgClient(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def time_zone(self) -> str:
        """The zone BSG reads `start_at` in and writes its dates in (bsg-api.md: unstated)."""
        return self._time_zone

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> BsgClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # One lifetime: `with ... as client:` closes the connection pool however the block ends.
        self.close()

    # --- E1-E4, E6, E14: campaigns that send ------------------------------------------------

    def sms_send(
        self,
        *,
        phones: Sequence[Recipient],
        text: str,
        sender: str,
        validity: int | None = None,
        tariff_code: int | None = None,
        start_at: datetime | None = None,
        callback_url: str | None = None,
    ) -> Campaign:
        """E1 `POST /api/campaigns/sms/send`: one text to up to 10,000 numbers.

        Numbers go out as JSON integers (vendor page: `number` integer, "without +").
        """
        body: dict[str, Any] = {
            "phones": [self._sms_recipient(phone) for phone in phones],
            "sender": sender,
            "text": text,
        }
        body.update(self._sms_options(validity, tariff_code, start_at, callback_url))
        return self._campaign("POST", "/api/campaigns/sms/send", body)

    def sms_send_groups(
        self,
        *,
        groups: Sequence[int],
        text: str,
        sender: str,
        validity: int | None = None,
        tariff_code: int | None = None,
        start_at: datetime | None = None,
        callback_url: str | None = None,
    ) -> Campaign:
        """E2 `POST /api/campaigns/sms/send-groups`: one text to contact-book lists.

        `text` may hold `{field_id}` placeholders that BSG fills from each contact's fields.
        """
        body: dict[str, Any] = {"groups": _ids(groups, "group id"), "sender": sender, "text": text}
        body.update(self._sms_options(validity, tariff_code, start_at, callback_url))
        return self._campaign("POST", "/api/campaigns/sms/send-groups", body)

    def sms_send_individual(
        self,
        *,
        messages: Sequence[IndividualMessage],
        validity: int | None = None,
        tariff_code: int | None = None,
        start_at: datetime | None = None,
        callback_url: str | None = None,
    ) -> Campaign:
        """E3 `POST /api/campaigns/sms/send-individual`: a text and sender per phone.

        The schedule goes out as `start_at` (the page's table says `start_code`, its sample and
        every other method `start_at`; bsg-api.md, Disagreements). `callback_url` (as on E1
        and E2) is where BSG then pushes the messages' delivery statuses.
        """
        wire_messages = []
        for phone, text, sender, reference_id in messages:  # ten thousand a call
            wire: dict[str, Any] = {
                "phone": _phone_number(phone, "phone"),
                "text": text,
                "sender": sender,
            }
            if reference_id is not None:
                wire["reference_id"] = reference_id
            wire_messages.append(wire)
        body: dict[str, Any] = {"messages": wire_messages}
        body.update(self._sms_options(validity, tariff_code, start_at, callback_url))
        return self._campaign("POST", "/api/campaigns/sms/send-individual", body)

    def campaign_stop(self, *, campaign_id: int) -> Campaign:
        """E4 `PATCH /api/campaigns/{id}/stop`, no body.

        BSG answers 422 "Invalid campaign status" (BsgRejected) when the campaign cannot stop.
        """
        path = f"/api/campaigns/{_int_id(campaign_id, 'campaign_id')}/stop"
        return self._campaign("PATCH", path, None)

    def rcs_send_groups(
        self,
        *,
        groups: Sequence[int],
        sender: str,
        cards: Sequence[RcsCard] | None = None,
        text: str | None = None,
        sms_fallback: SmsFallback | None = None,
        check_stop_list: bool | None = None,
        validity: int | None = None,
        start_at: datetime | None = None,
        tariff_code: int | str | None = None,
        add_to_contact_book: bool | None = None,
    ) -> Campaign:
        """E6 `POST /api/campaigns/rcs/send-groups`: RCS cards (or text) to contact-book lists.

        `sender` is the RCS agent name. `tariff_code` goes out as a JSON string here (the
        page's table: "tariff_code string"; its sample and the YAML send an integer).
        """
        body: dict[str, Any] = {
            "groups": _ids(groups, "group id"),
            "sender": sender,
            "options": _rcs_options(cards, text),
        }
        body.update(
            self._rcs_extras(
                sms_fallback=sms_fallback,
                start_at=start_at,
                tariff_code=str(tariff_code) if tariff_code is not None else None,
                validity=validity,
                add_to_contact_book=add_to_contact_book,
                check_stop_list=check_stop_list,
            )
        )
        return self._campaign("POST", "/api/campaigns/rcs/send-groups", body)

    def rcs_send(
        self,
        *,
        phones: Sequence[Recipient],
        sender: str,
        cards: Sequence[RcsCard] | None = None,
        text: str | None = None,
        sms_fallback: SmsFallback | None = None,
        check_stop_list: bool | None = None,
        validity: int | None = None,
        start_at: datetime | None = None,
        tariff_code: int | None = None,
        add_to_contact_book: bool | None = None,
    ) -> Campaign:
        """E14 `POST /api/campaigns/rcs/send`: RCS to up to 5,000 phones.

        Only the YAML describes it: `phones[].number` is a string of 9-15 digits there (unlike
        SMS, where it is an integer) and `tariff_code` an integer.
        """
        wire_phones = []
        for phone in phones:
            wire: dict[str, Any] = {"number": _digits(phone.number, "phone number")}
            if phone.reference_id is not None:
                wire["reference_id"] = phone.reference_id
            wire_phones.append(wire)
        body: dict[str, Any] = {
            "phones": wire_phones,
            "sender": sender,
            "options": _rcs_options(cards, text),
        }
        body.update(
            self._rcs_extras(
                sms_fallback=sms_fallback,
                start_at=start_at,
                tariff_code=tariff_code,
                validity=validity,
                add_to_contact_book=add_to_contact_book,
                check_stop_list=check_stop_list,
            )
        )
        return self._campaign("POST", "/api/campaigns/rcs/send", body)

    # --- E5, E7, E8: campaigns that are read ------------------------------------------------

    def campaign_get(self, *, campaign_id: int) -> Campaign:
        """E7 `GET /api/campaigns/{id}`: status and sent/delivered counts."""
        return self._campaign("GET", f"/api/campaigns/{_int_id(campaign_id, 'campaign_id')}", None)

    def campaign_detail(self, *, campaign_id: int) -> CampaignDetail:
        """E8 `GET /api/campaigns/{id}/detail`: per-status counts, total price, currency."""
        path = f"/api/campaigns/{_int_id(campaign_id, 'campaign_id')}/detail"
        body = self._request("GET", path)
        return self._parse(
            "GET", path, lambda: CampaignDetail.from_api(data_object(body), self._time_zone)
        )

    def campaigns_page(
        self,
        *,
        message_type: str | None = "sms",
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
        sort: str = "id",
        way: str = "asc",
        search_field: str | None = None,
        search_value: str | None = None,
    ) -> CampaignPage:
        """E5 `GET /api/campaigns`: one page of campaigns in a window of at most 3 months.

        Query: `filter[type]`, `filter[from]`, `filter[to]` ("YYYY-MM-DD hh:mm:ss" in BSG's
        zone), `page[offset]`, `page[limit]` (YAML: 30-500), `sort`, `way`, and optionally
        `search[field]` (`sender` or `taskname`) with `search[value]`.
        """
        params: list[tuple[str, str | int]] = []
        if message_type is not None:
            params.append(("filter[type]", message_type))
        if date_from is not None:
            params.append(("filter[from]", self._bsg_time(date_from, "date_from")))
        if date_to is not None:
            params.append(("filter[to]", self._bsg_time(date_to, "date_to")))
        params += [("page[offset]", offset), ("page[limit]", limit), ("sort", sort), ("way", way)]
        if search_field is not None:
            params.append(("search[field]", search_field))
        if search_value is not None:
            params.append(("search[value]", search_value))
        path = "/api/campaigns"
        body = self._request("GET", path, params=params)
        return self._parse("GET", path, lambda: CampaignPage.from_api(body, self._time_zone))

    def iter_campaigns(
        self,
        *,
        message_type: str | None = "sms",
        date_from: datetime,
        date_to: datetime,
        page_size: int = 500,
        sort: str = "id",
        way: str = "asc",
    ) -> Iterator[Campaign]:
        """Every campaign from `date_from` to `date_to`, each once, walking pages for you.

        BSG samples at most 3 months at a time (campaigns-list.txt), so a longer span is walked
        as consecutive windows of `CAMPAIGNS_WINDOW` (oldest first, or newest first when
        `way="desc"`). Window edges are inclusive on both sides; a campaign on an edge is
        yielded once.
        """
        self._bsg_time(date_from, "date_from")
        self._bsg_time(date_to, "date_to")
        if date_from > date_to:
            raise ValueError("date_from is after date_to")
        zone = ZoneInfo(self._time_zone)
        # Aware arithmetic with one tzinfo is wall-clock arithmetic: each window spans exactly
        # CAMPAIGNS_WINDOW as BSG reads the formatted strings, across DST changes too.
        start, end = date_from.astimezone(zone), date_to.astimezone(zone)
        windows = []
        while True:
            stop = min(start + CAMPAIGNS_WINDOW, end)
            windows.append((start, stop))
            if stop >= end:
                break
            start = stop
        if way == "desc":
            windows.reverse()
        seen: set[int] = set()
        for window_from, window_to in windows:

            def fetch(
                offset: int,
                limit: int,
                window_from: datetime = window_from,
                window_to: datetime = window_to,
            ) -> tuple[Sequence[Campaign], int | None]:
                page = self.campaigns_page(
                    message_type=message_type,
                    date_from=window_from,
                    date_to=window_to,
                    offset=offset,
                    limit=limit,
                    sort=sort,
                    way=way,
                )
                return page.items, page.total

            yield from self._walk(fetch, page_size, seen)

    # --- E9: messages -----------------------------------------------------------------------

    def messages_page(
        self,
        *,
        campaign_id: int | None = None,
        reference_id: str | None = None,
        message_id: int | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
        sort: str = "id",
        way: str = "asc",
    ) -> MessagePage:
        """E9 `GET /api/messages`: one page of messages.

        The YAML gives each filter ONE value (`filter[reference_id]` is a string,
        `filter[id]` an integer; nothing says a list, comma-separated or repeated, is read), so
        each filter here takes one value; `iter_messages` asks once per value.
        """
        params: list[tuple[str, str | int]] = [
            ("page[offset]", offset),
            ("page[limit]", limit),
            ("sort", sort),
            ("way", way),
        ]
        if message_id is not None:
            params.append(("filter[id]", _int_id(message_id, "message_id")))
        if campaign_id is not None:
            params.append(("filter[campaign_id]", _int_id(campaign_id, "campaign_id")))
        if reference_id is not None:
            params.append(("filter[reference_id]", reference_id))
        if date_from is not None:
            params.append(("filter[from]", self._bsg_time(date_from, "date_from")))
        if date_to is not None:
            params.append(("filter[to]", self._bsg_time(date_to, "date_to")))
        path = "/api/messages"
        body = self._request("GET", path, params=params)
        return self._parse("GET", path, lambda: MessagePage.from_api(body, self._time_zone))

    def iter_messages(
        self,
        *,
        campaign_id: int | None = None,
        reference_ids: Sequence[str] | None = None,
        ids: Sequence[int] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        page_size: int = 500,
    ) -> Iterator[Message]:
        """Every message matching the filters, each once, walking pages for you.

        With `reference_ids` and/or `ids`, one query per value (see `messages_page`), each
        combined with `campaign_id` when given: prefer `campaign_id` alone for a whole
        campaign, and look up references only for the few recipients in doubt.
        """
        if isinstance(reference_ids, str | bytes):
            raise TypeError("reference_ids must be a sequence of strings, not one string")
        queries: list[dict[str, Any]] = [{"reference_id": ref} for ref in reference_ids or ()]
        queries += [{"message_id": identifier} for identifier in _ids(ids or (), "message id")]
        if reference_ids is None and ids is None:
            queries = [{}]
        seen: set[int] = set()
        for query in queries:

            def fetch(
                offset: int, limit: int, query: dict[str, Any] = query
            ) -> tuple[Sequence[Message], int | None]:
                page = self.messages_page(
                    campaign_id=campaign_id,
                    date_from=date_from,
                    date_to=date_to,
                    offset=offset,
                    limit=limit,
                    **query,
                )
                return page.items, page.total

            yield from self._walk(fetch, page_size, seen)

    # --- E10, E11: account ------------------------------------------------------------------

    def price_estimate(
        self,
        *,
        sender: str,
        text: str,
        groups: Sequence[int] | None = None,
        phones: Sequence[str | int] | None = None,
        tariff_code: int | None = None,
    ) -> PriceEstimate:
        """E10 `POST /api/campaigns/price`: what an SMS campaign would cost (SMS only).

        Recipients are `groups` (list ids) or `phones` (sent as `messages: [{"phone"}]`). It
        changes nothing at BSG, so its failures are those of a read.
        """
        if groups is None and phones is None:
            raise ValueError("A price estimate needs groups or phones")
        body: dict[str, Any] = {"sender": sender, "text": text}
        if groups is not None:
            body["groups"] = _ids(groups, "group id")
        if phones is not None:
            body["messages"] = [{"phone": _phone_number(phone, "phone")} for phone in phones]
        if tariff_code is not None:
            body["tariff_code"] = tariff_code
        path = "/api/campaigns/price"
        answer = self._request("POST", path, json_body=body, changes_state=False)

        def parse() -> PriceEstimate:
            # The YAML's answer is not wrapped in `data`; accept it wrapped too.
            data = answer.get("data") if isinstance(answer, Mapping) else None
            return PriceEstimate.from_api(
                data if isinstance(data, Mapping) else answer, self._time_zone
            )

        return self._parse("POST", path, parse, changes_state=False)

    def balance(self) -> Balance:
        """E11 `GET /api/accounts/balance`: balance (may be negative), currency, credit."""
        path = "/api/accounts/balance"
        body = self._request("GET", path)
        return self._parse(
            "GET", path, lambda: Balance.from_api(data_object(body), self._time_zone)
        )

    # --- E12: contact-book lists ------------------------------------------------------------

    def groups_page(self, *, offset: int = 0, limit: int = 50) -> GroupPage:
        """E12 `GET /api/groups`: one page of lists (`page[limit]` 15-500), top-level `total`."""
        path = "/api/groups"
        params: list[tuple[str, str | int]] = [("page[offset]", offset), ("page[limit]", limit)]
        body = self._request("GET", path, params=params)
        return self._parse("GET", path, lambda: GroupPage.from_api(body, self._time_zone))

    def iter_groups(self, *, page_size: int = 500) -> Iterator[Group]:
        """Every contact-book list, each once."""

        def fetch(offset: int, limit: int) -> tuple[Sequence[Group], int | None]:
            page = self.groups_page(offset=offset, limit=limit)
            return page.items, page.total

        return self._walk(fetch, page_size, set())

    def group_get(self, *, group_id: int) -> Group:
        """`GET /api/groups/{id}`."""
        path = f"/api/groups/{_int_id(group_id, 'group_id')}"
        body = self._request("GET", path)
        return self._parse("GET", path, lambda: Group.from_api(data_object(body), self._time_zone))

    def group_create(self, *, name: str) -> Group:
        """E12 `POST /api/groups {"name"}` (3-50 characters, unique: 422 otherwise)."""
        path = "/api/groups"
        body = self._request("POST", path, json_body={"name": name})
        return self._parse("POST", path, lambda: Group.from_api(data_object(body), self._time_zone))

    def group_delete(self, *, group_id: int) -> None:
        """`DELETE /api/groups/{id}` (its contacts stay in the contact book)."""
        self._request("DELETE", f"/api/groups/{_int_id(group_id, 'group_id')}")

    def groups_attach(self, *, contact_ids: Sequence[int], group_ids: Sequence[int]) -> None:
        """E12 `POST /api/groups/attach {"contacts", "groups"}`: at most 200 x 100 per call."""
        body = {"contacts": _ids(contact_ids, "contact id"), "groups": _ids(group_ids, "group id")}
        self._request("POST", "/api/groups/attach", json_body=body)

    # --- E13: contacts and their fields -----------------------------------------------------

    def contacts_page(
        self, *, groups: Sequence[int] | None = None, offset: int = 0, limit: int = 50
    ) -> ContactPage:
        """E13 `GET /api/contacts`: one page, optionally of some lists only.

        The YAML sends the lists as `groups[]`, form style, exploded: one `groups[]=<id>` per
        list.
        """
        params: list[tuple[str, str | int]] = [("page[offset]", offset), ("page[limit]", limit)]
        params += [("groups[]", group) for group in _ids(groups or (), "group id")]
        path = "/api/contacts"
        body = self._request("GET", path, params=params)
        return self._parse("GET", path, lambda: ContactPage.from_api(body, self._time_zone))

    def iter_contacts(
        self, *, groups: Sequence[int] | None = None, page_size: int = 500
    ) -> Iterator[Contact]:
        """Every contact (of some lists), each once."""

        def fetch(offset: int, limit: int) -> tuple[Sequence[Contact], int | None]:
            page = self.contacts_page(groups=groups, offset=offset, limit=limit)
            return page.items, page.total

        return self._walk(fetch, page_size, set())

    def contact_get(self, *, contact_id: int) -> Contact:
        """`GET /api/contacts/{id}` (BSG answers 422 "Invalid contact id" when unknown)."""
        path = f"/api/contacts/{_int_id(contact_id, 'contact_id')}"
        body = self._request("GET", path)
        return self._parse(
            "GET", path, lambda: Contact.from_api(data_object(body), self._time_zone)
        )

    def contact_create(
        self,
        *,
        phone: str | int,
        groups: Sequence[int] = (),
        fields: Mapping[int, str] | None = None,
    ) -> Contact:
        """E13 `POST /api/contacts {"phone", "groups", "fields": [{"id", "value"}]}`."""
        body: dict[str, Any] = {"phone": _phone_number(phone, "phone")}
        if groups:
            body["groups"] = _ids(groups, "group id")
        if fields:
            body["fields"] = [
                {"id": _int_id(field_id, "field id"), "value": value}
                for field_id, value in fields.items()
            ]
        path = "/api/contacts"
        answer = self._request("POST", path, json_body=body)
        return self._parse(
            "POST", path, lambda: Contact.from_api(data_object(answer), self._time_zone)
        )

    def contact_delete(self, *, contact_id: int) -> None:
        """`DELETE /api/contacts/{id}` (also removes it from every list)."""
        self._request("DELETE", f"/api/contacts/{_int_id(contact_id, 'contact_id')}")

    def fields_list(self) -> list[ContactField]:
        """E13 `GET /api/contacts/fields`: every custom field (not paged, no total)."""
        path = "/api/contacts/fields"
        body = self._request("GET", path)
        return self._parse(
            "GET",
            path,
            lambda: [ContactField.from_api(item, self._time_zone) for item in data_list(body)],
        )

    def field_create(self, *, name: str, type: str) -> ContactField:
        """E13 `POST /api/contacts/fields {"name", "type"}`: name 1-30, type text/date/number."""
        path = "/api/contacts/fields"
        body = self._request("POST", path, json_body={"name": name, "type": type})
        return self._parse(
            "POST", path, lambda: ContactField.from_api(data_object(body), self._time_zone)
        )

    def fields_delete(self, *, field_ids: Sequence[int]) -> None:
        """`POST /api/contacts/fields/delete {"ids"}`: up to 30 fields."""
        self._request(
            "POST", "/api/contacts/fields/delete", json_body={"ids": _ids(field_ids, "field id")}
        )

    # --- request building -------------------------------------------------------------------

    def _bsg_time(self, moment: datetime, what: str) -> str:
        """An aware datetime as "YYYY-MM-DD hh:mm:ss" in BSG's zone.

        Naive datetimes are refused: guessing their zone is how a campaign gets scheduled hours
        off (the generated SDK sends whatever the caller's clock says).
        """
        if not isinstance(moment, datetime):
            raise TypeError(f"{what} must be a datetime, not {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{what} must be an aware datetime (with a time zone)")
        return format_bsg_datetime(moment, self._time_zone)

    def _sms_recipient(self, recipient: Recipient) -> dict[str, Any]:
        if not isinstance(recipient, Recipient):
            raise TypeError(f"phones must hold Recipient objects, not {type(recipient).__name__}")
        wire: dict[str, Any] = {"number": _phone_number(recipient.number, "phone number")}
        if recipient.reference_id is not None:
            wire["reference_id"] = recipient.reference_id
        return wire

    def _sms_options(
        self,
        validity: int | None,
        tariff_code: int | None,
        start_at: datetime | None,
        callback_url: str | None = None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if callback_url is not None:
            problem = callback_url_error(callback_url)
            if problem:
                raise ValueError(problem)
            options["callback_url"] = callback_url
        if tariff_code is not None:
            options["tariff_code"] = tariff_code
        if validity is not None:
            options["validity"] = validity
        if start_at is not None:
            options["start_at"] = self._bsg_time(start_at, "start_at")
        return options

    def _rcs_extras(
        self,
        *,
        sms_fallback: SmsFallback | None,
        start_at: datetime | None,
        tariff_code: int | str | None,
        validity: int | None,
        add_to_contact_book: bool | None,
        check_stop_list: bool | None,
    ) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        if sms_fallback is not None:
            sms: dict[str, Any] = {"text": sms_fallback.text, "sender": sms_fallback.sender}
            if sms_fallback.validity is not None:
                sms["validity"] = sms_fallback.validity
            if sms_fallback.check_stop_list is not None:
                sms["check_stop_list"] = sms_fallback.check_stop_list
            extras["alternative_channel"] = {"sms": sms}
        if start_at is not None:
            extras["start_at"] = self._bsg_time(start_at, "start_at")
        if tariff_code is not None:
            extras["tariff_code"] = tariff_code
        if validity is not None:
            extras["validity"] = validity
        if add_to_contact_book is not None:
            extras["add_to_contact_book"] = add_to_contact_book
        if check_stop_list is not None:
            extras["check_stop_list"] = check_stop_list
        return extras

    def _campaign(self, method: str, path: str, body: dict[str, Any] | None) -> Campaign:
        answer = self._request(method, path, json_body=body)
        return self._parse(
            method, path, lambda: Campaign.from_api(data_object(answer), self._time_zone)
        )

    def _walk(
        self,
        fetch: Callable[[int, int], tuple[Sequence[ItemT], int | None]],
        page_size: int,
        seen: set[int],
    ) -> Iterator[ItemT]:
        """Yield items page after page until BSG's total is reached or a page comes up short.

        Items are yielded once by `id` across everything that shares `seen` (pages shift when
        campaigns are created meanwhile; consecutive windows share their edges). A page that
        brings nothing new to this walk ends it, so a server that ignores the offset cannot
        loop us forever.
        """
        offset = 0
        walked: set[int] = set()
        while True:
            items, total = fetch(offset, page_size)
            new_to_walk = [item for item in items if item.id not in walked]
            for item in new_to_walk:
                walked.add(item.id)
                if item.id not in seen:
                    seen.add(item.id)
                    yield item
            offset += len(items)
            if not new_to_walk:
                return
            if total is not None and offset >= total:
                return
            if total is None and len(items) < page_size:
                return

    # --- the one HTTP seam ------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str | int]] | None = None,
        json_body: dict[str, Any] | None = None,
        changes_state: bool | None = None,
    ) -> Any:
        """Send one signed request and return its decoded JSON (None for an empty answer).

        On 401 (BSG accepted nothing) log in again once and repeat once; a second 401 raises
        `BsgNotAuthorised`. Nothing else is ever repeated.
        """
        writes = method != "GET" if changes_state is None else changes_state
        self.requests_made += 1
        token = self._bearer()
        response = self._send(
            method, path, params=params, json_body=json_body, token=token, writes=writes
        )
        if response.status_code == 401:
            self._store.delete(self._store_key)
            token = self._login()
            response = self._send(
                method, path, params=params, json_body=json_body, token=token, writes=writes
            )
            if response.status_code == 401:
                self._store.delete(self._store_key)
                raise BsgNotAuthorised(
                    "BSG refused a freshly issued token", method=method, path=path, status=401
                )
        return self._decode(method, path, response, token=token, writes=writes)

    def _parse(
        self, method: str, path: str, parse: Callable[[], T], *, changes_state: bool | None = None
    ) -> T:
        try:
            return parse()
        except ShapeError as exc:
            writes = method != "GET" if changes_state is None else changes_state
            raise self._unusable(method, path, None, str(exc), writes=writes) from exc

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str | int]] | None,
        json_body: dict[str, Any] | None,
        token: str | None,
        writes: bool,
    ) -> requests.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                self._base_url + path,
                params=params,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except OSError as exc:  # every requests exception is an OSError
            if isinstance(exc, ValueError):  # InvalidURL, InvalidJSONError...: our own bug
                raise
            elapsed = round((time.monotonic() - started) * 1000)
            logger.warning(
                "%s %s failed after %d ms: %s", method, path, elapsed, type(exc).__name__
            )
            raise self._transport_error(method, path, exc, writes=writes) from exc
        elapsed = round((time.monotonic() - started) * 1000)
        logger.info("%s %s -> %s in %d ms", method, path, response.status_code, elapsed)
        return response

    def _transport_error(self, method: str, path: str, exc: OSError, *, writes: bool) -> BsgError:
        reason = type(exc).__name__
        if _never_sent(exc):
            return BsgUnavailable(f"BSG could not be reached ({reason})", method=method, path=path)
        if not writes:
            return BsgUnavailable(f"BSG did not answer ({reason})", method=method, path=path)
        return BsgOutcomeUnknown(
            f"The request was sent but BSG's answer was lost ({reason}); it may have been accepted",
            method=method,
            path=path,
        )

    def _unusable(
        self, method: str, path: str, status: int | None, reason: str, *, writes: bool
    ) -> BsgError:
        if writes:
            return BsgOutcomeUnknown(
                f"BSG's answer could not be used ({reason}); the request may have been accepted",
                method=method,
                path=path,
                status=status,
            )
        return BsgBadResponse(
            f"BSG's answer could not be used ({reason})", method=method, path=path, status=status
        )

    def _redact(self, text: str, token: str | None) -> str:
        """Remove the API key and tokens from text BSG sends back, in case it echoes them."""
        for secret in (self._api_key.reveal(), token):
            if secret:
                text = text.replace(secret, _REDACTED)
        return _JWT.sub(_REDACTED, text)

    def _decode(
        self,
        method: str,
        path: str,
        response: requests.Response,
        *,
        token: str | None,
        writes: bool,
    ) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content.strip():
                return None
            try:
                return response.json()
            except ValueError:
                raise self._unusable(method, path, status, "not JSON", writes=writes) from None
        if 300 <= status < 400:
            # Never followed: the token would go to wherever the Location points.
            raise BsgBadResponse(
                f"BSG answered a redirect to {response.headers.get('Location')!r}, which is "
                "not followed: check the BSG base URL",
                method=method,
                path=path,
                status=status,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, Mapping) else {}
        text = body.get("message")
        message = self._redact(
            str(text) if text else f"BSG answered HTTP {status} {response.reason or ''}".strip(),
            token,
        )
        if status == 401:
            raise BsgNotAuthorised(message, method=method, path=path, status=status)
        if status == 429:
            raise BsgRateLimited(
                message,
                retry_after=_retry_after(response.headers.get("Retry-After")),
                method=method,
                path=path,
                status=status,
            )
        if status == 408:  # the server gave up waiting for our request: nothing accepted
            raise BsgUnavailable(message, method=method, path=path, status=status)
        if 400 <= status < 500:
            errors = {
                self._redact(key, token): [self._redact(line, token) for line in lines]
                for key, lines in normalise_errors(body.get("errors")).items()
            }
            error_class = BsgNotFound if status == 404 else BsgRejected
            raise error_class(message, status=status, errors=errors, method=method, path=path)
        if not writes or status == 503:
            raise BsgUnavailable(message, method=method, path=path, status=status)
        raise BsgOutcomeUnknown(
            f"{message}; the request may have been accepted",
            method=method,
            path=path,
            status=status,
        )

    # --- authentication ---------------------------------------------------------------------

    def _bearer(self) -> str:
        """A token to sign with: the shared one, refreshed near expiry, or a new login."""
        token = self._store.get(self._store_key)
        if token is None:
            return self._login()
        times = token_times(token)
        if times is None:
            # Not a JWT: the store forgets it after ASSUMED_TOKEN_LIFETIME and we log in then.
            return token
        expires_at, issued_at = times
        remaining = expires_at - time.time()
        if remaining <= 0:
            return self._login()  # refresh needs a still-valid token
        lifetime = (
            expires_at - issued_at if issued_at is not None and issued_at < expires_at else None
        )
        margin = (
            REFRESH_MARGIN_SECONDS
            if lifetime is None
            else min(REFRESH_MARGIN_SECONDS, lifetime * REFRESH_MARGIN_SHARE)
        )
        if remaining < margin:
            return self._refresh(token)
        return token

    def _login(self) -> str:
        api_key = self._api_key.reveal()
        if not api_key:
            raise BsgNoApiKey("No BSG API key is configured", method="POST", path=LOGIN_PATH)
        return self._authenticate(LOGIN_PATH, json_body={"api_key": api_key}, token=None)

    def _refresh(self, token: str) -> str:
        try:
            return self._authenticate(REFRESH_PATH, json_body=None, token=token)
        except BsgError as error:
            logger.info("BSG token refresh failed (%s); logging in again", type(error).__name__)
            return self._login()

    def _authenticate(
        self, path: str, *, json_body: dict[str, Any] | None, token: str | None
    ) -> str:
        """Log in or refresh, store the new token and return it.

        This runs before the caller's own request is sent, so whatever fails here, nothing of
        the caller's was accepted: no error from here carries `may_have_been_accepted`.
        """
        try:
            response = self._send(
                "POST", path, params=None, json_body=json_body, token=token, writes=False
            )
            answer = self._decode("POST", path, response, token=token, writes=False)
        except (BsgRateLimited, BsgOutcomeUnknown) as error:
            raise BsgUnavailable(
                f"Could not log in to BSG: {error.message}",
                method="POST",
                path=path,
                status=error.status,
            ) from None
        except (BsgRejected, BsgNotAuthorised) as error:
            raise BsgNotAuthorised(
                f"BSG refused to log in: {error.message}",
                method="POST",
                path=path,
                status=error.status,
            ) from None
        bearer = answer.get("bearer") if isinstance(answer, Mapping) else None
        if not isinstance(bearer, str) or not bearer:
            raise BsgBadResponse(
                "BSG's login answer holds no bearer token", method="POST", path=path
            )
        self._keep(bearer)
        return bearer

    def _keep(self, token: str) -> None:
        times = token_times(token)
        if times is None:
            timeout = ASSUMED_TOKEN_LIFETIME
        else:
            timeout = times[0] - time.time()
            if timeout <= 0:
                logger.warning("BSG issued a token that has already expired by our clock")
                timeout = 1.0
        self._store.set(self._store_key, token, timeout)
