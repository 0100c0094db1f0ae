"""Writes for the campaigns app: validating, saving, duplicating and asking to send campaigns,
send plans and test sends.

Every rule of BSG's request fields comes from bsg.rules and bsg.smstext; this module only
decides which rules a campaign's method needs and names the form field each message belongs to.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_diff, audit_record, audit_snapshot
from bsg import rules, smstext
from bsg.client import (
    CallSuggestion,
    IndividualMessage,
    LinkSuggestion,
    RcsCard,
    Recipient,
    SmsFallback,
)
from bsg.errors import BsgError, BsgOutcomeUnknown
from bsg.rules import (
    MAX_RCS_CARD_TEXT,
    MAX_RCS_CARDS,
    MAX_RCS_SUGGESTIONS,
    MAX_RCS_TITLE,
    MAX_SUGGESTION_TEXT,
    MAX_URL,
    utf16_length,
)
from config.bsg import bsg_client
from contacts.models import Contact, ContactList
from contacts.phones import InvalidPhone, normalize_phone
from contacts.selectors import audience_summary, fields_by_reference

from . import rendering, selectors
from .engine.enqueue import campaign_enqueue_dispatch
from .engine.events import event_record, person_or_none
from .models import Campaign, CampaignEvent, SendPlan, TestSend

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser | None

# Card limits: BSG's YAML (bsg-api.md, E6), defined once in bsg.rules.
RCS_CARD_LIMITS = {
    "cards": MAX_RCS_CARDS,
    "title": MAX_RCS_TITLE,
    "text": MAX_RCS_CARD_TEXT,
    "suggestions": MAX_RCS_SUGGESTIONS,
    "suggestion_text": MAX_SUGGESTION_TEXT,
    "url": MAX_URL,
}
# A schedule a minute in the past is "now" typed slowly; more than that is a mistake.
SCHEDULE_PAST_TOLERANCE = timedelta(minutes=1)
# Audiences up to this size are planned in the request (a second or so); bigger ones by a task
# whose progress the page polls.
SEND_PLAN_INLINE_MAX = 20_000


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
            messages += [f"Card {index + 1}: {m}" for ms in card.values() for m in ms]
        return messages

    def refusal(self) -> ValidationError:
        """The one refusal type, field by field: the composer's field names, and RCS card
        fields as `card-<index>-<field>` (the card formset's own prefix)."""
        errors = {name: list(messages) for name, messages in self.errors.items()}
        for index, card in self.cards.items():
            for name, messages in card.items():
                errors[f"{CARD_ERROR_PREFIX}{index}-{name}"] = [
                    f"Card {index + 1}: {m}" for m in messages
                ]
        return ValidationError(errors)


CARD_ERROR_PREFIX = "card-"


def refusal_text(refusal: ValidationError) -> str:
    """A refusal as one line for a flash message or a command's output."""
    return " ".join(refusal.messages)


# --- validation --------------------------------------------------------------------------------


def campaign_check(
    *,
    campaign: Campaign,
    list_ids: list[int],
    when: datetime | None = None,
    schedule: bool = False,
    now: datetime | None = None,
    fields: dict | None = None,
) -> Problems:
    """Every BSG rule for the campaign's method, without touching the database's campaign.

    `campaign` may be unsaved (the form's instance); `list_ids` are its lists as chosen.
    `schedule` asks the start-time rules for `when` (or campaign.start_at).
    """
    problems = Problems()
    now = now or timezone.now()
    fields = fields if fields is not None else fields_by_reference()
    if not campaign.name.strip():
        problems.add("name", "Give the campaign a name, so people can find it later.")
    problems.add("validity_hours", rules.validity_error(campaign.validity_hours))
    problems.add("tariff_code", rules.tariff_error(campaign.tariff_code))
    if campaign.is_sms:
        _check_sms(problems, campaign, list_ids, fields)
    else:
        _check_rcs(problems, campaign, list_ids)
    if schedule:
        _check_start(problems, campaign, when or campaign.start_at, now)
    return problems


def _check_sms(problems: Problems, campaign: Campaign, list_ids: list[int], fields: dict) -> None:
    problems.add("sender", rules.sender_error(campaign.sender))
    problems.warn(rules.sender_warning(campaign.sender))
    mode = campaign.sms_mode
    if mode not in Campaign.SmsMode.values:
        problems.add("sms_mode", "Choose who receives the SMS: numbers, lists or BSG groups.")
        return
    compiled = rendering.compile_text(campaign.text, fields=fields, mode=_render_mode(mode))
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
            problems.add("text", "Write the text of the SMS.")
        else:
            problems.add("text", smstext.limit_error(literal))
    if mode == Campaign.SmsMode.NUMBERS:
        parsed = selectors.pasted_numbers_parse(text=campaign.pasted_numbers)
        for entry in parsed.invalid[:20]:
            problems.add("pasted_numbers", f"“{entry.entry}”: {entry.message}")
        if len(parsed.invalid) > 20:
            problems.add("pasted_numbers", f"…and {len(parsed.invalid) - 20} more invalid entries.")
        if not parsed.numbers and not parsed.invalid:
            problems.add("pasted_numbers", "Paste or type at least one phone number.")
        for message in selectors.pasted_reference_problems(parsed=parsed, campaign_id=campaign.pk):
            problems.add("pasted_numbers", message)
        return
    _check_lists(problems, list_ids, need_bsg_group=mode == Campaign.SmsMode.GROUPS)
    if mode == Campaign.SmsMode.GROUPS and list_ids:
        problems.add("sms_mode", groups_size_refusal(list_ids=list_ids))


def groups_size_refusal(*, list_ids: list[int]) -> str:
    """BSG's sms/send-groups takes at most 10,000 contacts in one campaign
    (sms-send-groups.txt) and cannot be split: a group is sent whole. "To contact lists"
    sends from here in parts of 10,000, so it has no such limit."""
    members = audience_summary(list_ids=list_ids).members
    if members <= rules.MAX_SMS_RECIPIENTS:
        return ""
    return (
        f"The chosen lists have {members:,} contacts; BSG sends at most "
        f"{rules.MAX_SMS_RECIPIENTS:,} to contact-book groups in one campaign. Choose "
        "“To contact lists, personalised here”, which sends them in parts."
    )


def _render_mode(sms_mode: str) -> str:
    return {
        Campaign.SmsMode.INDIVIDUAL: rendering.MODE_INDIVIDUAL,
        Campaign.SmsMode.GROUPS: rendering.MODE_GROUPS,
    }.get(sms_mode, rendering.MODE_LITERAL)


def _check_lists(problems: Problems, list_ids: list[int], *, need_bsg_group: bool) -> None:
    if not list_ids:
        problems.add("lists", "Choose at least one contact list.")
        return
    for contact_list in ContactList.objects.filter(id__in=list_ids):
        if contact_list.is_archived:
            problems.add("lists", f"The list “{contact_list.name}” is archived.")
        if need_bsg_group and not contact_list.is_linked_to_bsg:
            problems.add(
                "lists",
                f"The list “{contact_list.name}” is not linked to a BSG contact-book group; "
                "BSG's group methods can only send to linked lists.",
            )


def _check_rcs(problems: Problems, campaign: Campaign, list_ids: list[int]) -> None:
    problems.add("rcs_agent", rules.rcs_agent_error(campaign.rcs_agent))
    cards = campaign.rcs_cards if isinstance(campaign.rcs_cards, list) else []
    if not cards:
        problems.add("rcs_cards", "Add at least one card.")
    if len(cards) > MAX_RCS_CARDS:
        problems.add("rcs_cards", f"{len(cards)} cards; BSG takes at most {MAX_RCS_CARDS}.")
    for index, card in enumerate(cards):
        for name, message in rcs_card_errors(card):
            problems.add_card(index, name, message)
    if campaign.fallback_enabled:
        problems.add("fallback_sender", rules.sender_error(campaign.fallback_sender))
        problems.warn(rules.sender_warning(campaign.fallback_sender))
        problems.add(
            "fallback_validity_hours", rules.validity_error(campaign.fallback_validity_hours)
        )
        compiled = rendering.compile_text(
            campaign.fallback_text, fields=fields_by_reference(), mode=rendering.MODE_LITERAL
        )
        for message in compiled.errors:
            problems.add("fallback_text", message)
        problems.add("fallback_text", smstext.limit_error(campaign.fallback_text))
    # RCS goes out to the lists' phones (E14 rcs/send), not to BSG groups: the engine can then
    # leave out do-not-contact numbers, split at 5,000 and find each part by reference id.
    _check_lists(problems, list_ids, need_bsg_group=False)


def rcs_card_errors(card: dict[str, Any]) -> list[tuple[str, str]]:
    """(card field, message) for one card in the composer's shape (see Campaign.rcs_cards)."""
    errors: list[tuple[str, str]] = []
    title, text, media = card.get("title", ""), card.get("text", ""), card.get("media_url", "")
    if title and utf16_length(title) > MAX_RCS_TITLE:
        errors.append(
            ("title", f"The title is {utf16_length(title)} characters; at most {MAX_RCS_TITLE}.")
        )
    if text and utf16_length(text) > MAX_RCS_CARD_TEXT:
        errors.append(
            (
                "text",
                f"The text is {utf16_length(text)} characters; BSG takes at most "
                f"{MAX_RCS_CARD_TEXT}.",
            )
        )
    if not text and not media:
        errors.append(("text", "A card needs a text or a media URL."))
    if media:
        errors += [("media_url", m) for m in _url_errors(media)]
    suggestions = card.get("suggestions") or []
    if len(suggestions) > MAX_RCS_SUGGESTIONS:
        errors.append(("suggestions", f"At most {MAX_RCS_SUGGESTIONS} buttons per card."))
    for number, suggestion in enumerate(suggestions, start=1):
        label = suggestion.get("text", "")
        name = f"suggestion_{number}"
        if not label:
            errors.append((name, f"Button {number} needs a label."))
        elif len(label) > MAX_SUGGESTION_TEXT:
            errors.append(
                (
                    name,
                    f"Button {number}'s label is {len(label)} characters; at most "
                    f"{MAX_SUGGESTION_TEXT}.",
                )
            )
        if "url" in suggestion:
            errors += [(name, f"Button {number}: {m}") for m in _url_errors(suggestion["url"])]
        elif "phone" in suggestion:
            problem = rules.phone_error(suggestion["phone"])
            if problem:
                errors.append((name, f"Button {number}: {problem}"))
        else:
            errors.append((name, f"Button {number} needs a link or a phone number."))
    return errors


def _url_errors(url: str) -> list[str]:
    if not url.lower().startswith(("http://", "https://")):
        return [f"“{url[:60]}” must begin with http:// or https://."]
    if len(url) > MAX_URL:
        return [f"The link is {len(url)} characters; BSG takes at most {MAX_URL}."]
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


def _check_start(
    problems: Problems, campaign: Campaign, start: datetime | None, now: datetime
) -> None:
    if start is None:
        problems.add("start_at", "Choose when to send it.")
        return
    if start < now - SCHEDULE_PAST_TOLERANCE:
        problems.add("start_at", "That moment has passed; choose a time in the future or send now.")
        return
    if campaign.bsg_schedules:
        if campaign.is_rcs:
            problem = rules.rcs_start_at_error(start, now, settings.BSG_TIME_ZONE)
        else:
            problem = rules.start_at_error(start, now)
        problems.add("start_at", problem)


# --- saving ----------------------------------------------------------------------------------

# What the composer edits, as the audit log shows it changing (lists and pasted numbers apart).
CAMPAIGN_AUDITED_FIELDS = (
    "name",
    "channel",
    "sms_mode",
    "text",
    "sender",
    "validity_hours",
    "tariff_code",
    "start_at",
    "bsg_schedules",
    "start_time_zone",
    "rcs_agent",
    "rcs_cards",
    "rcs_check_stop_list",
    "fallback_enabled",
    "fallback_text",
    "fallback_sender",
    "fallback_validity_hours",
    "window_start",
    "window_end",
    "window_time_zone",
)


def _campaign_audit_snapshot(campaign: Campaign, list_ids: list[int]) -> dict[str, Any]:
    snapshot = audit_snapshot(campaign, CAMPAIGN_AUDITED_FIELDS)
    snapshot["lists"] = sorted(
        ContactList.objects.filter(pk__in=list_ids).values_list("name", flat=True)
    )
    # Up to 10,000 numbers: the log says how many, not which.
    pasted = len(campaign.pasted_numbers.split()) if campaign.pasted_numbers else 0
    snapshot["pasted_numbers"] = f"{pasted} number(s)" if pasted else ""
    return snapshot


def campaign_save(*, campaign: Campaign, list_ids: list[int], user: User) -> Campaign:
    """Save a draft as it is, complete or not; only drafts are saved this way."""
    with transaction.atomic():
        if campaign.pk:
            current = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
            if current is None or not current.is_editable:
                raise ValidationError(
                    "This campaign has been asked to send and can no longer be edited; "
                    "duplicate it to change it."
                )
            campaign.status = current.status
            campaign.created_by_id = current.created_by_id
            before = _campaign_audit_snapshot(
                current, list(current.lists.values_list("id", flat=True))
            )
        else:
            before = {}
            campaign.status = Campaign.Status.DRAFT
            if user is not None and user.is_authenticated:
                campaign.created_by = user
        if not campaign.name.strip():
            campaign.name = f"Draft of {timezone.localtime():%Y-%m-%d %H:%M}"
        campaign.save()
        campaign.lists.set(list_ids)
        if campaign.approved_at is not None:
            _approval_void_if_edited(campaign=campaign, user=user)
        changes = audit_diff(before, _campaign_audit_snapshot(campaign, list_ids))
        if not before:
            # A new draft: what it was created with, without the empty fields.
            changes = {k: v for k, v in changes.items() if v[1] not in ("", [], {}, False)}
            audit_record(action="campaign-create", target=campaign, changes=changes, actor=user)
        elif changes:
            audit_record(action="campaign-update", target=campaign, changes=changes, actor=user)
    return campaign


def campaign_duplicate(*, campaign_id: int, user: User) -> Campaign:
    """A new draft with the same content and lists, whatever state the original is in.

    Only CAMPAIGN_CONTENT_FIELDS are copied: the original's history (sent, stopped, approved,
    priced, a schedule's run) stays with it, so a field added to Campaign later is left behind
    unless it is declared content."""
    with transaction.atomic():
        original = Campaign.objects.get(pk=campaign_id)
        list_ids = list(original.lists.values_list("id", flat=True))
        copy = original.content_copy()
        copy.name = f"Copy of {original.name}"[:200]
        copy.status = Campaign.Status.DRAFT
        copy.duplicated_from = original
        copy.created_by = person_or_none(user)
        copy.save(force_insert=True)
        copy.lists.set(list_ids)
        audit_record(
            action="campaign-duplicate",
            target=copy,
            message=f"Duplicated from “{original}” (#{original.pk}).",
            actor=user,
        )
    return copy


def campaign_fingerprint(*, campaign: Campaign, list_ids: list[int] | None = None) -> str:
    """A hash of everything that changes what sending the campaign would do."""
    ids = sorted(
        list_ids if list_ids is not None else selectors.campaign_list_ids(campaign=campaign)
    )
    content = {
        name: getattr(campaign, name)
        for name in (
            "channel",
            "sms_mode",
            "text",
            "sender",
            "validity_hours",
            "tariff_code",
            "pasted_numbers",
            "rcs_agent",
            "rcs_cards",
            "rcs_check_stop_list",
            "fallback_enabled",
            "fallback_text",
            "fallback_sender",
            "fallback_validity_hours",
        )
    }
    content["lists"] = ids
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def campaign_plan_is_fresh(*, campaign: Campaign) -> tuple[bool, SendPlan | None]:
    plan = selectors.campaign_latest_plan(campaign_id=campaign.pk) if campaign.pk else None
    return (plan is not None and plan.is_fresh_for(campaign_fingerprint(campaign=campaign))), plan


def campaign_request_send(
    *,
    campaign_id: int,
    user: User,
    when: datetime | None,
    require_fresh_plan: bool = True,
    from_status: str = Campaign.Status.DRAFT,
) -> Campaign:
    """Ask for a draft to be sent now (`when` None) or at `when`.

    Validates every rule, requires a fresh send plan with no recipient over BSG's limits, then
    moves draft -> ready/scheduled by compare-and-set on status and updated_at, so a campaign
    edited or asked twice in between is refused rather than sent in a state nobody checked.
    The engine (issue 5) takes ready and scheduled campaigns from here. People reach this only
    through campaign_submit and campaign_approve (four-eyes); `from_status` is the approval's.
    """
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != from_status:
        raise ValidationError(f"The campaign is already {campaign.get_status_display().lower()}.")
    now = timezone.now()
    _raise_unless_sendable(
        campaign=campaign, when=when, now=now, require_fresh_plan=require_fresh_plan
    )
    status = Campaign.Status.SCHEDULED if when is not None else Campaign.Status.READY
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign.pk, status=from_status, updated_at=campaign.updated_at
        ).update(
            status=status,
            start_at=when,
            send_requested_at=now,
            send_requested_by=person_or_none(user),
            updated_at=now,
        )
        if changed != 1:
            raise ValidationError(
                "The campaign changed while it was being checked; look at it again and resend."
            )
        audit_record(
            action="campaign-request-send",
            target=campaign,
            changes=audit_diff(
                {"status": campaign.status, "start_at": campaign.start_at},
                {"status": status, "start_at": when},
            ),
            actor=user,
        )
    logger.info("campaign %s: send requested (%s, start %s)", campaign.pk, status, when)
    # Saved first; the engine's task is queued once this commits (or found by the sweep).
    campaign_enqueue_dispatch(campaign_id=campaign.pk)
    return Campaign.objects.get(pk=campaign.pk)


