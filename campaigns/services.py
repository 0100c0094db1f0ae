"""Writes for the campaigns app: saving, duplicating and asking to send campaigns, send plans
and test sends. What a campaign must satisfy to be sent is campaigns.checks; four-eyes approval
is campaigns.approval.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.services import audit_diff, audit_record, audit_snapshot
from audit.words import moment_words
from bsg import rules, smstext
from bsg.errors import BsgError, BsgOutcomeUnknown
from bsg.payloads import (
    CallSuggestion,
    IndividualMessage,
    LinkSuggestion,
    RcsCard,
    Recipient,
    SmsFallback,
)
from config.bsg import bsg_client
from contacts.models import Contact, ContactList, DoNotContact
from contacts.phones import normalize_phone, phone_display
from contacts.selectors import fields_by_reference

from . import rendering, selectors
from .checks import (
    Problems,
    campaign_check,
    campaign_draft_check,
    missing_values_refusal,
    rcs_card_errors,
    text_render_mode,
)
from .engine.enqueue import campaign_enqueue_dispatch
from .engine.events import event_record, person_or_none
from .engine.schedules import schedules_void_for_template
from .models import (
    CAMPAIGN_CONTENT_FIELDS,
    CAMPAIGN_SENT_FIELDS,
    Campaign,
    CampaignEvent,
    SendPlan,
    TestSend,
)
from .rcs_content import RcsRendered, RcsTemplate, rcs_template
from .stored_text import (
    APPROVAL_VOID,
    AS_CHOSEN,
    CLAUSE_SEPARATOR,
    DUPLICATED_FROM,
    EMPTY_FOR_THEM,
    EMPTY_FOR_THEM_LEFT_OUT,
    FALLBACK_FOR,
    FIRST_OF_AUDIENCE,
    FIRST_OF_AUDIENCE_FILLED,
    LABEL_SEPARATOR,
    NAMED_CONTACT,
    NAMELESS_CONTACT,
    PASTED_NUMBERS,
    PASTED_NUMBERS_SWAPPED,
    RENDERED_AS,
    RENDERED_AS_NOTED,
    RENDERED_WITHOUT_CONTACT,
    TEST_SEND_ACCEPTED,
    TEST_SEND_AUDIT,
    TEST_SEND_UNANSWERED,
    in_english,
)

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser | None

# Audiences up to this size are planned in the request (a second or so); bigger ones by a task
# whose progress the page polls.
SEND_PLAN_INLINE_MAX = 20_000


# --- saving ----------------------------------------------------------------------------------

# What the composer edits, as the audit log shows it changing (lists and pasted numbers apart:
# the snapshot shows list names, and a count of numbers).
CAMPAIGN_AUDITED_FIELDS = tuple(
    name for name in CAMPAIGN_CONTENT_FIELDS if name not in ("lists", "pasted_numbers")
)


def _campaign_audit_snapshot(campaign: Campaign, list_ids: list[int]) -> dict[str, Any]:
    snapshot = audit_snapshot(campaign, CAMPAIGN_AUDITED_FIELDS)
    snapshot["lists"] = sorted(
        ContactList.objects.filter(pk__in=list_ids).values_list("name", flat=True)
    )
    # Up to 10,000 numbers: the log says how many, not which.
    pasted = len(campaign.pasted_numbers.split()) if campaign.pasted_numbers else 0
    snapshot["pasted_numbers"] = PASTED_NUMBERS.stored(count=pasted) if pasted else ""
    return snapshot


def campaign_save(
    *, campaign: Campaign, list_ids: list[int], user: User, message: str = ""
) -> Campaign:
    """Save a draft as it is, complete or not; only drafts are saved this way. `message` says
    in the audit log where a new draft came from (a saved message template)."""
    with transaction.atomic():
        if campaign.pk:
            current = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
            if current is None or not current.is_editable:
                raise ValidationError(
                    _(
                        "This campaign has been asked to send and can no longer be edited; "
                        "duplicate it to change it."
                    )
                )
            if current.is_archived:
                raise ValidationError(_("This campaign is archived; restore it to change it."))
            campaign.status = current.status
            campaign.created_by_id = current.created_by_id
            before = _campaign_audit_snapshot(
                current, list(current.lists.values_list("id", flat=True))
            )
            pasted_before = current.pasted_numbers
        else:
            before = {}
            pasted_before = ""
            campaign.status = Campaign.Status.DRAFT
            if user is not None and user.is_authenticated:
                campaign.created_by = user
        if not campaign.name.strip():
            # A name, which its people change at will: in the language of whoever saved it.
            # Its moment as the author writes one ("06.12.2026 20:12" in Ukrainian), not ISO.
            campaign.name = _("Draft of %(when)s") % {"when": moment_words(timezone.now())}
        campaign.save()
        campaign.lists.set(list_ids)
        if campaign.approved_at is not None:
            _approval_void_if_edited(campaign=campaign, user=user)
        changes = audit_diff(before, _campaign_audit_snapshot(campaign, list_ids))
        if (
            before
            and "pasted_numbers" not in changes
            and pasted_before.split() != campaign.pasted_numbers.split()
        ):
            # The log counts the numbers; as many other numbers is a change all the same, and
            # whoever swapped them chose who gets it (four-eyes: they may not approve it).
            counted = before["pasted_numbers"]
            changes["pasted_numbers"] = [counted, PASTED_NUMBERS_SWAPPED.stored(numbers=counted)]
        if changes and person_or_none(user) is not None:
            # Whoever writes what goes out may not be the one who approves it.
            campaign.content_authors.add(user)
        if before and changes:
            schedules_void_for_template(
                campaign=campaign, changed=sorted(_change_labels(changes)), user=user
            )
        if not before:
            # A new draft: what it was created with, without the empty fields.
            changes = {k: v for k, v in changes.items() if v[1] not in ("", [], {}, False)}
            audit_record(
                action="campaign-create",
                target=campaign,
                changes=changes,
                message=message,
                actor=user,
            )
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
        # A name, which its people change at will: in the language of whoever asked for it.
        copy.name = (_("Copy of %(name)s") % {"name": original.name})[:200]
        copy.status = Campaign.Status.DRAFT
        copy.duplicated_from = original
        copy.created_by = person_or_none(user)
        copy.save(force_insert=True)
        copy.lists.set(list_ids)
        # The content is the original's: its writers may not approve the copy either.
        copy.content_authors.set(
            {*original.content_authors.values_list("id", flat=True), original.created_by_id}
            - {None}
        )
        audit_record(
            action="campaign-duplicate",
            target=copy,
            message=DUPLICATED_FROM.stored(name=original, id=original.pk),
            actor=user,
        )
    return copy


def _change_labels(changes: dict[str, Any]) -> set[str]:
    """What changed, in English: a schedule's void reason stores it (campaigns.stored_text)."""
    labels = selectors.APPROVAL_LABELS
    return {
        in_english(labels[key]) if key in labels else key.replace("_", " ").capitalize()
        for key in changes
    }


