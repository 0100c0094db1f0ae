"""Request checks for the RCS campaigns (E6 send-groups, E14 send): options (plain text or cards
with media and suggestions), the agent, the SMS fallback (YAML Campaign RCS, vendor page
rcs-send-groups.txt)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sandbox.validation.fields import (
    GROUP_NOT_FOUND,
    Delivery,
    Errors,
    Recipient,
    key,
    read_array,
    read_boolean,
    read_delivery,
    read_id_list,
    read_phones,
    read_sender,
    read_sms_text,
    read_string,
    read_validity_seconds,
    require_object,
)
from sandbox.vendor_rules import (
    BLANK,
    CHOICE,
    DEFAULT_VALIDITY_HOURS,
    MAX_GROUPS_PER_CAMPAIGN,
    MAX_POSTBACK_DATA,
    MAX_RCS_CARD_TEXT,
    MAX_RCS_CARDS,
    MAX_RCS_PLAIN_TEXT,
    MAX_RCS_RECIPIENTS,
    MAX_RCS_SUGGESTIONS,
    MAX_RCS_TITLE,
    MAX_SUGGESTION_TEXT,
    MAX_URL,
    count_max,
    phone_problem,
    rcs_agent_problem,
    too_long,
    too_short,
    type_message,
    utf16_length,
    validity_problem,
)


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
    url = read_string(errors, holder, "url", field, bounds=(1, MAX_URL))
    if url is not None and not url.lower().startswith(("http://", "https://")):
        errors.add(field, "The link must begin with http:// or https://.")


def _suggestion(errors: Errors, item: object, prefix: str) -> None:
    if not isinstance(item, dict):
        errors.add(prefix, type_message("object"))
        return
    read_string(errors, item, "text", key(prefix, "text"), bounds=(1, MAX_SUGGESTION_TEXT))
    read_string(
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
            problem = phone_problem(phone)
            if problem:
                errors.add(field, problem)
    else:
        errors.add(key(prefix, "type"), CHOICE)


def _card(errors: Errors, card: object, prefix: str) -> None:
    if not isinstance(card, dict):
        errors.add(prefix, type_message("object"))
        return
    read_string(
        errors, card, "title", key(prefix, "title"), required=False, bounds=(0, MAX_RCS_TITLE)
    )
    text = card.get("text")
    if text is not None:
        if not isinstance(text, str):
            errors.add(key(prefix, "text"), type_message("string"))
        elif not text:
            errors.add(key(prefix, "text"), too_short(1))
        elif utf16_length(text) > MAX_RCS_CARD_TEXT:
            errors.add(key(prefix, "text"), too_long(MAX_RCS_CARD_TEXT))
    media = card.get("media")
    if media is not None:
        if not isinstance(media, dict):
            errors.add(key(prefix, "media"), type_message("object"))
        else:
            _http_url(errors, media, key(prefix, "mediaurl"))
    if text is None and media is None:
        # YAML Card: 'Either "media" or "text" is required.'
        errors.add(prefix, 'Either "media" or "text" is required.')
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if not isinstance(suggestions, list):
            errors.add(key(prefix, "suggestions"), type_message("array"))
        elif len(suggestions) > MAX_RCS_SUGGESTIONS:
            errors.add(key(prefix, "suggestions"), count_max(MAX_RCS_SUGGESTIONS))
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
        errors.add("options", type_message("object"))
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
            errors.add("optionstext", type_message("string"))
        elif not text:
            errors.add("optionstext", too_short(1))
        elif utf16_length(text) > MAX_RCS_PLAIN_TEXT:
            errors.add("optionstext", too_long(MAX_RCS_PLAIN_TEXT))
        else:
            shown = text
    if cards is not None:
        cards = read_array(errors, cards, "optionscards", most=MAX_RCS_CARDS)
        if cards is not None:
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
        errors.add("alternative_channel", type_message("object"))
        return None
    sms = channel.get("sms")
    if sms is None:
        return None
    prefix = "alternative_channelsms"
    if not isinstance(sms, dict):
        errors.add(prefix, type_message("object"))
        return None
    # The fallback is an SMS: the same sender and text rules as E1-E3.
    text = read_sms_text(errors, sms, key(prefix, "text"))
    sender = read_sender(errors, sms, key(prefix, "sender"))
    validity = sms.get("validity")
    if validity is None:
        validity = DEFAULT_VALIDITY_HOURS
    else:
        problem = validity_problem(validity)
        if problem:
            errors.add(key(prefix, "validity"), problem)
    read_validity_seconds(errors, sms, key(prefix, "validity_seconds"))
    # rcs-send-groups.txt's sample and the YAML's SmsAltChannel: the fallback's own stop-list
    # check, a boolean.
    read_boolean(errors, sms, "check_stop_list", True, field=key(prefix, "check_stop_list"))
    return SmsFallback(text=text, sender=sender, validity=validity)  # type: ignore[arg-type]


def _rcs_common(
    errors: Errors, data: Mapping[str, object], now: datetime, time_zone: str
) -> tuple[str, dict[str, object], str | None, Delivery, SmsFallback | None, bool]:
    sender = read_string(errors, data, "sender", "sender")
    if sender is not None:
        problem = rcs_agent_problem(sender)
        if problem:
            errors.add("sender", problem)
    options, shown = _rcs_options(errors, data)
    delivery = read_delivery(errors, data, now, time_zone, rcs=True)
    read_validity_seconds(errors, data, "validity_seconds")
    fallback = _sms_fallback(errors, data)
    add_to_book = read_boolean(errors, data, "add_to_contact_book", True)
    read_boolean(errors, data, "check_stop_list", True)
    return sender or "", options, shown, delivery, fallback, add_to_book


def rcs_send(body: object, *, now: datetime, time_zone: str) -> RcsCampaign:
    """E14 POST /api/campaigns/rcs/send: up to 5,000 unique phones (YAML SendRcsCampaign)."""
    data = require_object(body)
    errors = Errors()
    sender, options, shown, delivery, fallback, add_to_book = _rcs_common(
        errors, data, now, time_zone
    )
    recipients = read_phones(
        errors, data, name="phones", limit=MAX_RCS_RECIPIENTS, unique_numbers=True
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
    groups = read_id_list(
        errors,
        data,
        "groups",
        maximum=MAX_GROUPS_PER_CAMPAIGN,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
    )
    errors.raise_if_any()
    return RcsCampaign(sender, options, shown, delivery, [], groups, fallback, add_to_book)
