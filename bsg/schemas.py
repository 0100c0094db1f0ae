"""BSG's answers as typed, immutable objects, parsed tolerantly.

Each type has `from_api(data, time_zone)`, built from the JSON object BSG sends (the content of
`data`, or the whole answer for pages). The parsing forgives what BSG's own samples do:

- unknown fields are ignored, and every object keeps what it was built from in `raw`;
- statuses stay plain strings, so a status BSG adds tomorrow passes through instead of
  crashing (only `TERMINAL_STATUSES` and `STOPPABLE_STATUSES` give them meaning);
- a missing or null optional field becomes None; PHP's empty array `[]` where an object is
  expected counts as missing (the E8 sample sends `"alternative_channels": []`);
- the vendor pages' slips are read too: `mesage_type` for `message_type` (the tables of the
  send-groups and send-individual pages) and `statistic` for `statistics` (the RCS page's
  `alternative_channels.sms`);
- dates "YYYY-MM-DD hh:mm:ss" become aware datetimes in the account's BSG time zone.

An object without what it cannot do without (an `id`, a balance) raises `ShapeError`; the
client turns that into `BsgOutcomeUnknown` for a send and `BsgBadResponse` for a read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bsg.rules import parse_bsg_datetime

# Statuses from the vendor pages and the YAML's CampaignStatus (bsg-api.md, Campaign statuses).
TERMINAL_STATUSES = frozenset({"done", "stopped", "spam"})
# The pages allow stop in creation/paused/sending/scheduled, the YAML in scheduled/sending/
# paused/moderation: we offer it in all five and show BSG's 422 plainly (bsg-api.md,
# Disagreements).
STOPPABLE_STATUSES = frozenset({"creation", "scheduled", "sending", "paused", "moderation"})


class ShapeError(ValueError):
    """An answer lacks what we cannot do without (for example a campaign without an id)."""


# --- tolerant readers ------------------------------------------------------------------------


# The readers below first take the type JSON gives (an exact dict, int or str) as it is, before
# the tolerant checks (`isinstance` against an ABC is slow): E9 pages bring 500 messages of
# seventeen fields each, and a million-recipient campaign is read page after page.


def _mapping(value: object) -> Mapping[str, Any] | None:
    if type(value) is dict:
        return value
    return value if isinstance(value, Mapping) else None


def _int(value: object) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _count(value: object) -> int:
    """A counter: absent or unreadable counts as 0."""
    number = _int(value)
    return number if number is not None else 0


def _str(value: object) -> str | None:
    if type(value) is str:
        return value
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    return str(value)


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _decimal(value: object) -> Decimal | None:
    """Money as Decimal; floats go through `str` so 0.1 stays 0.1, not 0.1000000000000000055."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _datetime(value: object, time_zone: str) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return parse_bsg_datetime(value, time_zone)


def _required_id(data: Mapping[str, Any], what: str) -> int:
    identifier = _int(data.get("id"))
    if identifier is None:
        raise ShapeError(f"{what} without a usable id: {data.get('id')!r}")
    return identifier


def _object(data: object, what: str) -> Mapping[str, Any]:
    mapping = _mapping(data)
    if mapping is None:
        raise ShapeError(f"{what} is not a JSON object but {type(data).__name__}")
    return mapping


def data_object(body: object) -> Mapping[str, Any]:
    """The object under an answer's `data` key (most BSG answers wrap their payload so)."""
    answer = _object(body, "The answer")
    return _object(answer.get("data"), "The answer's `data`")


def data_list(body: object) -> list[Any]:
    """The list under an answer's `data` key (list endpoints)."""
    answer = _object(body, "The answer")
    items = answer.get("data")
    if not isinstance(items, list):
        raise ShapeError(f"The answer's `data` is not a list but {type(items).__name__}")
    return items


def _counts(value: object) -> dict[str, int]:
    mapping = _mapping(value) or {}
    return {str(key): _count(number) for key, number in mapping.items()}