def campaign_fingerprint(*, campaign: Campaign, list_ids: list[int] | None = None) -> str:
    """A hash of everything that changes what sending the campaign would do."""
    ids = sorted(
        list_ids if list_ids is not None else selectors.campaign_list_ids(campaign=campaign)
    )
    content = {name: getattr(campaign, name) for name in CAMPAIGN_SENT_FIELDS}
    content["lists"] = ids
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def campaign_plan_is_fresh(
    *, campaign: Campaign, list_ids: list[int] | None = None
) -> tuple[bool, SendPlan | None]:
    """Whether the latest plan counts the campaign as it is now: same content and lists, not
    too old, and made after dispatch last found its recipients changed since approval.

    `list_ids`: the lists as typed in the composer (unsaved); by default the saved ones."""
    plan = selectors.campaign_latest_plan(campaign_id=campaign.pk) if campaign.pk else None
    fresh = plan is not None and plan.is_fresh_for(
        campaign_fingerprint(campaign=campaign, list_ids=list_ids)
    )
    if fresh and campaign.audience_changed_at and plan.created_at <= campaign.audience_changed_at:
        fresh = False
    if fresh and not plan.result.get("audience"):
        fresh = False  # made before plans read who gets what, which approval now covers
    return fresh, plan


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
        raise ValidationError(
            _("The campaign is already %(status)s.")
            % {"status": campaign.get_status_display().lower()}
        )
    now = timezone.now()
    campaign_raise_unless_sendable(
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
                _("The campaign changed while it was being checked; look at it again and resend.")
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


def campaign_raise_unless_sendable(
    *, campaign: Campaign, when: datetime | None, now: datetime, require_fresh_plan: bool
) -> None:
    """ValidationError unless the campaign could be sent (or scheduled at `when`) as it is."""
    problems = campaign_send_problems(
        campaign=campaign, when=when, now=now, require_fresh_plan=require_fresh_plan
    )
    if problems:
        raise problems.refusal()


# The key of "compute the send plan first" among a campaign's Problems: fixed by the send plan's
# button, not by a field of the composer (the detail page links it there).
SEND_PLAN_PROBLEM = "send_plan"


def campaign_send_problems(
    *, campaign: Campaign, when: datetime | None, now: datetime, require_fresh_plan: bool
) -> Problems:
    """What stops the campaign from being sent (or scheduled at `when`) as it is: every rule of
    campaigns.checks, then the send plan's. Empty when it could go out. The plan is only read
    once the content passes: a plan of content that cannot go out says nothing more."""
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    problems = campaign_check(
        campaign=campaign, list_ids=list_ids, when=when, schedule=when is not None, now=now
    )
    if campaign.is_archived:
        # Nobody would see it wait: the campaigns page leaves archived campaigns out.
        problems.add("__all__", _("This campaign is archived; restore it before sending it."))
    if require_fresh_plan and not problems:
        fresh, plan = campaign_plan_is_fresh(campaign=campaign)
        if not fresh:
            problems.add(
                SEND_PLAN_PROBLEM,
                _(
                    "Compute the send plan first: sending needs a plan for the campaign as it is "
                    "now."
                ),
            )
        elif plan is not None:
            result = plan.result
            if not result.get("recipients"):
                problems.add("__all__", _("The campaign has no recipients."))
            missing = result.get("missing_values") or {}
            if missing.get("blocked"):
                problems.add(
                    "missing_values",
                    missing_values_refusal(
                        unfilled=missing["unfilled"],
                        recipients=missing["audience"],
                        by_field=missing["unfilled_by_field"],
                    ),
                )
            if result.get("over_limit"):
                over = result["over_limit"]
                problems.add(
                    "text",
                    ngettext(
                        "%(count)s recipients' texts break BSG's limits once personalised (see "
                        "the send plan); shorten the text or the field values.",
                        "%(count)s recipients' texts break BSG's limits once personalised (see "
                        "the send plan); shorten the text or the field values.",
                        over,
                    )
                    % {"count": over},
                )
    return problems


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
                _("The campaign is no longer waiting to send; it cannot be undone here.")
            )
        audit_record(
            action="campaign-unschedule",
            target=before,
            changes={"status": [before.status, Campaign.Status.DRAFT]},
        )
    return Campaign.objects.get(pk=campaign_id)


