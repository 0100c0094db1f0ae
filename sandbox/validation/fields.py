"""What every sandbox request check shares: BSG's refusal, the field readers, the delivery options.

BSG's 422 body: {"message": "The given data was invalid.", "errors": {"<field>": ["..."]}}, with
the field's path flattened by dropping brackets and dots: messages[0].phone -> "messages0phone"
(YAML, POST /api/campaigns/price). Nested objects flatten the same way:
alternative_channel.sms.text -> "alternative_channelsmstext".

Each ``read_*`` function adds its errors to an ``Errors`` and returns the clean value (None or a
default when invalid), so one request reports every bad field at once, as BSG does. The limits
and the value rules are the sandbox's own (``sandbox.vendor_rules``, ``sandbox.sms_segments``).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sandbox.sms_segments import text_problem
from sandbox.vendor_rules import (
    BLANK,
    DEFAULT_TARIFF_CODE,
    DEFAULT_VALIDITY_HOURS,
    MAX_CALLBACK_URL,
    NOT_DATETIME,
    PHONE_RANGE,
    VALIDITY_SECONDS,
    between,
    count_max,
    count_min,
    is_int,
    parse_datetime,
    phone_problem,
    rcs_start_problem,
    reference_id_problem,
    sender_problem,
    sms_start_problem,
    tariff_problem,
    too_long,
    too_short,
    type_message,
    validity_problem,
)

INVALID = "The given data was invalid."
GROUP_NOT_FOUND = "Contact group is not found"
CONTACT_NOT_FOUND = "Invalid contact id"
FIELD_NOT_FOUND = "Contact field is not found"
DUPLICATE_IN_REQUEST = "This reference_id is used by another message of this request."
DUPLICATE_IN_ACCOUNT = "This reference_id is already used by a message of this account."


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


def require_object(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise Refusal({"message": INVALID, "errors": ["The request body must be a JSON object."]})
    return body


# --- field readers: each adds its errors and returns the clean value (None when invalid) ---------


def read_string(
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
        errors.add(field, type_message("string"))
        return None
    if bounds is not None:
        low, high = bounds
        if len(value) < low:
            errors.add(field, too_short(low))
            return None
        if len(value) > high:
            errors.add(field, too_long(high))
            return None
    return value


def read_boolean(
    errors: Errors, body: Mapping[str, object], name: str, default: bool, field: str | None = None
) -> bool:
    """`name` of `body` as a JSON boolean; `field` is its error key when nested."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(field or name, type_message("bool"))
        return default
    return value


def read_sender(
    errors: Errors, body: Mapping[str, object], field: str, name: str = "sender"
) -> str:
    value = read_string(errors, body, name, field)
    if value is None:
        return ""
    problem = sender_problem(value)
    if problem:
        errors.add(field, problem)
    return value


def read_sms_text(errors: Errors, body: Mapping[str, object], field: str) -> str:
    value = body.get("text")
    if value is None:
        errors.add(field, BLANK)
        return ""
    if not isinstance(value, str):
        errors.add(field, type_message("string"))
        return ""
    problem = text_problem(value)
    if problem:
        errors.add(field, problem)
    return value


def read_array(
    errors: Errors, value: object, name: str, *, most: int, required: bool = True
) -> list | None:
    """A JSON array of 1 to `most` items, or None after saying what is wrong with it (an absent
    or empty array is an error only when `required`). One message for an array over `most`
    rather than 10,001 item checks nobody reads."""
    if value is None:
        if required:
            errors.add(name, BLANK)
        return None
    if not isinstance(value, list):
        errors.add(name, type_message("array"))
        return None
    if not value:
        if required:
            errors.add(name, count_min(1))
        return None
    if len(value) > most:
        errors.add(name, count_max(most))
        return None
    return value


def read_phone(errors: Errors, value: object, field: str) -> int | None:
    if value is None or value == "":
        errors.add(field, BLANK)
        return None
    problem = phone_problem(value)
    if problem:
        errors.add(field, problem)
        return None
    return int(value)  # type: ignore[call-overload]


def read_reference(errors: Errors, value: object, field: str) -> str | None:
    if value is None:
        return None
    problem = reference_id_problem(value)
    if problem:
        errors.add(field, problem)
        return None
    return value  # type: ignore[return-value]