def _fallback_sms_statistics(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`alternative_channels.sms.statistics`, also spelt `statistic` in the RCS page's sample."""
    sms = _mapping((_mapping(data.get("alternative_channels")) or {}).get("sms"))
    if sms is None:
        return None
    statistics = _mapping(sms.get("statistics"))
    return statistics if statistics is not None else _mapping(sms.get("statistic"))


# --- campaigns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    """Sent and delivered counts (`statistics {sent, delivered}`); absent counts are 0."""

    sent: int
    delivered: int

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> Statistics:
        return cls(sent=_count(data.get("sent")), delivered=_count(data.get("delivered")))


@dataclass(frozen=True)
class Campaign:
    """A campaign as E1-E7 answer it (and the items of E5's list)."""

    id: int
    name: str | None
    sender: str | None
    status: str | None
    message_type: str | None
    start_at: datetime | None
    real_start_at: datetime | None
    finished_at: datetime | None
    created_at: datetime | None
    statistics: Statistics
    # Preliminary cost (RCS page: "calculated_price float"); the YAML adds it to SMS answers too.
    calculated_price: float | None
    currency: str | None
    # The SMS fallback's counts of an RCS campaign (`alternative_channels.sms.statistics`).
    fallback_statistics: Statistics | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        """Nothing will change any more: done, stopped or spam. Unknown statuses are not."""
        return self.status in TERMINAL_STATUSES

    @property
    def is_stoppable(self) -> bool:
        return self.status in STOPPABLE_STATUSES

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> Campaign:
        data = _object(data, "A campaign")
        message_type = data.get("message_type")
        if message_type is None:
            message_type = data.get("mesage_type")
        fallback = _fallback_sms_statistics(data)
        return cls(
            id=_required_id(data, "A campaign"),
            name=_str(data.get("name")),
            sender=_str(data.get("sender")),
            status=_str(data.get("status")),
            message_type=_str(message_type),
            start_at=_datetime(data.get("start_at"), time_zone),
            real_start_at=_datetime(data.get("real_start_at"), time_zone),
            finished_at=_datetime(data.get("finished_at"), time_zone),
            created_at=_datetime(data.get("created_at"), time_zone),
            statistics=Statistics.from_api(_mapping(data.get("statistics")) or {}, time_zone),
            calculated_price=_float(data.get("calculated_price")),
            currency=_str(data.get("currency")),
            fallback_statistics=(
                Statistics.from_api(fallback, time_zone) if fallback is not None else None
            ),
            raw=dict(data),
        )


def _page_meta(body: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    page = _mapping((_mapping(body.get("meta")) or {}).get("page")) or {}
    return _int(page.get("total")), _int(page.get("limit")), _int(page.get("offset"))


@dataclass(frozen=True)
class CampaignPage:
    """One page of E5: `{"data": [campaign...], "meta": {"page": {total, limit, offset}}}`."""

    items: tuple[Campaign, ...]
    total: int | None
    limit: int | None
    offset: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> CampaignPage:
        items = tuple(Campaign.from_api(item, time_zone) for item in data_list(data))
        total, limit, offset = _page_meta(data)
        return cls(items=items, total=total, limit=limit, offset=offset)


@dataclass(frozen=True)
class CampaignDetail:
    """E8 `GET /api/campaigns/{id}/detail`, with the YAML's own field names.

    `statistics` holds every per-status count BSG sends (delivered, sent, scheduled,
    moderation, accepted, sending, expired, failed, undelivered, unknown, read,
    not_viber_user, not_rcs_user, and any it adds later). `total_price` is a string in the
    YAML ("0.16") and becomes a Decimal.
    """

    id: int
    name: str | None
    sender: str | None
    status: str | None
    type: str | None
    started_at: datetime | None
    actual_start_at: datetime | None
    finished_at: datetime | None
    created_at: datetime | None
    statistics: dict[str, int]
    total_messages: int | None
    total_phones: int | None
    total_price: Decimal | None
    currency: str | None
    fallback_statistics: dict[str, int] | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_stoppable(self) -> bool:
        return self.status in STOPPABLE_STATUSES

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> CampaignDetail:
        data = _object(data, "A campaign detail")
        fallback = _fallback_sms_statistics(data)
        return cls(
            id=_required_id(data, "A campaign detail"),
            name=_str(data.get("name")),
            sender=_str(data.get("sender")),
            status=_str(data.get("status")),
            type=_str(data.get("type")),
            started_at=_datetime(data.get("started_at"), time_zone),
            actual_start_at=_datetime(data.get("actual_start_at"), time_zone),
            finished_at=_datetime(data.get("finished_at"), time_zone),
            created_at=_datetime(data.get("created_at"), time_zone),
            statistics=_counts(data.get("statistics")),
            total_messages=_int(data.get("total_messages")),
            total_phones=_int(data.get("total_phones")),
            total_price=_decimal(data.get("total_price")),
            currency=_str(data.get("currency")),
            fallback_statistics=_counts(fallback) if fallback is not None else None,
            raw=dict(data),
        )


# --- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message of E9 `GET /api/messages` (YAML MessageApiSchema).

    `price` and `currency` come from `amount {value, currency}`; `value` is a string in the
    YAML ("0.0100000") and becomes a Decimal.
    """

    id: int
    campaign_id: int | None
    reference_id: str | None
    type: str | None
    source: str | None
    text: str | None
    phone: int | None
    validity: int | None
    status: str | None
    price: Decimal | None
    currency: str | None
    sender: str | None
    created_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    country: str | None
    parts: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> Message:
        data = _object(data, "A message")
        amount = _mapping(data.get("amount")) or {}
        return cls(
            id=_required_id(data, "A message"),
            campaign_id=_int(data.get("campaign_id")),
            reference_id=_str(data.get("reference_id")),
            type=_str(data.get("type")),
            source=_str(data.get("source")),
            text=_str(data.get("text")),
            phone=_int(data.get("phone")),
            validity=_int(data.get("validity")),
            status=_str(data.get("status")),
            price=_decimal(amount.get("value")),
            currency=_str(amount.get("currency")),
            sender=_str(data.get("sender")),
            created_at=_datetime(data.get("created_at"), time_zone),
            sent_at=_datetime(data.get("sent_at"), time_zone),
            delivered_at=_datetime(data.get("delivered_at"), time_zone),
            country=_str(data.get("country")),
            parts=_int(data.get("parts")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class MessagePage:
    """One page of E9: `{"data": [message...], "meta": {"page": {total, limit, offset}}}`."""

    items: tuple[Message, ...]
    total: int | None
    limit: int | None
    offset: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> MessagePage:
        items = tuple(Message.from_api(item, time_zone) for item in data_list(data))
        total, limit, offset = _page_meta(data)
        return cls(items=items, total=total, limit=limit, offset=offset)


# --- delivery statuses BSG pushes -------------------------------------------------------------

# Our own bounds on what a pushed status may carry (the YAML gives none but reference_id's 32):
# the longest of MessageStatus's names is 16 characters.
_MAX_STATUS = 30
_MAX_REFERENCE = 32
_MAX_DESCRIPTION = 255


@dataclass(frozen=True)
class StatusCallback:
    """One delivery status BSG POSTs to a send's `callback_url`.

    The YAML documents this payload only for RCS (RcsStatusCallback: id, msisdn, reference,
    status, error, errorDescription, time_in, time_sent, time_dr, price, currency); for SMS it
    documents the `callback_url` field and nothing of what arrives (bsg-api.md, "What nobody
    says"). We read the RCS shape for both, and tolerate what the YAML itself does: `id` is an
    integer in the schema and a string in its sample. A status must say which message it is
    about (`reference` or `id`) and what it is; anything else may be missing.
    """

    message_id: int | None
    reference: str | None
    msisdn: str | None
    status: str
    error: int | None
    error_description: str | None
    time_in: datetime | None
    time_sent: datetime | None
    time_dr: datetime | None
    price: Decimal | None
    currency: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object, time_zone: str) -> StatusCallback:
        data = _object(data, "A status callback")
        status = _str(data.get("status"))
        if not status or len(status) > _MAX_STATUS:
            raise ShapeError(f"A status callback without a usable status: {status!r}")
        message_id = _int(data.get("id"))
        if message_id is not None and not 0 < message_id < 2**63:
            message_id = None
        reference = _str(data.get("reference"))
        if reference is not None and not (0 < len(reference) <= _MAX_REFERENCE):
            reference = None
        if message_id is None and reference is None:
            raise ShapeError("A status callback names no message (neither `id` nor `reference`)")
        msisdn = _str(data.get("msisdn"))
        if msisdn is not None and not (msisdn.isascii() and msisdn.isdigit() and len(msisdn) <= 15):
            msisdn = None
        description = _str(data.get("errorDescription"))
        return cls(
            message_id=message_id,
            reference=reference,
            msisdn=msisdn,
            status=status.strip().lower(),
            error=_int(data.get("error")),
            error_description=description[:_MAX_DESCRIPTION] if description else description,
            time_in=_datetime(data.get("time_in"), time_zone),
            time_sent=_datetime(data.get("time_sent"), time_zone),
            time_dr=_datetime(data.get("time_dr"), time_zone),
            price=_decimal(data.get("price")),
            currency=_str(data.get("currency")),
            raw=dict(data),
        )


# --- account ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceEstimate:
    """E10 `POST /api/campaigns/price`: `{"price": 0.0527088, "currency": "USD"}` (YAML).

    The YAML marks `price` nullable: None means BSG gave no estimate.
    """

    price: Decimal | None
    currency: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> PriceEstimate:
        data = _object(data, "A price estimate")
        if "price" not in data:
            raise ShapeError("A price estimate without `price`")
        return cls(
            price=_decimal(data.get("price")),
            currency=_str(data.get("currency")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Balance:
    """E11 `GET /api/accounts/balance`: balance (may be negative), currency, credit limit."""

    balance: Decimal
    currency: str | None
    credit: Decimal | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> Balance:
        data = _object(data, "A balance")
        balance = _decimal(data.get("balance"))
        if balance is None:
            raise ShapeError(f"A balance without a usable `balance`: {data.get('balance')!r}")
        return cls(
            balance=balance,
            currency=_str(data.get("currency")),
            credit=_decimal(data.get("credit")),
            raw=dict(data),
        )


# --- contact book ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A contact-book list (E12, YAML ContactGroupSchema). `contacts_count` is BSG's `items`."""

    id: int
    name: str | None
    description: str | None
    default: bool | None
    created_at: datetime | None
    contacts_count: int | None
    stop_list_count: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> Group:
        data = _object(data, "A contact list")
        return cls(
            id=_required_id(data, "A contact list"),
            name=_str(data.get("name")),
            description=_str(data.get("description")),
            default=_bool(data.get("default")),
            created_at=_datetime(data.get("created_at"), time_zone),
            contacts_count=_int(data.get("items")),
            stop_list_count=_int(data.get("stop_list_count")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class GroupPage:
    """One page of `GET /api/groups`: `{"data": [list...], "total": n}` (top-level total)."""

    items: tuple[Group, ...]
    total: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> GroupPage:
        items = tuple(Group.from_api(item, time_zone) for item in data_list(data))
        return cls(items=items, total=_int(data.get("total")))


def _field_values(value: object) -> dict[int, str]:
    """Contact field values keyed by field id.

    The YAML's samples send `{"388077": "Zufafa"}`, or `[]` when empty (PHP's empty array); its
    schema says a list of such objects; requests use `[{"id", "value"}]`. All are read.
    """
    values: dict[int, str] = {}
    if isinstance(value, Mapping):
        chunks: list[Any] = [value]
    elif isinstance(value, list):
        chunks = value
    else:
        return values
    for chunk in chunks:
        if not isinstance(chunk, Mapping):
            continue
        if "id" in chunk and "value" in chunk:
            identifier, text = _int(chunk.get("id")), _str(chunk.get("value"))
            if identifier is not None and text is not None:
                values[identifier] = text
            continue
        for key, text in chunk.items():
            identifier, readable = _int(key), _str(text)
            if identifier is not None and readable is not None:
                values[identifier] = readable
    return values


@dataclass(frozen=True)
class Contact:
    """A contact-book contact (E13, YAML ContactSchema); `fields` is keyed by field id."""

    id: int
    phone: int | None
    fields: dict[int, str]
    groups: tuple[Group, ...]
    hlr_status: str | None
    hlr_last_check: datetime | None
    created_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> Contact:
        data = _object(data, "A contact")
        groups: list[Group] = []
        for item in data.get("groups") or []:
            if isinstance(item, Mapping):
                groups.append(Group.from_api(item, time_zone))
            elif (group_id := _int(item)) is not None:
                # A bare list id, as requests send them.
                groups.append(
                    Group(
                        id=group_id,
                        name=None,
                        description=None,
                        default=None,
                        created_at=None,
                        contacts_count=None,
                        stop_list_count=None,
                    )
                )
        return cls(
            id=_required_id(data, "A contact"),
            phone=_int(data.get("phone")),
            fields=_field_values(data.get("fields")),
            groups=tuple(groups),
            hlr_status=_str(data.get("hlr_status")),
            hlr_last_check=_datetime(data.get("hlr_last_check"), time_zone),
            created_at=_datetime(data.get("created_at"), time_zone),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ContactPage:
    """One page of `GET /api/contacts`: `{"data": [contact...], "total": n}`."""

    items: tuple[Contact, ...]
    total: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> ContactPage:
        items = tuple(Contact.from_api(item, time_zone) for item in data_list(data))
        return cls(items=items, total=_int(data.get("total")))


@dataclass(frozen=True)
class ContactField:
    """A custom contact field (E13); its `id` is what a `{field_id}` placeholder names."""

    id: int
    name: str | None
    type: str | None
    description: str | None
    is_visible: bool | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], time_zone: str) -> ContactField:
        data = _object(data, "A contact field")
        return cls(
            id=_required_id(data, "A contact field"),
            name=_str(data.get("name")),
            type=_str(data.get("type")),
            description=_str(data.get("description")),
            is_visible=_bool(data.get("is_visible")),
            raw=dict(data),
        )