# --- send plans ------------------------------------------------------------------------------


def send_plan_request(*, campaign_id: int, user: User) -> SendPlan:
    """Start a send plan: in the request for small audiences, by a Celery task for big ones.

    Refused, field by field, while anything stops the campaign from being sent (an empty or
    too long text, a sender BSG refuses, an unlinked list for BSG groups, a start time that
    has passed): a plan of it would count parts and price of messages that cannot go out."""
    from . import sendplan, tasks

    campaign = Campaign.objects.get(pk=campaign_id)
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    # Asked for on purpose: who lacks a value is counted now, so a value filled in a minute
    # ago is not refused by the composer's cached count.
    problems = campaign_draft_check(campaign=campaign, list_ids=list_ids, recount=True)
    if problems:
        raise problems.refusal()
    counts = selectors.audience_counts(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=list_ids,
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
    _test_phone_refusal(number=number, user=user)
    problems = Problems()
    fields = fields_by_reference()
    text = rendered_as = ""
    if campaign.is_sms:
        problems.add("sender", rules.sender_error(campaign.sender))
        compiled = rendering.compile_text(
            campaign.text, fields=fields, mode=text_render_mode(campaign.sms_mode)
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
            problems.add("rcs_cards", _("Add at least one card."))
        template = rcs_template(campaign=campaign, fields=fields)
        for index, name, message in template.errors:
            if index is None:
                problems.add(name, message)
            else:
                problems.add_card(index, name, message)
        if not problems:
            # Rendered as a recipient would get it, as an SMS test send is.
            contact, rendered, rendered_as = _test_rcs(campaign, template, contact, number)
            text = rendered.cards[0].get("text", "") if rendered.cards else ""
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
    _test_send_reserve(test=test, user=user)
    try:
        with bsg_client() as client:
            if campaign.is_rcs:
                answer = client.rcs_send(
                    phones=[Recipient(number=number)],
                    sender=campaign.rcs_agent,
                    cards=rcs_cards_for_client(rendered.cards),
                    sms_fallback=sms_fallback_for_client(campaign, text=rendered.fallback_text),
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
        test.error = TEST_SEND_UNANSWERED.stored(error=error)
    except BsgError as error:
        test.error = str(error)
    else:
        test.bsg_campaign_id = answer.id
        test.bsg_status = answer.status or ""
        test.delivered = answer.statistics.delivered
        test.checked_at = timezone.now()
    with transaction.atomic():
        test.save(
            update_fields=["bsg_campaign_id", "bsg_status", "delivered", "checked_at", "error"]
        )
        audit_record(
            action="campaign-test-send",
            target=campaign,
            message=TEST_SEND_AUDIT.stored(
                phone=f"+{number}",  # E.164, as the audit log has always kept it
                outcome=test.error or TEST_SEND_ACCEPTED.stored(bsg_id=test.bsg_campaign_id),
            ),
            actor=user,
        )
    return test


def _test_phone_refusal(*, number: str, user: User) -> None:
    """A test send skips approval, so it reaches only the team's own phones (an admin's short
    list), never one on the do-not-contact list."""
    if DoNotContact.objects.filter(phone=number).exists():
        raise ValidationError(
            {
                "phone": _("%(phone)s is on the do-not-contact list; test sends honour it too.")
                % {"phone": phone_display(number)}
            }
        )
    if number not in {test_phone.phone for test_phone in selectors.test_phones_for(user=user)}:
        raise ValidationError(
            {
                "phone": _(
                    "%(phone)s is not one of your test phones. Test sends go only to the phones "
                    "an admin lists under Admin → Test phones."
                )
                % {"phone": phone_display(number)}
            }
        )


def _test_send_reserve(*, test: TestSend, user: User) -> None:
    """Save the test send before it goes out, counted against the person's hourly limit.

    The person's row is locked while counting, so twenty requests at once cannot all pass the
    count; a send in flight counts as much as one done."""
    who = person_or_none(user)
    limit = settings.CAMPAIGNS_TEST_SENDS_PER_HOUR
    with transaction.atomic():
        if who is not None:
            get_user_model().objects.select_for_update().filter(pk=who.pk).first()
            recent = TestSend.objects.filter(
                created_by=who, created_at__gte=timezone.now() - timedelta(hours=1)
            ).count()
            if recent >= limit:
                raise ValidationError(
                    {
                        "phone": ngettext(
                            "You have sent %(count)s tests in the last hour, the most allowed "
                            "(%(limit)s); try again later.",
                            "You have sent %(count)s tests in the last hour, the most allowed "
                            "(%(limit)s); try again later.",
                            recent,
                        )
                        % {"count": recent, "limit": limit}
                    }
                )
        test.save()


def _test_text(
    campaign: Campaign, compiled: rendering.CompiledText, contact: Contact | None, number: str
) -> tuple[Contact | None, str, str]:
    """(contact, text, rendered_as) of a test send. Without a chosen contact it renders as one
    of the audience: a tester reading "Hi !" cannot tell a missing name from a broken text."""
    if not compiled.slots:
        return contact, compiled.source, ""
    chosen = contact is not None
    if contact is None:
        row = selectors.test_send_contact(campaign=campaign, compiled=compiled)
        contact = Contact.objects.filter(pk=row.contact_id).first() if row else None
        if contact is None:
            text = compiled.render_values(compiled.stand_in_values(phone=number))
            return None, text, RENDERED_WITHOUT_CONTACT.stored()
    rendered = compiled.render(phone=contact.phone, name=contact.name, fields=contact.fields)
    notes = []
    if rendered.fallback_fields:
        notes.append(FALLBACK_FOR.stored(fields=_names_stored(compiled, rendered.fallback_fields)))
    if rendered.empty_fields:
        empty = (
            EMPTY_FOR_THEM_LEFT_OUT
            if campaign.leaves_out_recipients_missing_values
            else EMPTY_FOR_THEM
        )
        notes.append(empty.stored(fields=_names_stored(compiled, rendered.empty_fields)))
    how = AS_CHOSEN if chosen else FIRST_OF_AUDIENCE if notes else FIRST_OF_AUDIENCE_FILLED
    return contact, rendered.text, _rendered_as(contact, how.stored(), notes)


def _names_stored(compiled: rendering.CompiledText, labels: tuple[str, ...]) -> str:
    """Placeholders by their names (rendering.Slot.name) as a stored sentence keeps them: a
    field's label as it reads, the contact's own name and phone in English (said in the
    reader's language when shown, campaigns.stored_text)."""
    with translation.override("en"):
        return LABEL_SEPARATOR.join(compiled.names(labels))


def _rendered_as(contact: Contact, how: str, notes: list[str]) -> str:
    """Whose data filled a test send's placeholders, in English as TestSend.rendered_as stores
    it (campaigns.stored_text)."""
    phone = f"+{contact.phone}"  # E.164, as rendered_as has always kept it
    who = (
        NAMED_CONTACT.stored(name=contact.name, phone=phone)
        if contact.name
        else NAMELESS_CONTACT.stored(phone=phone)
    )
    if notes:
        return RENDERED_AS_NOTED.stored(who=who, how=how, notes=CLAUSE_SEPARATOR.join(notes))
    return RENDERED_AS.stored(who=who, how=how)


def _test_rcs(
    campaign: Campaign, template: RcsTemplate, contact: Contact | None, number: str
) -> tuple[Contact | None, RcsRendered, str]:
    """(contact, message, rendered_as) of an RCS test send: personalised like _test_text."""
    if not template.slots:
        return contact, template.render(()), ""
    chosen = contact is not None
    if contact is None:
        row = selectors.test_send_contact(campaign=campaign, compiled=template.combined)
        contact = Contact.objects.filter(pk=row.contact_id).first() if row else None
        if contact is None:
            stand_in = template.combined.stand_in_values(phone=number)
            return None, template.render(stand_in), RENDERED_WITHOUT_CONTACT.stored()
    personalised = template.personalise(
        phone=contact.phone, name=contact.name, fields=contact.fields
    )
    notes = (
        [EMPTY_FOR_THEM.stored(fields=_names_stored(template.combined, personalised.unfilled))]
        if personalised.unfilled
        else []
    )
    how = AS_CHOSEN if chosen else FIRST_OF_AUDIENCE
    return contact, template.render(personalised.values), _rendered_as(contact, how.stored(), notes)


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


def sms_fallback_for_client(campaign: Campaign, *, text: str | None = None) -> SmsFallback | None:
    """The campaign's SMS fallback; `text` is its rendering for a personalised part."""
    if not campaign.fallback_enabled:
        return None
    return SmsFallback(
        text=campaign.fallback_text if text is None else text,
        sender=campaign.fallback_sender,
        validity=campaign.fallback_validity_hours,
    )


def _approval_void_if_edited(*, campaign: Campaign, user: User) -> None:
    """An edit after approval voids it: the next Send asks for approval again, and the approver
    is shown what changed since the approved content (the snapshot is kept for that)."""

    current = selectors.campaign_approval_snapshot(campaign=campaign)
    approved = campaign.approval_snapshot or {}
    # The intent ("when") is set by the next request, not by editing the draft; the
    # recipients are checked against the approved ones when it goes out (engine.dispatch).
    # In English, as the log stores it (campaigns.stored_text says it in the reader's language).
    changed = [
        in_english(change.label)
        for change in selectors.campaign_approval_changes(before=approved, after=current)
        if change.key not in ("send_at", "audience")
    ]
    if not changed:
        return
    Campaign.objects.filter(pk=campaign.pk).update(approved_at=None, approved_by=None)
    campaign.approved_at = campaign.approved_by = None
    actor = person_or_none(user)
    message = APPROVAL_VOID.stored(changed=", ".join(changed).lower())
    event_record(campaign.pk, CampaignEvent.Kind.APPROVAL_VOID, message, user=actor)
    audit_record(action="campaign-approval-void", target=campaign, message=message, actor=actor)