def _raise_unless_sendable(
    *, campaign: Campaign, when: datetime | None, now: datetime, require_fresh_plan: bool
) -> None:
    """ValidationError unless the campaign could be sent (or scheduled at `when`) as it is."""
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    problems = campaign_check(
        campaign=campaign, list_ids=list_ids, when=when, schedule=when is not None, now=now
    )
    if require_fresh_plan and not problems:
        fresh, plan = campaign_plan_is_fresh(campaign=campaign)
        if not fresh:
            problems.add(
                "__all__",
                "Compute the send plan first: sending needs a plan for the campaign as it is now.",
            )
        elif plan is not None:
            result = plan.result
            if not result.get("recipients"):
                problems.add("__all__", "The campaign has no recipients.")
            if result.get("over_limit"):
                problems.add(
                    "text",
                    f"{result['over_limit']} recipients' texts break BSG's limits once "
                    "personalised (see the send plan); shorten the text or the field values.",
                )
    if problems:
        raise problems.refusal()


def campaign_unschedule(*, campaign_id: int) -> Campaign:
    """Back to draft, while the engine has not taken it yet (compare-and-set on status)."""
    with transaction.atomic():
        # Locked, so the status read here is the one the compare-and-set below moves from.
        before = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        # Also withdraws a request for approval: its author takes it back to change it. The
        # statuses are the ones Campaign.can_go_back_to_draft offers the button for.
        changed = Campaign.objects.filter(
            pk=campaign_id, status__in=Campaign.BACK_TO_DRAFT_FROM
        ).update(
            status=Campaign.Status.DRAFT,
            send_requested_at=None,
            approval_requested_at=None,
            approval_requested_by=None,
            updated_at=timezone.now(),
        )
        if changed != 1 or before is None:
            raise ValidationError(
                "The campaign is no longer waiting to send; it cannot be undone here."
            )
        audit_record(
            action="campaign-unschedule",
            target=before,
            changes={"status": [before.status, Campaign.Status.DRAFT]},
        )
    return Campaign.objects.get(pk=campaign_id)


