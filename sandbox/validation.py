"""Request checks for the sandbox's BSG endpoints, built on bsg.rules and bsg.smstext.

Every rule about a field's value comes from those two modules (the same ones the client's
callers and the forms use), so the sandbox cannot be more or less lenient than the app. This
module only walks the JSON, names the failing field as BSG does and collects the messages.

BSG's 422 body: {"message": "The given data was invalid.", "errors": {"<field>": ["..."]}}, with
the field's path flattened by dropping brackets and dots: messages[0].phone -> "messages0phone"
(YAML, POST /api/campaigns/price). Nested objects flatten the same way:
alternative_channel.sms.text -> "alternative_channelsmstext".
"""

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bsg import rules, smstext

# Every limit lives in bsg.rules (the app's forms use the same names).
from bsg.rules import (
    DESCRIPTION,
    FIELD_NAME,
    FIELD_TYPES,
    GROUP_NAME,
    MAX_ATTACH_CONTACTS,
    MAX_ATTACH_GROUPS,
    MAX_CALLBACK_URL,
    MAX_CONTACT_GROUPS,
    MAX_GROUPS_PER_CAMPAIGN,
    MAX_POSTBACK_DATA,
    MAX_RCS_CARD_TEXT,
    MAX_RCS_CARDS,
    MAX_RCS_PLAIN_TEXT,
    MAX_RCS_SUGGESTIONS,
    MAX_RCS_TITLE,
    MAX_SUGGESTION_TEXT,
    MAX_URL,
    MAX_WINDOW_MONTHS,
    VALIDITY_SECONDS,
    utf16_length,
)

INVALID = "The given data was invalid."
BLANK = "This value should not be blank."
CHOICE = "The value you selected is not a valid choice."
NOT_DATETIME = "This value is not a valid datetime. Use YYYY-MM-DD hh:mm:ss."
GROUP_NOT_FOUND = "Contact group is not found"
CONTACT_NOT_FOUND = "Invalid contact id"
FIELD_NOT_FOUND = "Contact field is not found"
DUPLICATE_IN_REQUEST = "This reference_id is used by another message of this request."
DUPLICATE_IN_ACCOUNT = "This reference_id is already used by a message of this account."


_PLACEHOLDER = re.compile(r"\{(\d+)\}")


class Refusal(Exception):
    """A request BSG refuses: the HTTP status and the body it answers."""

    def __init__(self, body: dict[str, object], status: int = 422) -> None:
        super().__init__(body.get("message"))
        self.body = body
        self.status = status


def refusal(message: str, errors: object = None, status: int = 422) -> Refusal:
    """A refusal with BSG's plain message, e.g. "Invalid campaign status" (errors: [])."""
    return Refusal({"message": message, "errors": [] if errors is None else errors}, status)


def key(*path: object) -> str:
    """BSG's flattened field name: key("messages", 3, "reference_id") == "messages3reference_id"."""
    return "".join(str(part) for part in path)


