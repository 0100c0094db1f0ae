"""Request checks for the SMS campaigns (E1 send, E2 send-groups, E3 send-individual) and the
price estimate (E10), and the filling of {field_id} placeholders for E2."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sandbox import sms_segments
from sandbox.validation.fields import (
    DUPLICATE_IN_REQUEST,
    GROUP_NOT_FOUND,
    Delivery,
    Errors,
    Recipient,
    key,
    read_array,
    read_callback_url,
    read_delivery,
    read_id_list,
    read_phone,
    read_phones,
    read_reference,
    read_sender,
    read_sms_text,
    require_object,
)
from sandbox.vendor_rules import (
    MAX_GROUPS_PER_CAMPAIGN,
    MAX_SMS_RECIPIENTS,
    PHONE_RANGE,
    reference_id_problem,
    sender_problem,
    tariff_problem,
    type_message,
)

_PLACEHOLDER = re.compile(r"\{(\d+)\}")


@dataclass(frozen=True)
class SmsCampaign:
    """E1/E2/E3 after validation: one of ``recipients`` (E1, E3) or ``groups`` (E2)."""

    sender: str
    text: str
    delivery: Delivery
    recipients: list[Recipient]
    groups: list[int]
    callback_url: str | None = None  # where the messages' statuses are pushed (sandbox.callbacks)
    # E3: SMS parts of the texts found valid, by text (counted once per distinct text).
    parts_by_text: dict[str, int] = field(default_factory=dict)


def sms_send(body: object, *, now: datetime, time_zone: str) -> SmsCampaign:
    """E1 POST /api/campaigns/sms/send."""
    data = require_object(body)
    errors = Errors()
    sender = read_sender(errors, data, "sender")
    text = read_sms_text(errors, data, "text")
    recipients = read_phones(
        errors, data, name="phones", limit=MAX_SMS_RECIPIENTS, unique_numbers=False
    )
    delivery = read_delivery(errors, data, now, time_zone)
    callback_url = read_callback_url(errors, data)
    errors.raise_if_any()
    return SmsCampaign(sender, text, delivery, recipients, [], callback_url)


def sms_send_groups(
    body: object, *, now: datetime, time_zone: str, group_exists: Callable[[int], bool]
) -> SmsCampaign:
    """E2 POST /api/campaigns/sms/send-groups (recipients are resolved from the lists later)."""
    data = require_object(body)
    errors = Errors()
    sender = read_sender(errors, data, "sender")
    text = read_sms_text(errors, data, "text")
    groups = read_id_list(
        errors,
        data,
        "groups",
        maximum=MAX_GROUPS_PER_CAMPAIGN,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
    )
    delivery = read_delivery(errors, data, now, time_zone)
    callback_url = read_callback_url(errors, data)
    errors.raise_if_any()
    return SmsCampaign(sender, text, delivery, [], groups, callback_url)


def sms_send_individual(body: object, *, now: datetime, time_zone: str) -> SmsCampaign:
    """E3 POST /api/campaigns/sms/send-individual: a text and sender per message.

    Ten thousand messages a request: a message whose fields are plainly valid (an integer phone
    in range, a text and a sender already found valid in this request, a short alphanumeric
    reference id) passes on cheap checks with the same outcome as the full readers; any other
    message goes through the readers, which say what is wrong with it."""
    data = require_object(body)
    errors = Errors()
    recipients: list[Recipient] = []
    parts_by_text: dict[str, int] = {}
    good_senders: set[str] = set()
    value = read_array(errors, data.get("messages"), "messages", most=MAX_SMS_RECIPIENTS)
    if value is not None:
        references: set[str] = set()
        seen: set[tuple[object, ...]] = set()
        for index, item in enumerate(value):
            plain = _plain_message(item, parts_by_text, good_senders)
            if plain is not None:
                phone, text, sender, reference = plain
            else:
                if not isinstance(item, dict):
                    errors.add(key("messages", index), type_message("object"))
                    continue
                phone = read_phone(errors, item.get("phone"), key("messages", index, "phone"))
                text = read_sms_text(errors, item, key("messages", index, "text"))
                sender = read_sender(errors, item, key("messages", index, "sender"))
                reference = read_reference(
                    errors, item.get("reference_id"), key("messages", index, "reference_id")
                )
            if reference is not None:
                if reference in references:
                    errors.add(key("messages", index, "reference_id"), DUPLICATE_IN_REQUEST)
                references.add(reference)
            if phone is None:
                continue
            identity = (phone, text, sender, reference)
            if identity in seen and "messages" not in errors:
                # YAML SmsSendIndividualRequest.messages: uniqueItems.
                errors.add("messages", "This collection should contain only unique elements.")
            seen.add(identity)
            recipients.append(Recipient(phone, reference, text, sender))
    delivery = read_delivery(errors, data, now, time_zone)
    callback_url = read_callback_url(errors, data)
    errors.raise_if_any()
    first = recipients[0]
    return SmsCampaign(
        first.sender or "",
        first.text or "",
        delivery,
        recipients,
        [],
        callback_url,
        parts_by_text,
    )


def _plain_message(
    item: object, parts_by_text: dict[str, int], good_senders: set[str]
) -> tuple[int, str, str, str | None] | None:
    """(phone, text, sender, reference id) of an E3 message that the full readers would take
    without a word, else None (the readers then look at it). Valid texts are remembered with
    their SMS parts in ``parts_by_text``, valid senders in ``good_senders``: a campaign repeats
    them."""
    if type(item) is not dict:
        return None
    phone = item.get("phone")
    # The same range as vendor_rules.phone_problem for a JSON integer (9-15 digits, no leading
    # 0); ``type() is int`` leaves JSON true/false to the readers.
    if type(phone) is not int or not PHONE_RANGE[0] <= phone <= PHONE_RANGE[1]:
        return None
    text = item.get("text")
    if type(text) is not str:
        return None
    if text not in parts_by_text:
        problem, parts = sms_segments.text_verdict(text)
        if problem is not None:
            return None
        parts_by_text[text] = parts
    sender = item.get("sender")
    if type(sender) is not str:
        return None
    if sender not in good_senders:
        if not sender or sender_problem(sender) is not None:
            return None
        good_senders.add(sender)
    reference = item.get("reference_id")
    if reference is not None and reference_id_problem(reference) is not None:
        return None
    return phone, text, sender, reference


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
    sender = read_sender(errors, data, "sender")
    text = read_sms_text(errors, data, "text")
    tariff = data.get("tariff_code", 0)
    if tariff is None:
        tariff = 0
    problem = tariff_problem(tariff)
    if problem:
        errors.add("tariff_code", problem)
    groups = read_id_list(
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
            errors.add("messages", type_message("array"))
        else:
            for index, item in enumerate(messages):
                if not isinstance(item, dict):
                    errors.add(key("messages", index), type_message("object"))
                    continue
                phone = read_phone(errors, item.get("phone"), key("messages", index, "phone"))
                if phone is not None:
                    phones.append(phone)
    if not groups and not phones and not errors:
        errors.add("messages", "Give the recipients: messages[{phone}] or groups.")
    errors.raise_if_any()
    return PriceRequest(sender, text, tariff, phones, groups)  # type: ignore[arg-type]


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