# --- send plans ------------------------------------------------------------------------------


def send_plan_request(*, campaign_id: int, user: User) -> SendPlan:
    """Start a send plan: in the request for small audiences, by a Celery task for big ones."""
    from . import sendplan, tasks

    campaign = Campaign.objects.get(pk=campaign_id)
    counts = selectors.audience_counts(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=selectors.campaign_list_ids(campaign=campaign),
        pasted=campaign.pasted_numbers,
    )
    plan = SendPlan.objects.create(
        campaign=campaign,
        fingerprint=campaign_fingerprint(campaign=campaign),
        recipients_total=counts.recipients,
        created_by=person_or_none(user),
    )
    if counts.recipients <= SEND_PLAN_INLINE_MAX:
        sendplan.send_plan_compute(plan_id=plan.pk)
        plan.refresh_from_db()
    else:
        # After commit, so the worker finds the row; robust, so a broker that is down leaves
        # the plan visibly waiting instead of failing the page.
        transaction.on_commit(lambda: tasks.send_plan_compute.delay(plan.pk), robust=True)
    return plan


# --- test send -------------------------------------------------------------------------------


def campaign_test_send(
    *, campaign_id: int, phone: str, contact_id: int | None, user: User
) -> TestSend:
    """Send the campaign now to one number (E1/E3 for SMS, E14 for RCS), as `contact` would get
    it, or with no contact chosen as a real contact of its audience would (`rendered_as` says
    which). Errors are recorded on the TestSend and shown; a send whose answer never came is not
    repeated (it may have been a paid SMS)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    number = normalize_phone(phone)  # InvalidPhone tells the view what is wrong
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    problems = Problems()
    fields = fields_by_reference()
    text = rendered_as = ""
    if campaign.is_sms:
        problems.add("sender", rules.sender_error(campaign.sender))
        compiled = rendering.compile_text(
            campaign.text, fields=fields, mode=_render_mode(campaign.sms_mode)
        )
        for message in compiled.errors:
            problems.add("text", message)
        if not compiled.errors:
            contact, text, rendered_as = _test_text(campaign, compiled, contact, number)
            problems.add("text", smstext.limit_error(text))
    else:
        problems.add("rcs_agent", rules.rcs_agent_error(campaign.rcs_agent))
        for index, card in enumerate(campaign.rcs_cards or []):
            for name, message in rcs_card_errors(card):
                problems.add_card(index, name, message)
        if not campaign.rcs_cards:
            problems.add("rcs_cards", "Add at least one card.")
        text = campaign.rcs_cards[0].get("text", "") if campaign.rcs_cards else ""
    if problems:
        raise problems.refusal()

    test = TestSend(
        campaign=campaign,
        phone=number,
        contact=contact,
        text=text,
        rendered_as=rendered_as,
        bsg_method=_test_method(campaign),
        created_by=person_or_none(user),
    )
    try:
        with bsg_client() as client:
            if campaign.is_rcs:
                answer = client.rcs_send(
                    phones=[Recipient(number=number)],
                    sender=campaign.rcs_agent,
                    cards=rcs_cards_for_client(campaign.rcs_cards),
                    sms_fallback=sms_fallback_for_client(campaign),
                    check_stop_list=campaign.rcs_check_stop_list,
                    validity=campaign.validity_hours,
                )
            elif campaign.sms_mode == Campaign.SmsMode.NUMBERS:
                answer = client.sms_send(
                    phones=[Recipient(number=number)],
                    text=text,
                    sender=campaign.sender,
                    validity=campaign.validity_hours,
                    tariff_code=campaign.tariff_code,
                )
            else:
                answer = client.sms_send_individual(
                    messages=[IndividualMessage(phone=number, text=text, sender=campaign.sender)],
                    validity=campaign.validity_hours,
                    tariff_code=campaign.tariff_code,
                )
    except BsgOutcomeUnknown as error:
        test.error = f"BSG's answer never came, so it may have been sent; not repeated. ({error})"
    except BsgError as error:
        test.error = str(error)
    else:
        test.bsg_campaign_id = answer.id
        test.bsg_status = answer.status or ""
        test.delivered = answer.statistics.delivered
        test.checked_at = timezone.now()
    with transaction.atomic():
        test.save()
        audit_record(
            action="campaign-test-send",
            target=campaign,
            message=f"Test send to +{number} ({test.bsg_method}): "
            + (test.error or f"accepted by BSG as campaign {test.bsg_campaign_id}."),
            actor=user,
        )
    return test


def _test_text(
    campaign: Campaign, compiled: rendering.CompiledText, contact: Contact | None, number: str
) -> tuple[Contact | None, str, str]:
    """(contact, text, rendered_as) of a test send. Without a chosen contact it renders as one
    of the audience: a tester reading "Hi !" cannot tell a missing name from a broken text."""
    if not compiled.slots:
        return contact, compiled.source, ""
    how = "as chosen"
    if contact is None:
        row = selectors.test_send_contact(campaign=campaign, compiled=compiled)
        contact = Contact.objects.filter(pk=row.contact_id).first() if row else None
        if contact is None:
            text = compiled.render_values(compiled.stand_in_values(phone=number))
            return None, text, "The audience has no contact, so each placeholder shows its name."
        how = "the first contact of the audience"
    rendered = compiled.render(phone=contact.phone, name=contact.name, fields=contact.fields)
    who = f"{contact.name or 'a contact without a name'} (+{contact.phone})"
    if rendered.empty_fields:
        empty = ", ".join(rendered.empty_fields)
        return contact, rendered.text, f"Rendered as {who}, {how}; empty for them: {empty}."
    if how != "as chosen":
        how += " with every placeholder filled"
    return contact, rendered.text, f"Rendered as {who}, {how}."


def _test_method(campaign: Campaign) -> str:
    if campaign.is_rcs:
        return "rcs/send"
    return "sms/send" if campaign.sms_mode == Campaign.SmsMode.NUMBERS else "sms/send-individual"


def test_send_refresh(*, test_send_id: int) -> TestSend:
    """Ask BSG (E7) how the test campaign is doing; final ones are not asked again."""
    test = TestSend.objects.get(pk=test_send_id)
    if test.is_final or test.bsg_campaign_id is None:
        return test
    try:
        with bsg_client() as client:
            answer = client.campaign_get(campaign_id=test.bsg_campaign_id)
    except BsgError as error:
        logger.info("test send %s: status not read: %s", test.pk, error)
        return test
    TestSend.objects.filter(pk=test.pk).update(
        bsg_status=answer.status or "",
        delivered=answer.statistics.delivered,
        checked_at=timezone.now(),
    )
    test.refresh_from_db()
    return test


def rcs_cards_for_client(cards: list[dict[str, Any]]) -> list[RcsCard]:
    """The composer's cards as the client's typed cards (the engine sends these too)."""
    typed = []
    for card in cards:
        suggestions = []
        for suggestion in card.get("suggestions") or []:
            if "url" in suggestion:
                suggestions.append(LinkSuggestion(text=suggestion["text"], url=suggestion["url"]))
            else:
                suggestions.append(
                    CallSuggestion(text=suggestion["text"], phone=suggestion["phone"])
                )
        typed.append(
            RcsCard(
                title=card.get("title") or None,
                text=card.get("text") or None,
                media_url=card.get("media_url") or None,
                suggestions=tuple(suggestions),
            )
        )
    return typed


def sms_fallback_for_client(campaign: Campaign) -> SmsFallback | None:
    if not campaign.fallback_enabled:
        return None
    return SmsFallback(
        text=campaign.fallback_text,
        sender=campaign.fallback_sender,
        validity=campaign.fallback_validity_hours,
    )


# --- four-eyes approval (issue 6) ----------------------------------------------------------------
#
# draft --campaign_approval_request--> awaiting_approval --campaign_approve--> ready | scheduled
#                                         |--campaign_reject (sent back, with a reason)--> draft
#                                         |--campaign_unschedule (withdrawn by its author)--> draft
# Without four-eyes (CAMPAIGNS_FOUR_EYES off) an approver's Send goes straight out
# (campaign_submit), and counts as their approval for the next diff.

APPROVE_PERMISSION = "campaigns.approve_campaign"
OWN_CAMPAIGN = "You wrote this campaign; someone else must approve it."


def campaign_submit(*, campaign_id: int, user: User, when: datetime | None) -> Campaign:
    """What the composer's Send now / Schedule does: ask for approval, or, without four-eyes,
    send at once when the user may approve."""
    if not settings.CAMPAIGNS_FOUR_EYES and _may_approve(user):
        with transaction.atomic():
            campaign = campaign_request_send(campaign_id=campaign_id, user=user, when=when)
            _approval_record(campaign=campaign, user=user, send_at=when)
        return Campaign.objects.get(pk=campaign_id)
    return campaign_approval_request(campaign_id=campaign_id, user=user, when=when)


def campaign_approval_request(*, campaign_id: int, user: User, when: datetime | None) -> Campaign:
    """Ask for a draft to be approved, keeping the author's intent: send as soon as approved
    (`when` None) or at `when`. The campaign is checked as for sending, so approvers only see
    campaigns that could go out as they are."""

    campaign = Campaign.objects.get(pk=campaign_id)
    if not campaign.can_request_approval:
        raise ValidationError(
            f"Only a draft can be sent for approval; this one is "
            f"{campaign.get_status_display().lower()}."
        )
    now = timezone.now()
    _raise_unless_sendable(campaign=campaign, when=when, now=now, require_fresh_plan=True)
    actor = person_or_none(user)
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign.pk, status=Campaign.Status.DRAFT, updated_at=campaign.updated_at
        ).update(
            status=Campaign.Status.AWAITING_APPROVAL,
            approval_requested_at=now,
            approval_requested_by=actor,
            approval_send_at=when,
            sent_back_reason="",
            updated_at=now,
        )
        if changed != 1:
            raise ValidationError(
                "The campaign changed while it was being checked; look at it again and resend."
            )
        campaign.refresh_from_db()
        intent = f"to send at {_when_text(when)}" if when else "to send as soon as approved"
        event_record(
            campaign.pk,
            CampaignEvent.Kind.APPROVAL_REQUESTED,
            f"Approval requested, {intent}.",
            user=actor,
        )
        audit_record(
            action="campaign-approval-request",
            target=campaign,
            changes={
                "status": [Campaign.Status.DRAFT, Campaign.Status.AWAITING_APPROVAL],
                "approval_send_at": [None, when],
            },
            message=f"Asked for approval, {intent}.",
            actor=actor,
        )
    return campaign


def campaign_approve(*, campaign_id: int, user: User, seen: str | None = None) -> Campaign:
    """Approve a campaign waiting for approval and let it go out as its author asked.

    `seen` is the fingerprint of what the approver was shown (selectors.
    campaign_approval_fingerprint); if the campaign changed since, nothing is approved. A send
    plan gone stale while the campaign waited is computed again first, as sending requires."""
    campaign = Campaign.objects.get(pk=campaign_id)
    _approval_refusal(campaign=campaign, user=user)
    fresh, _plan = campaign_plan_is_fresh(campaign=campaign)
    if not fresh:
        send_plan_request(campaign_id=campaign.pk, user=user)
        fresh, _plan = campaign_plan_is_fresh(campaign=campaign)
        if not fresh:
            raise ValidationError(
                "The send plan was out of date and is being computed again for this audience; "
                "approve once it is done."
            )
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        _approval_refusal(campaign=campaign, user=user)
        snapshot = selectors.campaign_approval_snapshot(campaign=campaign)
        if seen is not None and seen != selectors.campaign_approval_fingerprint(snapshot=snapshot):
            raise ValidationError(
                "The campaign changed while you were looking at it; read the changes again "
                "before approving."
            )
        when = campaign.approval_send_at
        campaign_request_send(
            campaign_id=campaign.pk,
            user=user,
            when=when,
            from_status=Campaign.Status.AWAITING_APPROVAL,
        )
        _approval_record(campaign=campaign, user=user, send_at=when, snapshot=snapshot)
    return Campaign.objects.get(pk=campaign_id)


def campaign_reject(*, campaign_id: int, user: User, reason: str) -> Campaign:
    """Send a campaign waiting for approval back to its author as a draft, saying why."""

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            "Say why you are sending it back, so its author knows what to change."
        )
    actor = person_or_none(user)
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign_id, status=Campaign.Status.AWAITING_APPROVAL
        ).update(
            status=Campaign.Status.DRAFT,
            approval_requested_at=None,
            approval_requested_by=None,
            sent_back_reason=reason,
            updated_at=timezone.now(),
        )
        if changed != 1:
            raise ValidationError("This campaign is not waiting for approval any more.")
        campaign = Campaign.objects.get(pk=campaign_id)
        event_record(campaign.pk, CampaignEvent.Kind.SENT_BACK, f"Sent back: {reason}", user=actor)
        audit_record(
            action="campaign-reject",
            target=campaign,
            changes={"status": [Campaign.Status.AWAITING_APPROVAL, Campaign.Status.DRAFT]},
            message=reason,
            actor=actor,
        )
    return campaign


def _approval_refusal(*, campaign: Campaign, user: User) -> None:
    """ValidationError saying why this user may not approve this campaign now, if they may not."""
    if not campaign.is_awaiting_approval:
        raise ValidationError(
            f"This campaign is not waiting for approval; it is "
            f"{campaign.get_status_display().lower()}."
        )
    if not _may_approve(user):
        raise ValidationError("You may not approve campaigns; ask a campaign approver.")
    if settings.CAMPAIGNS_FOUR_EYES and user.pk in {
        campaign.created_by_id,
        campaign.approval_requested_by_id,
    }:
        raise ValidationError(OWN_CAMPAIGN)


def _approval_record(
    *, campaign: Campaign, user: User, send_at: datetime | None, snapshot: dict | None = None
) -> None:
    """Remember what was approved (for the next approver's diff), in the event log and audit."""

    if snapshot is None:
        campaign.approval_send_at = send_at
        snapshot = selectors.campaign_approval_snapshot(campaign=campaign)
    before = campaign.approval_snapshot or {}
    actor = person_or_none(user)
    Campaign.objects.filter(pk=campaign.pk).update(
        approved_at=timezone.now(),
        approved_by=actor,
        approval_snapshot=snapshot,
        approval_send_at=send_at,
        sent_back_reason="",
    )
    outcome = f"scheduled for {_when_text(send_at)}" if send_at else "sending now"
    event_record(campaign.pk, CampaignEvent.Kind.APPROVED, f"Approved; {outcome}.", user=actor)
    changes = {
        change.key: [change.before, change.after]
        for change in selectors.campaign_approval_changes(before=before, after=snapshot)
    }
    audit_record(
        action="campaign-approve",
        target=campaign,
        changes=changes if before else None,
        message=f"Approved; {outcome}." + ("" if before else " First approval of this campaign."),
        actor=actor,
    )


def _approval_void_if_edited(*, campaign: Campaign, user: User) -> None:
    """An edit after approval voids it: the next Send asks for approval again, and the approver
    is shown what changed since the approved content (the snapshot is kept for that)."""

    current = selectors.campaign_approval_snapshot(campaign=campaign)
    approved = campaign.approval_snapshot or {}
    # The intent ("when") is set by the next request, not by editing the draft.
    changed = [
        change.label
        for change in selectors.campaign_approval_changes(before=approved, after=current)
        if change.key != "send_at"
    ]
    if not changed:
        return
    Campaign.objects.filter(pk=campaign.pk).update(approved_at=None, approved_by=None)
    campaign.approved_at = campaign.approved_by = None
    actor = person_or_none(user)
    message = f"Approval void: {', '.join(changed).lower()} changed after it was approved."
    event_record(campaign.pk, CampaignEvent.Kind.APPROVAL_VOID, message, user=actor)
    audit_record(action="campaign-approval-void", target=campaign, message=message, actor=actor)


def _may_approve(user: User) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(APPROVE_PERMISSION)


def _when_text(when: datetime) -> str:
    return f"{timezone.localtime(when):%Y-%m-%d %H:%M %Z}"