def read_callback_url(errors: Errors, body: Mapping[str, object]) -> str | None:
    """The URL BSG pushes the messages' statuses to, or None ("" as absent: the YAML's samples
    send ``"callback_url": ""``)."""
    return (
        read_string(
            errors,
            body,
            "callback_url",
            "callback_url",
            required=False,
            bounds=(0, MAX_CALLBACK_URL),
        )
        or None
    )


def read_id_list(
    errors: Errors,
    body: Mapping[str, object],
    name: str,
    *,
    maximum: int,
    known: Callable[[int], bool] | None,
    not_found: str,
    required: bool = True,
) -> list[int]:
    value = read_array(errors, body.get(name), name, most=maximum, required=required)
    if value is None:
        return []
    # Repeated ids count once (a list named twice sends once to its contacts).
    ids: dict[int, None] = {}
    for index, item in enumerate(value):
        if not is_int(item):
            errors.add(key(name, index), type_message("integer"))
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


def read_delivery(
    errors: Errors,
    body: Mapping[str, object],
    now: datetime,
    time_zone: str,
    *,
    rcs: bool = False,
) -> Delivery:
    validity = body.get("validity")
    if validity is None:
        validity = DEFAULT_VALIDITY_HOURS
    else:
        problem = validity_problem(validity)
        if problem:
            errors.add("validity", problem)
            validity = DEFAULT_VALIDITY_HOURS

    tariff = body.get("tariff_code")
    if tariff is None:
        tariff = DEFAULT_TARIFF_CODE
    else:
        # The RCS page types tariff_code as a string, the YAML as an integer: take both.
        if rcs and isinstance(tariff, str) and tariff.isdigit():
            tariff = int(tariff)
        problem = tariff_problem(tariff)
        if problem:
            errors.add("tariff_code", problem)
            tariff = DEFAULT_TARIFF_CODE

    start_at = None
    raw = body.get("start_at")
    if raw is not None and raw != "":
        if not isinstance(raw, str):
            errors.add("start_at", type_message("string"))
        else:
            # Only "yyyy-mm-dd hh:mm:ss": 2025-01-25T09:00:00Z is refused, as BSG documents.
            start_at = parse_datetime(raw, time_zone)
            if start_at is None:
                errors.add("start_at", NOT_DATETIME)
            else:
                # SMS: at most 30 days ahead; RCS: until 23:59:59 of the 30th day counting
                # today (vendor page rcs-send-groups.txt). vendor_rules holds both readings.
                problem = (
                    rcs_start_problem(start_at, now, time_zone)
                    if rcs
                    else sms_start_problem(start_at, now)
                )
                if problem:
                    errors.add("start_at", problem)
                    start_at = None
    return Delivery(validity=validity, tariff_code=tariff, start_at=start_at)  # type: ignore[arg-type]


class Recipient(NamedTuple):
    """One recipient of a send (a tuple: ten thousand are made per request)."""

    phone: int
    reference_id: str | None = None
    text: str | None = None  # None = the campaign's text
    sender: str | None = None  # None = the campaign's sender


def read_phones(
    errors: Errors,
    body: Mapping[str, object],
    *,
    name: str,
    limit: int,
    unique_numbers: bool,
) -> list[Recipient]:
    """E1/E14 ``phones``: [{number, reference_id?}], at most ``limit``."""
    value = read_array(errors, body.get(name), name, most=limit)
    if value is None:
        return []
    recipients: list[Recipient] = []
    references: set[str] = set()
    seen: set[tuple[int, str | None]] = set()
    numbers: set[int] = set()
    low, high = PHONE_RANGE
    for index, item in enumerate(value):
        number = item.get("number") if type(item) is dict else None
        reference = item.get("reference_id") if type(item) is dict else None
        # A plain item (an integer phone in range, no reference id or a valid one) passes here
        # with the readers' outcome; field names are built only for an item with errors.
        if (
            type(number) is int
            and low <= number <= high
            and (reference is None or reference_id_problem(reference) is None)
        ):
            phone: int | None = number
        else:
            if not isinstance(item, dict):
                errors.add(key(name, index), type_message("object"))
                continue
            phone = read_phone(errors, number, key(name, index, "number"))
            reference = read_reference(errors, reference, key(name, index, "reference_id"))
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


def read_validity_seconds(errors: Errors, holder: Mapping[str, object], field: str) -> None:
    value = holder.get("validity_seconds")
    if value is None:
        return
    low, high = VALIDITY_SECONDS
    if not is_int(value):
        errors.add(field, type_message("integer"))
    elif not low <= value <= high:
        errors.add(field, between(low, high))