class Errors:
    """Collects field errors; ``raise_if_any`` raises BSG's 422 "The given data was invalid."."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def __contains__(self, field: str) -> bool:
        return field in self.fields

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Refusal({"message": INVALID, "errors": self.fields})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type(kind: str) -> str:
    return f"This value should be of type {kind}."


def _too_long(limit: int) -> str:
    return f"This value is too long. It should have {limit} characters or less."


def _too_short(limit: int) -> str:
    return f"This value is too short. It should have {limit} character{'s' * (limit != 1)} or more."


def _count_max(limit: int) -> str:
    return f"This collection should contain {limit} elements or less."


def _count_min(limit: int) -> str:
    return f"This collection should contain {limit} element{'s' * (limit != 1)} or more."


def require_object(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise Refusal({"message": INVALID, "errors": ["The request body must be a JSON object."]})
    return body


# --- field readers: each adds its errors and returns the clean value (None when invalid) ---------


def _string(
    errors: Errors,
    body: Mapping[str, object],
    name: str,
    field: str,
    *,
    required: bool = True,
    bounds: tuple[int, int] | None = None,
) -> str | None:
    value = body.get(name)
    if value is None or (required and value == ""):
        if required:
            errors.add(field, BLANK)
        return None
    if not isinstance(value, str):
        errors.add(field, _type("string"))
        return None
    if bounds is not None:
        low, high = bounds
        if len(value) < low:
            errors.add(field, _too_short(low))
            return None
        if len(value) > high:
            errors.add(field, _too_long(high))
            return None
    return value


def _boolean(errors: Errors, body: Mapping[str, object], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(name, _type("bool"))
        return default
    return value


def _sender(errors: Errors, body: Mapping[str, object], field: str, name: str = "sender") -> str:
    value = _string(errors, body, name, field)
    if value is None:
        return ""
    problem = rules.sender_error(value)
    if problem:
        errors.add(field, problem)
    return value


def _sms_text(errors: Errors, body: Mapping[str, object], field: str) -> str:
    value = body.get("text")
    if value is None:
        errors.add(field, BLANK)
        return ""
    if not isinstance(value, str):
        errors.add(field, _type("string"))
        return ""
    problem = smstext.limit_error(value)
    if problem:
        errors.add(field, problem)
    return value


def _phone(errors: Errors, value: object, field: str) -> int | None:
    if value is None or value == "":
        errors.add(field, BLANK)
        return None
    problem = rules.phone_error(value)
    if problem:
        errors.add(field, problem)
        return None
    return int(value)  # type: ignore[call-overload]


def _reference(errors: Errors, value: object, field: str) -> str | None:
    if value is None:
        return None
    problem = rules.reference_id_error(value)
    if problem:
        errors.add(field, problem)
        return None
    return value  # type: ignore[return-value]


def _callback_url(errors: Errors, body: Mapping[str, object]) -> None:
    _string(
        errors, body, "callback_url", "callback_url", required=False, bounds=(0, MAX_CALLBACK_URL)
    )


def _id_list(
    errors: Errors,
    body: Mapping[str, object],
    name: str,
    *,
    maximum: int,
    known: Callable[[int], bool] | None,
    not_found: str,
    required: bool = True,
) -> list[int]:
    value = body.get(name)
    if value is None:
        if required:
            errors.add(name, BLANK)
        return []
    if not isinstance(value, list):
        errors.add(name, _type("array"))
        return []
    if not value:
        if required:
            errors.add(name, _count_min(1))
        return []
    if len(value) > maximum:
        errors.add(name, _count_max(maximum))
        return []
    # Repeated ids count once (a list named twice sends once to its contacts).
    ids: dict[int, None] = {}
    for index, item in enumerate(value):
        if not _is_int(item):
            errors.add(key(name, index), _type("integer"))
        elif known is not None and not known(item):
            errors.add(key(name, index), not_found)
        else:
            ids[item] = None
    return list(ids)


# --- shared campaign options ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    validity: int  # hours
    tariff_code: int
    start_at: datetime | None  # aware; None = now


def _delivery(
    errors: Errors,
    body: Mapping[str, object],
    now: datetime,
    time_zone: str,
    *,
    rcs: bool = False,
) -> Delivery:
    validity = body.get("validity")
    if validity is None:
        validity = 72  # vendor pages: "By default 72 hours"
    else:
        problem = rules.validity_error(validity)
        if problem:
            errors.add("validity", problem)
            validity = 72

    tariff = body.get("tariff_code")
    if tariff is None:
        tariff = 0  # vendor pages: "The default is 0"
    else:
        # The RCS page types tariff_code as a string, the YAML as an integer: take both.
        if rcs and isinstance(tariff, str) and tariff.isdigit():
            tariff = int(tariff)
        problem = rules.tariff_error(tariff)
        if problem:
            errors.add("tariff_code", problem)
            tariff = 0

    start_at = None
    raw = body.get("start_at")
    if raw is not None and raw != "":
        if not isinstance(raw, str):
            errors.add("start_at", _type("string"))
        else:
            start_at = rules.parse_bsg_datetime(raw, time_zone)
            if start_at is None:
                errors.add("start_at", NOT_DATETIME)
            else:
                # SMS: at most 30 days ahead; RCS: until 23:59:59 of the 30th day counting
                # today (vendor page rcs-send-groups.txt). bsg.rules holds both readings.
                problem = (
                    rules.rcs_start_at_error(start_at, now, time_zone)
                    if rcs
                    else rules.start_at_error(start_at, now)
                )
                if problem:
                    errors.add("start_at", problem)
                    start_at = None
    return Delivery(validity=validity, tariff_code=tariff, start_at=start_at)  # type: ignore[arg-type]


# --- SMS campaigns (E1, E2, E3) and price (E10) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    phone: int
    reference_id: str | None = None
    text: str | None = None  # None = the campaign's text
    sender: str | None = None  # None = the campaign's sender


@dataclass(frozen=True)
class SmsCampaign:
    """E1/E2/E3 after validation: one of ``recipients`` (E1, E3) or ``groups`` (E2)."""

    sender: str
    text: str
    delivery: Delivery
    recipients: list[Recipient]
    groups: list[int]


def _phones(
    errors: Errors,
    body: Mapping[str, object],
    *,
    name: str,
    limit: int,
    unique_numbers: bool,
) -> list[Recipient]:
    """E1/E14 ``phones``: [{number, reference_id?}], at most ``limit``."""
    value = body.get(name)
    if value is None:
        errors.add(name, BLANK)
        return []
    if not isinstance(value, list):
        errors.add(name, _type("array"))
        return []
    if not value:
        errors.add(name, _count_min(1))
        return []
    if len(value) > limit:
        # One message for the list rather than 10,001 item checks nobody reads.
        errors.add(name, _count_max(limit))
        return []
    recipients: list[Recipient] = []
    references: set[str] = set()
    seen: set[tuple[int, str | None]] = set()
    numbers: set[int] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            errors.add(key(name, index), _type("object"))
            continue
        phone = _phone(errors, item.get("number"), key(name, index, "number"))
        reference = _reference(errors, item.get("reference_id"), key(name, index, "reference_id"))
        if reference is not None:
            if reference in references:
                errors.add(key(name, index, "reference_id"), DUPLICATE_IN_REQUEST)
            references.add(reference)
        if phone is None:
            continue
        if unique_numbers:
            # YAML, Campaign RCS: "the list of recipients' phone numbers must be unique".
            if phone in numbers:
                errors.add(key(name, index, "number"), "This phone number is already in the list.")
            numbers.add(phone)
        elif (phone, reference) in seen and name not in errors:
            # YAML SmsSendRequest.phones: uniqueItems (the same item twice).
            errors.add(name, "This collection should contain only unique elements.")
        seen.add((phone, reference))
        recipients.append(Recipient(phone, reference))
    return recipients


def sms_send(body: object, *, now: datetime, time_zone: str) -> SmsCampaign:
    """E1 POST /api/campaigns/sms/send."""
    data = require_object(body)
    errors = Errors()
    sender = _sender(errors, data, "sender")
    text = _sms_text(errors, data, "text")
    recipients = _phones(
        errors, data, name="phones", limit=rules.MAX_SMS_RECIPIENTS, unique_numbers=False
    )
    delivery = _delivery(errors, data, now, time_zone)
    _callback_url(errors, data)
    errors.raise_if_any()
    return SmsCampaign(sender, text, delivery, recipients, [])


def sms_send_groups(
    body: object, *, now: datetime, time_zone: str, group_exists: Callable[[int], bool]
) -> SmsCampaign:
    """E2 POST /api/campaigns/sms/send-groups (recipients are resolved from the lists later)."""
    data = require_object(body)
    errors = Errors()
    sender = _sender(errors, data, "sender")
    text = _sms_text(errors, data, "text")
    groups = _id_list(
        errors,
        data,
        "groups",
        maximum=MAX_GROUPS_PER_CAMPAIGN,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
    )
    delivery = _delivery(errors, data, now, time_zone)
    _callback_url(errors, data)
    errors.raise_if_any()
    return SmsCampaign(sender, text, delivery, [], groups)


def sms_send_individual(body: object, *, now: datetime, time_zone: str) -> SmsCampaign:
    """E3 POST /api/campaigns/sms/send-individual: a text and sender per message."""
    data = require_object(body)
    errors = Errors()
    recipients: list[Recipient] = []
    value = data.get("messages")
    if value is None:
        errors.add("messages", BLANK)
    elif not isinstance(value, list):
        errors.add("messages", _type("array"))
    elif not value:
        errors.add("messages", _count_min(1))
    elif len(value) > rules.MAX_SMS_RECIPIENTS:
        errors.add("messages", _count_max(rules.MAX_SMS_RECIPIENTS))
    else:
        references: set[str] = set()
        seen: set[tuple[object, ...]] = set()
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                errors.add(key("messages", index), _type("object"))
                continue
            phone = _phone(errors, item.get("phone"), key("messages", index, "phone"))
            text = _sms_text(errors, item, key("messages", index, "text"))
            sender = _sender(errors, item, key("messages", index, "sender"))
            field = key("messages", index, "reference_id")
            reference = _reference(errors, item.get("reference_id"), field)
            if reference is not None:
                if reference in references:
                    errors.add(field, DUPLICATE_IN_REQUEST)
                references.add(reference)
            if phone is None:
                continue
            identity = (phone, text, sender, reference)
            if identity in seen and "messages" not in errors:
                # YAML SmsSendIndividualRequest.messages: uniqueItems.
                errors.add("messages", "This collection should contain only unique elements.")
            seen.add(identity)
            recipients.append(Recipient(phone, reference, text, sender))
    delivery = _delivery(errors, data, now, time_zone)
    _callback_url(errors, data)
    errors.raise_if_any()
    first = recipients[0]
    return SmsCampaign(first.sender or "", first.text or "", delivery, recipients, [])


@dataclass(frozen=True)
class PriceRequest:
    sender: str
    text: str
    tariff_code: int
    phones: list[int]
    groups: list[int]


def campaign_price(body: object, *, group_exists: Callable[[int], bool]) -> PriceRequest:
    """E10 POST /api/campaigns/price: sender, text, and ``groups`` or ``messages[{phone}]``."""
    data = require_object(body)
    errors = Errors()
    sender = _sender(errors, data, "sender")
    text = _sms_text(errors, data, "text")
    tariff = data.get("tariff_code", 0)
    if tariff is None:
        tariff = 0
    problem = rules.tariff_error(tariff)
    if problem:
        errors.add("tariff_code", problem)
    groups = _id_list(
        errors,
        data,
        "groups",
        maximum=MAX_GROUPS_PER_CAMPAIGN,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
        required=False,
    )
    phones: list[int] = []
    messages = data.get("messages")
    if messages is not None:
        if not isinstance(messages, list):
            errors.add("messages", _type("array"))
        else:
            for index, item in enumerate(messages):
                if not isinstance(item, dict):
                    errors.add(key("messages", index), _type("object"))
                    continue
                phone = _phone(errors, item.get("phone"), key("messages", index, "phone"))
                if phone is not None:
                    phones.append(phone)
    if not groups and not phones and not errors:
        errors.add("messages", "Give the recipients: messages[{phone}] or groups.")
    errors.raise_if_any()
    return PriceRequest(sender, text, tariff, phones, groups)  # type: ignore[arg-type]


# --- RCS campaigns (E6, E14) ---------------------------------------------------------------------


@dataclass(frozen=True)
class SmsFallback:
    text: str
    sender: str
    validity: int


@dataclass(frozen=True)
class RcsCampaign:
    sender: str
    options: dict[str, object]
    text: str | None  # what E9 shows as the message text: options.text or the first card's
    delivery: Delivery
    recipients: list[Recipient]
    groups: list[int]
    fallback: SmsFallback | None
    add_to_contact_book: bool


def _http_url(errors: Errors, holder: Mapping[str, object], field: str) -> None:
    url = _string(errors, holder, "url", field, bounds=(1, MAX_URL))
    if url is not None and not url.lower().startswith(("http://", "https://")):
        errors.add(field, "The link must begin with http:// or https://.")


def _suggestion(errors: Errors, item: object, prefix: str) -> None:
    if not isinstance(item, dict):
        errors.add(prefix, _type("object"))
        return
    _string(errors, item, "text", key(prefix, "text"), bounds=(1, MAX_SUGGESTION_TEXT))
    _string(
        errors,
        item,
        "postback_data",
        key(prefix, "postback_data"),
        required=False,
        bounds=(0, MAX_POSTBACK_DATA),
    )
    kind = item.get("type")
    # The YAML requires type (link/call); the vendor page's samples omit it: accept both,
    # inferring the kind from url/phone when type is absent (bsg-api.md "Disagreements").
    if kind is None:
        if "url" in item:
            kind = "link"
        elif "phone" in item:
            kind = "call"
        else:
            errors.add(prefix, "A suggestion needs a url (link) or a phone (call).")
            return
    if kind == "link":
        _http_url(errors, item, key(prefix, "url"))
    elif kind == "call":
        phone = item.get("phone")
        field = key(prefix, "phone")
        if phone is None or phone == "":
            errors.add(field, BLANK)
        else:
            problem = rules.phone_error(phone)
            if problem:
                errors.add(field, problem)
    else:
        errors.add(key(prefix, "type"), CHOICE)


def _card(errors: Errors, card: object, prefix: str) -> None:
    if not isinstance(card, dict):
        errors.add(prefix, _type("object"))
        return
    _string(errors, card, "title", key(prefix, "title"), required=False, bounds=(0, MAX_RCS_TITLE))
    text = card.get("text")
    if text is not None:
        if not isinstance(text, str):
            errors.add(key(prefix, "text"), _type("string"))
        elif not text:
            errors.add(key(prefix, "text"), _too_short(1))
        elif utf16_length(text) > MAX_RCS_CARD_TEXT:
            errors.add(key(prefix, "text"), _too_long(MAX_RCS_CARD_TEXT))
    media = card.get("media")
    if media is not None:
        if not isinstance(media, dict):
            errors.add(key(prefix, "media"), _type("object"))
        else:
            _http_url(errors, media, key(prefix, "mediaurl"))
    if text is None and media is None:
        # YAML Card: 'Either "media" or "text" is required.'
        errors.add(prefix, 'Either "media" or "text" is required.')
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if not isinstance(suggestions, list):
            errors.add(key(prefix, "suggestions"), _type("array"))
        elif len(suggestions) > MAX_RCS_SUGGESTIONS:
            errors.add(key(prefix, "suggestions"), _count_max(MAX_RCS_SUGGESTIONS))
        else:
            for index, item in enumerate(suggestions):
                _suggestion(errors, item, key(prefix, "suggestions", index))


def _rcs_options(
    errors: Errors, data: Mapping[str, object]
) -> tuple[dict[str, object], str | None]:
    options = data.get("options")
    if options is None:
        errors.add("options", BLANK)
        return {}, None
    if not isinstance(options, dict):
        errors.add("options", _type("object"))
        return {}, None
    cards = options.get("cards")
    text = options.get("text")
    if cards is None and text is None:
        # YAML Options: "Either cards or text must be provided".
        errors.add("options", "Either cards or text must be provided.")
        return options, None
    shown: str | None = None
    if text is not None:
        if not isinstance(text, str):
            errors.add("optionstext", _type("string"))
        elif not text:
            errors.add("optionstext", _too_short(1))
        elif utf16_length(text) > MAX_RCS_PLAIN_TEXT:
            errors.add("optionstext", _too_long(MAX_RCS_PLAIN_TEXT))
        else:
            shown = text
    if cards is not None:
        if not isinstance(cards, list):
            errors.add("optionscards", _type("array"))
        elif not cards:
            errors.add("optionscards", _count_min(1))
        elif len(cards) > MAX_RCS_CARDS:
            errors.add("optionscards", _count_max(MAX_RCS_CARDS))
        else:
            for index, card in enumerate(cards):
                _card(errors, card, key("optionscards", index))
            first = cards[0]
            if shown is None and isinstance(first, dict) and isinstance(first.get("text"), str):
                shown = first["text"]
    return options, shown


def _sms_fallback(errors: Errors, data: Mapping[str, object]) -> SmsFallback | None:
    channel = data.get("alternative_channel")
    if channel is None:
        return None
    if not isinstance(channel, dict):
        errors.add("alternative_channel", _type("object"))
        return None
    sms = channel.get("sms")
    if sms is None:
        return None
    prefix = "alternative_channelsms"
    if not isinstance(sms, dict):
        errors.add(prefix, _type("object"))
        return None
    # The fallback is an SMS: the same sender and text rules as E1-E3.
    text = _sms_text(errors, sms, key(prefix, "text"))
    sender = _sender(errors, sms, key(prefix, "sender"))
    validity = sms.get("validity")
    if validity is None:
        validity = 72
    else:
        problem = rules.validity_error(validity)
        if problem:
            errors.add(key(prefix, "validity"), problem)
    _validity_seconds(errors, sms, key(prefix, "validity_seconds"))
    return SmsFallback(text=text, sender=sender, validity=validity)  # type: ignore[arg-type]


def _validity_seconds(errors: Errors, holder: Mapping[str, object], field: str) -> None:
    value = holder.get("validity_seconds")
    if value is None:
        return
    low, high = VALIDITY_SECONDS
    if not _is_int(value):
        errors.add(field, _type("integer"))
    elif not low <= value <= high:
        errors.add(field, f"This value should be between {low} and {high}.")


def _rcs_common(
    errors: Errors, data: Mapping[str, object], now: datetime, time_zone: str
) -> tuple[str, dict[str, object], str | None, Delivery, SmsFallback | None, bool]:
    sender = _string(errors, data, "sender", "sender")
    if sender is not None:
        problem = rules.rcs_agent_error(sender)
        if problem:
            errors.add("sender", problem)
    options, shown = _rcs_options(errors, data)
    delivery = _delivery(errors, data, now, time_zone, rcs=True)
    _validity_seconds(errors, data, "validity_seconds")
    fallback = _sms_fallback(errors, data)
    add_to_book = _boolean(errors, data, "add_to_contact_book", True)
    _boolean(errors, data, "check_stop_list", True)
    return sender or "", options, shown, delivery, fallback, add_to_book


def rcs_send(body: object, *, now: datetime, time_zone: str) -> RcsCampaign:
    """E14 POST /api/campaigns/rcs/send: up to 5,000 unique phones (YAML SendRcsCampaign)."""
    data = require_object(body)
    errors = Errors()
    sender, options, shown, delivery, fallback, add_to_book = _rcs_common(
        errors, data, now, time_zone
    )
    recipients = _phones(
        errors, data, name="phones", limit=rules.MAX_RCS_RECIPIENTS, unique_numbers=True
    )
    errors.raise_if_any()
    return RcsCampaign(sender, options, shown, delivery, recipients, [], fallback, add_to_book)


def rcs_send_groups(
    body: object, *, now: datetime, time_zone: str, group_exists: Callable[[int], bool]
) -> RcsCampaign:
    """E6 POST /api/campaigns/rcs/send-groups (recipients are resolved from the lists later)."""
    data = require_object(body)
    errors = Errors()
    sender, options, shown, delivery, fallback, add_to_book = _rcs_common(
        errors, data, now, time_zone
    )
    groups = _id_list(
        errors,
        data,
        "groups",
        maximum=MAX_GROUPS_PER_CAMPAIGN,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
    )
    errors.raise_if_any()
    return RcsCampaign(sender, options, shown, delivery, [], groups, fallback, add_to_book)


def personalise(text: str, values: Mapping[int, str], field_exists: Callable[[int], bool]) -> str:
    """Fills {field_id} placeholders from a contact's field values (vendor page
    sms-send-groups.txt). The page says nothing of gaps; the sandbox writes "" for a field the
    contact has no value for, and leaves a placeholder naming no field at all as it is."""
    if "{" not in text:
        return text

    def fill(match: re.Match[str]) -> str:
        field_id = int(match.group(1))
        if not field_exists(field_id):
            return match.group(0)
        return values.get(field_id, "")

    return _PLACEHOLDER.sub(fill, text)


# --- contact book (E12, E13) ---------------------------------------------------------------------


@dataclass(frozen=True)
class GroupInput:
    name: str
    description: str | None
    default: bool


def group(body: object) -> GroupInput:
    data = require_object(body)
    errors = Errors()
    name = _string(errors, data, "name", "name", bounds=GROUP_NAME)
    description = _string(
        errors, data, "description", "description", required=False, bounds=DESCRIPTION
    )
    default = data.get("default")
    if default is not None and not isinstance(default, bool):
        errors.add("default", _type("bool"))
    errors.raise_if_any()
    return GroupInput(name or "", description, bool(default))


@dataclass(frozen=True)
class ContactInput:
    phone: int
    fields: dict[int, str]
    groups: list[int]


def contact(
    body: object,
    *,
    field_exists: Callable[[int], bool],
    group_exists: Callable[[int], bool],
) -> ContactInput:
    data = require_object(body)
    errors = Errors()
    phone = _phone(errors, data.get("phone"), "phone")
    values: dict[int, str] = {}
    raw_fields = data.get("fields")
    if raw_fields is not None:
        if not isinstance(raw_fields, list):
            errors.add("fields", _type("array"))
        else:
            for index, item in enumerate(raw_fields):
                if not isinstance(item, dict):
                    errors.add(key("fields", index), _type("object"))
                    continue
                field_id = item.get("id")
                if not _is_int(field_id):
                    errors.add(key("fields", index, "id"), _type("integer"))
                elif not field_exists(field_id):  # type: ignore[arg-type]
                    errors.add(key("fields", index, "id"), FIELD_NOT_FOUND)
                value = item.get("value")
                if value is not None and not isinstance(value, str | int | float):
                    errors.add(key("fields", index, "value"), _type("string"))
                elif _is_int(field_id):
                    values[field_id] = "" if value is None else str(value)  # type: ignore[index]
    groups = _id_list(
        errors,
        data,
        "groups",
        maximum=MAX_CONTACT_GROUPS,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
        required=False,
    )
    errors.raise_if_any()
    return ContactInput(phone or 0, values, groups)


@dataclass(frozen=True)
class FieldInput:
    name: str | None
    type: str | None
    description: str | None
    is_visible: bool | None


def contact_field(body: object, *, partial: bool = False) -> FieldInput:
    """POST /api/contacts/fields (name and type required) or PATCH (any of name, description,
    is_visible)."""
    data = require_object(body)
    errors = Errors()
    name = _string(errors, data, "name", "name", required=not partial, bounds=FIELD_NAME)
    kind = None
    if not partial:
        kind = _string(errors, data, "type", "type")
        if kind is not None and kind not in FIELD_TYPES:
            errors.add("type", CHOICE)
    description = _string(
        errors, data, "description", "description", required=False, bounds=DESCRIPTION
    )
    visible = data.get("is_visible")
    if visible is not None and not isinstance(visible, bool):
        errors.add("is_visible", _type("bool"))
    errors.raise_if_any()
    return FieldInput(name, kind, description, visible)  # type: ignore[arg-type]


def field_ids(body: object, *, field_exists: Callable[[int], bool]) -> list[int]:
    """POST /api/contacts/fields/delete {ids: 1..30} (YAML PostContactsFieldsDeleteRequest)."""
    data = require_object(body)
    errors = Errors()
    ids = _id_list(errors, data, "ids", maximum=30, known=field_exists, not_found=FIELD_NOT_FOUND)
    errors.raise_if_any()
    return ids


def attach(
    body: object,
    *,
    contact_exists: Callable[[int], bool],
    group_exists: Callable[[int], bool],
) -> tuple[list[int], list[int]]:
    """POST /api/groups/attach and /detach: contacts (<= 200) x groups (<= 100) per call."""
    data = require_object(body)
    errors = Errors()
    contacts = _id_list(
        errors,
        data,
        "contacts",
        maximum=MAX_ATTACH_CONTACTS,
        known=contact_exists,
        not_found=CONTACT_NOT_FOUND,
    )
    groups = _id_list(
        errors,
        data,
        "groups",
        maximum=MAX_ATTACH_GROUPS,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
    )
    errors.raise_if_any()
    return contacts, groups


# --- query strings -------------------------------------------------------------------------------


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
        errors.add(field, _type("integer"))
        return default
    if value < low or (high is not None and value > high):
        if high is None:
            errors.add(field, f"This value should be greater than or equal to {low}.")
        else:
            errors.add(field, f"This value should be between {low} and {high}.")
        return default
    return value


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def page(
    errors: Errors, args: Mapping[str, str], *, default: int, low: int, high: int = 500
) -> Page:
    """page[offset] >= 0 and page[limit] within the YAML's bounds for the endpoint. A limit out
    of bounds is refused (422 naming "pagelimit") rather than clamped: the YAML states the
    bounds as a schema, which BSG's validator enforces, and a refusal shows a caller's bug."""
    offset = _query_int(errors, args, "page[offset]", default=0, low=0)
    limit = _query_int(errors, args, "page[limit]", default=default, low=low, high=high)
    return Page(offset, limit)


def _query_datetime(
    errors: Errors, args: Mapping[str, str], name: str, time_zone: str
) -> datetime | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    moment = rules.parse_bsg_datetime(raw, time_zone)
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
    elif end > now + timedelta(days=rules.MAX_SCHEDULE_DAYS):
        # "It is possible to specify a future date: the valid value is 30 days ahead".
        errors.add("filterto", f"The end may be at most {rules.MAX_SCHEDULE_DAYS} days ahead.")
    earliest = months_before(end, MAX_WINDOW_MONTHS, time_zone)
    if start is None:
        start = earliest  # "filter[from] ... default filter[to] -3 month"
    elif start > end:
        errors.add("filterfrom", "The start of the period must not be after its end.")
    elif start < earliest:
        errors.add("filterfrom", f"The period may span at most {MAX_WINDOW_MONTHS} months.")
    # YAML: page[limit] 30..500, default 50.
    paging = page(errors, args, default=50, low=30)
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
    if value is not None and len(value) > 255:
        errors.add("searchvalue", _too_long(255))
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
        problem = rules.reference_id_error(reference)
        if problem:
            errors.add("filterreference_id", problem)
    start = _query_datetime(errors, args, "filter[from]", time_zone)
    end = _query_datetime(errors, args, "filter[to]", time_zone)
    # YAML: page[limit] 15..500, default 50.
    paging = page(errors, args, default=50, low=15)
    sort = args.get("sort") or "id"
    if sort not in MESSAGE_SORTS:
        errors.add("sort", CHOICE)
    way = args.get("way") or "asc"
    if way not in ("asc", "desc"):
        errors.add("way", CHOICE)
    errors.raise_if_any()
    return MessageQuery(message_id, campaign_id, reference, start, end, paging, sort, way)


def book_page(args: Mapping[str, str], *, default: int) -> Page:
    """GET /api/groups (default 50) and /api/contacts (default 20): page[limit] 15..500 (YAML)."""
    errors = Errors()
    paging = page(errors, args, default=default, low=15)
    errors.raise_if_any()
    return paging
