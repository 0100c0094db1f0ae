"""What stops a campaign from being sent: every BSG rule for its method, as Problems keyed by the
composer's form field names, and the one refusal they become.

Every rule of BSG's request fields comes from bsg.rules and bsg.smstext; this module only
decides which rules a campaign's method needs and names the form field each message belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bsg import rules, smstext
from bsg.rules import (
    MAX_RCS_CARD_TEXT,
    MAX_RCS_CARDS,
    MAX_RCS_SUGGESTIONS,
    MAX_RCS_TITLE,
    MAX_SUGGESTION_TEXT,
    MAX_URL,
    utf16_length,
)
from contacts.models import ContactList, DoNotContact, ListMembership
from contacts.phones import InvalidPhone, normalize_phone
from contacts.selectors import audience_summary, fields_by_reference

from . import rendering, selectors
from .audience_values import audience_values, audience_values_forget
from .models import Campaign
from .rcs_content import rcs_template
from .stored_text import GROUPS_DO_NOT_CONTACT, GROUPS_DO_NOT_CONTACT_COPY, GROUPS_TOO_BIG, shown

# A schedule a minute in the past is "now" typed slowly; more than that is a mistake.
SCHEDULE_PAST_TOLERANCE = timedelta(minutes=1)


@dataclass
class Problems:
    """What stops a campaign from being sent, keyed by the composer's form field names.

    `cards[i]` holds the errors of RCS card i by card field; `warnings` never block sending.
    """

    errors: dict[str, list[str]] = field(default_factory=dict)
    cards: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, name: str, message: str | None) -> None:
        if message:
            self.errors.setdefault(name, []).append(message)

    def add_card(self, index: int, name: str, message: str) -> None:
        self.cards.setdefault(index, {}).setdefault(name, []).append(message)

    def warn(self, message: str | None) -> None:
        if message and message not in self.warnings:
            self.warnings.append(message)

    def __bool__(self) -> bool:
        return bool(self.errors or self.cards)

    def all_messages(self) -> list[str]:
        messages = [m for ms in self.errors.values() for m in ms]
        for index, card in sorted(self.cards.items()):
            messages += [card_message(index, m) for ms in card.values() for m in ms]
        return messages

    def refusal(self) -> ValidationError:
        """The one refusal type, field by field: the composer's field names, and RCS card
        fields as `card-<index>-<field>` (the card formset's own prefix)."""
        errors = {name: list(messages) for name, messages in self.errors.items()}
        for index, card in self.cards.items():
            for name, messages in card.items():
                errors[f"{CARD_ERROR_PREFIX}{index}-{name}"] = [
                    card_message(index, m) for m in messages
                ]
        return ValidationError(errors)


CARD_ERROR_PREFIX = "card-"


def card_message(index: int, message: str) -> str:
    """A card's problem where the card is not beside it ("Card 2: …"); the card editor shows
    what follows the first ": " beside the card's field."""
    return _("Card %(number)s: %(message)s") % {"number": index + 1, "message": message}


def count_text(count: int) -> str:
    """A count grouped as the reader's language groups it (1,234 in English)."""
    return number_format(count, force_grouping=True)


def refusal_text(refusal: ValidationError) -> str:
    """A refusal as one line for a flash message or a command's output."""
    return " ".join(refusal.messages)


def campaign_check(
    *,
    campaign: Campaign,
    list_ids: list[int],
    when: datetime | None = None,
    schedule: bool = False,
    now: datetime | None = None,
    fields: dict | None = None,
    recount: bool = False,
) -> Problems:
    """Every BSG rule for the campaign's method, without touching the database's campaign.

    `campaign` may be unsaved (the form's instance); `list_ids` are its lists as chosen.
    `schedule` asks the start-time rules for `when` (or campaign.start_at). `recount` counts
    who lacks a value from the database now, not from the composer's cached summary.
    """
    problems = Problems()
    now = now or timezone.now()
    fields = fields if fields is not None else fields_by_reference()
    if not campaign.name.strip():
        problems.add("name", _("Give the campaign a name, so people can find it later."))
    problems.add("validity_hours", rules.validity_error(campaign.validity_hours))
    problems.add("tariff_code", rules.tariff_error(campaign.tariff_code))
    if campaign.is_sms:
        _check_sms(problems, campaign, list_ids, fields, recount=recount)
    else:
        _check_rcs(problems, campaign, list_ids)
    if schedule:
        _check_start(problems, campaign, when or campaign.start_at, now)
    return problems


def campaign_is_blank(*, campaign: Campaign, list_ids: list[int]) -> bool:
    """A new composer saved as it opened: no name, no text, no card, no recipients. Saving it
    would only leave a "Draft of …" nobody wrote in the campaigns list. (The sender and the
    agent are not counted: the composer fills them in itself.)"""
    if campaign.pk or campaign.name.strip() or list_ids:
        return False
    if campaign.is_sms:
        return not campaign.text.strip() and not campaign.pasted_numbers.strip()
    cards = campaign.rcs_cards or []
    written = any(
        str(card.get(key) or "").strip() for card in cards for key in ("title", "text", "media_url")
    ) or any(card.get("suggestions") for card in cards)
    return not written and not campaign.fallback_text.strip()


def campaign_draft_check(
    *, campaign: Campaign, list_ids: list[int], now: datetime | None = None, recount: bool = False
) -> Problems:
    """What stops a draft from being sent, as the composer marks it beside each field while it
    is typed and once it is saved, and what refuses its send plan (services.send_plan_request):
    a plan of content that cannot go out only looks like progress. Every rule of
    campaign_check, and the start time's when one is chosen."""
    schedule = campaign.is_editable and campaign.start_at is not None
    return campaign_check(
        campaign=campaign, list_ids=list_ids, schedule=schedule, now=now, recount=recount
    )


def _check_sms(
    problems: Problems, campaign: Campaign, list_ids: list[int], fields: dict, *, recount: bool
) -> None:
    problems.add("sender", rules.sender_error(campaign.sender))
    problems.warn(rules.sender_warning(campaign.sender))
    mode = campaign.sms_mode
    if mode not in Campaign.SmsMode.values:
        problems.add("sms_mode", _("Choose who receives the SMS: numbers, lists or BSG groups."))
        return
    compiled = rendering.compile_text(campaign.text, fields=fields, mode=text_render_mode(mode))
    for message in compiled.errors:
        problems.add("text", message)
    if not compiled.errors:
        # The literal part alone; each recipient's full text is counted by the send plan.
        literal = (
            compiled.for_bsg_groups()
            if mode == Campaign.SmsMode.GROUPS
            else (compiled.render_values([""] * len(compiled.slots)))
        )
        if not campaign.text.strip():
            problems.add("text", _("Write the text of the SMS."))
        else:
            problems.add("text", smstext.limit_error(literal))
        problems.add(
            "missing_values",
            missing_values_error(
                campaign=campaign, list_ids=list_ids, compiled=compiled, recount=recount
            ),
        )
    if mode == Campaign.SmsMode.NUMBERS:
        parsed = selectors.pasted_numbers_parse(text=campaign.pasted_numbers)
        for entry in parsed.invalid[:20]:
            problems.add(
                "pasted_numbers",
                _("“%(entry)s”: %(problem)s") % {"entry": entry.entry, "problem": entry.message},
            )
        if len(parsed.invalid) > 20:
            more = len(parsed.invalid) - 20
            problems.add(
                "pasted_numbers",
                ngettext(
                    "…and %(count)s more invalid entries.",
                    "…and %(count)s more invalid entries.",
                    more,
                )
                % {"count": more},
            )
        if not parsed.numbers and not parsed.invalid:
            problems.add("pasted_numbers", _("Paste or type at least one phone number."))
        for message in selectors.pasted_reference_problems(parsed=parsed, campaign_id=campaign.pk):
            problems.add("pasted_numbers", message)
        return
    _check_recipients(problems, campaign, list_ids)


def _check_recipients(problems: Problems, campaign: Campaign, list_ids: list[int]) -> None:
    groups = campaign.sends_to_bsg_groups
    _check_lists(problems, list_ids, need_bsg_group=groups)
    if groups and list_ids:
        mode_field = "rcs_mode" if campaign.is_rcs else "sms_mode"
        # Written in English for the part dispatch refuses (campaigns.stored_text); the composer
        # says it in its reader's language.
        refusal = groups_do_not_contact_refusal(
            list_ids=list_ids, composing=True
        ) or groups_size_refusal(list_ids=list_ids, channel=campaign.channel)
        problems.add(mode_field, shown(refusal))


def groups_refusal(*, campaign: Campaign, list_ids: list[int]) -> str:
    """Why BSG's group method must not send this campaign to these lists now, or "" (dispatch
    asks again: the lists and the do-not-contact list may have changed since the checks), in
    English as the part it refuses stores it (campaigns.stored_text)."""
    if not campaign.sends_to_bsg_groups:
        return ""
    return groups_do_not_contact_refusal(list_ids=list_ids) or groups_size_refusal(
        list_ids=list_ids, channel=campaign.channel
    )


def _rcs_placeholder_problems(problems: Problems, campaign: Campaign) -> None:
    """Placeholders in the cards and the fallback: filled per recipient to contact lists,
    refused to BSG groups (campaigns.rcs_content)."""
    template = rcs_template(campaign=campaign, fields=fields_by_reference())
    for index, name, message in template.errors:
        if index is None:
            problems.add(name, message)
        else:
            problems.add_card(index, name, message)


def missing_values_error(
    *,
    campaign: Campaign,
    list_ids: list[int],
    compiled: rendering.CompiledText,
    recount: bool = False,
) -> str | None:
    """Why the campaign's choice for recipients missing a value cannot be sent as it is: BSG
    groups cannot leave anyone out, and "block" refuses while anyone lacks a value (counted
    from campaigns.audience_values; the send plan counts it exactly again before approval)."""
    policy = campaign.missing_values
    if campaign.sms_mode == Campaign.SmsMode.GROUPS and policy == Campaign.MissingValues.SKIP:
        return _(
            "BSG sends to its contact-book groups whole, so nobody can be left out there; "
            "choose to send with the fallback or to block sending, or personalise here."
        )
    if policy != Campaign.MissingValues.BLOCK or not compiled.unfilled_labels:
        return None
    if recount:
        audience_values_forget(list_ids=list_ids, compiled=compiled)
    found = audience_values(list_ids=list_ids, compiled=compiled)
    if found is None or not found.unfilled:
        return None
    return missing_values_refusal(
        unfilled=found.unfilled,
        recipients=found.recipients,
        by_field={label: found.fields[label].missing for label in compiled.unfilled_labels},
    )


def missing_values_refusal(*, unfilled: int, recipients: int, by_field: dict[str, int]) -> str:
    """The one wording of "block" refusing: how many lack what (`by_field`: by Slot.label), and
    the three ways out."""
    counts = {label: count_text(count) for label, count in by_field.items() if count}
    lacking = rendering.placeholders_lacking(counts, selectors.placeholder_names(labels=counts))
    first = next((label for label, count in by_field.items() if count), "city")
    return ngettext(
        "%(unfilled)s of %(recipients)s recipients have no value for %(lacking)s, and sending is "
        "blocked while anyone is missing one. Give the placeholder a fallback (%(example)s), "
        "choose to leave them out, or fill in their details.",
        "%(unfilled)s of %(recipients)s recipients have no value for %(lacking)s, and sending is "
        "blocked while anyone is missing one. Give the placeholder a fallback (%(example)s), "
        "choose to leave them out, or fill in their details.",
        recipients,
    ) % {
        "unfilled": count_text(unfilled),
        "recipients": count_text(recipients),
        "lacking": lacking,
        "example": f"{{{first}|…}}",
    }


def groups_size_refusal(*, list_ids: list[int], channel: str) -> str:
    """BSG's group methods take at most 10,000 contacts in one SMS campaign
    (sms-send-groups.txt) and 5,000 in one RCS campaign (YAML, "Campaign RCS"), and a group
    cannot be split: it is sent whole. "To contact lists" sends from here in parts of that
    size, so it has no such limit."""
    rcs = channel == Campaign.Channel.RCS
    limit = rules.MAX_RCS_RECIPIENTS if rcs else rules.MAX_SMS_RECIPIENTS
    members = audience_summary(list_ids=list_ids).members
    if members <= limit:
        return ""
    return GROUPS_TOO_BIG.stored(members=f"{members:,}", limit=f"{limit:,}")


def groups_do_not_contact_refusal(*, list_ids: list[int], composing: bool = False) -> str:
    """BSG's group methods send to every member of the group, and BSG has no way to leave a
    contact out (bsg-api.md: no detach endpoint), so a do-not-contact number in a linked list
    would be messaged. Refuse, and say how to send without them: while `composing` by choosing
    the other mode, afterwards by a copy."""
    opted_out = (
        ListMembership.objects.filter(contact_list_id__in=list_ids)
        .filter(contact__phone__in=DoNotContact.objects.values("phone"))
        .values("contact_id")
        .distinct()
        .count()
    )
    if not opted_out:
        return ""
    said = GROUPS_DO_NOT_CONTACT if composing else GROUPS_DO_NOT_CONTACT_COPY
    return said.stored(count=opted_out)


def text_render_mode(sms_mode: str) -> str:
    return {
        Campaign.SmsMode.INDIVIDUAL: rendering.MODE_INDIVIDUAL,
        Campaign.SmsMode.GROUPS: rendering.MODE_GROUPS,
    }.get(sms_mode, rendering.MODE_LITERAL)


def _check_lists(problems: Problems, list_ids: list[int], *, need_bsg_group: bool) -> None:
    if not list_ids:
        problems.add("lists", _("Choose at least one contact list."))
        return
    for contact_list in ContactList.objects.filter(id__in=list_ids):
        if contact_list.is_archived:
            problems.add(
                "lists", _("The list “%(name)s” is archived.") % {"name": contact_list.name}
            )
        if need_bsg_group and not contact_list.is_linked_to_bsg:
            problems.add(
                "lists",
                _(
                    "The list “%(name)s” is not linked to a BSG contact book, so BSG cannot send "
                    "to it as a group. Link it on the list's page, or choose “To contact lists, "
                    "personalised here”."
                )
                % {"name": contact_list.name},
            )


def _check_rcs(problems: Problems, campaign: Campaign, list_ids: list[int]) -> None:
    problems.add("rcs_agent", rules.rcs_agent_error(campaign.rcs_agent))
    cards = campaign.rcs_cards if isinstance(campaign.rcs_cards, list) else []
    if not cards:
        problems.add("rcs_cards", _("Add at least one card."))
    if len(cards) > MAX_RCS_CARDS:
        problems.add("rcs_cards", too_many_cards(len(cards)))
    for index, card in enumerate(cards):
        for name, message in rcs_card_errors(card):
            problems.add_card(index, name, message)
    if campaign.fallback_enabled:
        problems.add("fallback_sender", rules.sender_error(campaign.fallback_sender))
        problems.warn(rules.sender_warning(campaign.fallback_sender))
        problems.add(
            "fallback_validity_hours", rules.validity_error(campaign.fallback_validity_hours)
        )
    _rcs_placeholder_problems(problems, campaign)
    if campaign.fallback_enabled and "fallback_text" not in problems.errors:
        # The literal part alone, as for an SMS; the send plan counts each recipient's text.
        fallback = rcs_template(campaign=campaign, fields=fields_by_reference()).fallback
        problems.add(
            "fallback_text",
            smstext.limit_error(fallback.render_values([""] * len(fallback.slots))),
        )
    if campaign.rcs_mode and campaign.rcs_mode not in Campaign.RcsMode.values:
        problems.add("rcs_mode", _("Choose who receives it: contact lists or BSG groups."))
        return
    # To the lists' phones (E14 rcs/send) the engine leaves out do-not-contact numbers, splits
    # at 5,000 and finds each part by reference id; to BSG groups (E6) BSG does the sending.
    _check_recipients(problems, campaign, list_ids)


def rcs_card_errors(card: dict[str, Any]) -> list[tuple[str, str]]:
    """(card field, message) for one card in the composer's shape (see Campaign.rcs_cards)."""
    errors: list[tuple[str, str]] = []
    title, text, media = card.get("title", ""), card.get("text", ""), card.get("media_url", "")
    if title and utf16_length(title) > MAX_RCS_TITLE:
        errors.append(
            (
                "title",
                _("The title is %(length)s characters; at most %(limit)s.")
                % {"length": utf16_length(title), "limit": MAX_RCS_TITLE},
            )
        )
    if text and utf16_length(text) > MAX_RCS_CARD_TEXT:
        errors.append(
            (
                "text",
                _("The text is %(length)s characters; BSG takes at most %(limit)s.")
                % {"length": utf16_length(text), "limit": MAX_RCS_CARD_TEXT},
            )
        )
    if not text and not media:
        errors.append(("text", _("A card needs a text or a media URL.")))
    if media:
        errors += [("media_url", m) for m in _url_errors(media)]
    suggestions = card.get("suggestions") or []
    if len(suggestions) > MAX_RCS_SUGGESTIONS:
        errors.append(
            (
                "suggestions",
                _("At most %(limit)s buttons per card.") % {"limit": MAX_RCS_SUGGESTIONS},
            )
        )
    for number, suggestion in enumerate(suggestions, start=1):
        label = suggestion.get("text", "")
        name = f"suggestion_{number}"
        if not label:
            errors.append((name, _("Button %(number)s needs a label.") % {"number": number}))
        elif len(label) > MAX_SUGGESTION_TEXT:
            errors.append(
                (
                    name,
                    _("Button %(number)s's label is %(length)s characters; at most %(limit)s.")
                    % {"number": number, "length": len(label), "limit": MAX_SUGGESTION_TEXT},
                )
            )
        if "url" in suggestion:
            errors += [(name, _button_problem(number, m)) for m in _url_errors(suggestion["url"])]
        elif "phone" in suggestion:
            problem = rules.phone_error(suggestion["phone"])
            if problem:
                errors.append((name, _button_problem(number, problem)))
        else:
            errors.append(
                (name, _("Button %(number)s needs a link or a phone number.") % {"number": number})
            )
    return errors


def too_many_cards(count: int) -> str:
    return _("%(count)s cards; BSG takes at most %(limit)s.") % {
        "count": count,
        "limit": MAX_RCS_CARDS,
    }


def _button_problem(number: int, problem: str) -> str:
    return _("Button %(number)s: %(problem)s") % {"number": number, "problem": problem}


def _url_errors(url: str) -> list[str]:
    if not url.lower().startswith(("http://", "https://")):
        return [_("“%(url)s” must begin with http:// or https://.") % {"url": url[:60]}]
    if len(url) > MAX_URL:
        return [
            _("The link is %(length)s characters; BSG takes at most %(limit)s.")
            % {"length": len(url), "limit": MAX_URL}
        ]
    return []


def rcs_suggestion_parse(*, label: str, target: str) -> dict[str, str]:
    """A button from the composer's two inputs: a link when the target looks like a URL,
    otherwise a phone number (normalised as contacts are, when it can be)."""
    target = target.strip()
    if target.lower().startswith(("http://", "https://", "www.")) or "/" in target:
        return {"text": label, "url": target}
    try:
        return {"text": label, "phone": normalize_phone(target)}
    except InvalidPhone:
        return {"text": label, "phone": target}


def campaign_start_problems(
    *, campaign: Campaign, start: datetime | None, now: datetime
) -> Problems:
    """Only the start-time rules of campaign_check, for a start of `start`."""
    problems = Problems()
    _check_start(problems, campaign, start, now)
    return problems


def _check_start(
    problems: Problems, campaign: Campaign, start: datetime | None, now: datetime
) -> None:
    if start is None:
        problems.add("start_at", _("Choose when to send it."))
        return
    if start < now - SCHEDULE_PAST_TOLERANCE:
        problems.add(
            "start_at", _("That moment has passed; choose a time in the future or send now.")
        )
        return
    if campaign.bsg_schedules:
        if campaign.is_rcs:
            problem = rules.rcs_start_at_error(start, now, settings.BSG_TIME_ZONE)
        else:
            problem = rules.start_at_error(start, now)
        problems.add("start_at", problem)
