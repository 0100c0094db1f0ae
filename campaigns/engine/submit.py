"""Submit: claim a pending part, check the guard rails, POST it to BSG, record the answer.

A POST whose answer is unclear makes the part `unconfirmed` (reconcile.py settles it), never a
second POST: each one could be a paid SMS blast."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from bsg.client import BsgClient
from bsg.errors import BsgError
from bsg.payloads import IndividualMessage
from bsg.payloads import Recipient as BsgRecipient
from bsg.schemas import Campaign as BsgCampaign
from config.bsg import bsg_client
from contacts.selectors import fields_by_reference

from .. import rendering
from ..models import Campaign, CampaignEvent, CampaignPart, Recipient
from ..services import rcs_cards_for_client, sms_fallback_for_client
from ..stored_text import (
    PART_NOT_SENT,
    PART_RECONCILED,
    PART_REFUSED,
    PART_SUBMITTED,
    PART_UNCONFIRMED,
    STATUS_UNKNOWN,
)
from .bsg_groups import bsg_group_ids
from .delivery_reports import callback_url, part_pushes_reports, reports_quiet_window
from .events import event_record
from .guard_rails import hold_reason, part_hold, unit_price_record, window_opens_at
from .poll import campaign_finish_if_settled
from .stop import part_stop_at_bsg

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status


def backoff_delay(attempts: int) -> timedelta:
    """Exponential backoff, capped (settings), with "equal jitter": at least half the ceiling,
    so that the tries before giving up span a known time (with the defaults, 10 reconcile
    tries wait 10 minutes or more), and at most all of it, so that parts do not move in step."""
    ceiling = min(
        settings.ENGINE_BACKOFF_MAX, settings.ENGINE_BACKOFF_BASE * 2 ** max(0, attempts - 1)
    )
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


@dataclass(frozen=True)
class SubmitOutcome:
    part_id: int
    state: str
    detail: str = ""
    retry_in: float | None = None


def part_submit(*, part_id: int, now: datetime | None = None) -> SubmitOutcome | None:
    """Submit one part if it is pending and due; None when another worker has it or it moved."""
    now = now or timezone.now()
    part = Part.objects.select_related("campaign").filter(pk=part_id).first()
    if part is None:
        return None
    campaign = part.campaign
    if campaign.status != Status.SENDING or campaign.ledger_resolved_at is None:
        # Stopped, or its ledger still being written: a part goes only with the whole ledger.
        return None
    opens = window_opens_at(campaign=campaign, now=now)
    if opens is not None:
        # Outside the sending window: the sweep submits it once the window opens (nothing is
        # parked in the broker until then).
        moved = Part.objects.filter(pk=part_id, state=State.PENDING).update(next_attempt_at=opens)
        if moved:
            logger.info(
                "part %s of campaign %s: outside the sending window; waits until %s",
                part_id,
                campaign.pk,
                opens.isoformat(),
            )
        return SubmitOutcome(part_id, State.PENDING, f"outside the sending window until {opens}")
    # The claim: exactly one worker moves pending -> submitting.
    changed = (
        Part.objects.filter(pk=part_id, state=State.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            state=State.SUBMITTING,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=None,
        )
    )
    if changed != 1:
        logger.info(
            "part %s of campaign %s: not pending or not due; left alone", part_id, campaign.pk
        )
        return None
    part.refresh_from_db()
    with bsg_client() as client:
        try:
            reason = hold_reason(client, campaign, part)
            if reason:
                part_hold(part, reason)
                return SubmitOutcome(part.pk, State.HELD, reason)
            answer = _post_part(client, campaign, part, now)
        except BsgError as error:
            return _submit_failed(part, error, now)
    part_link(part, answer, now, how="submitted")
    return SubmitOutcome(part_id=part.pk, state=State.SUBMITTED, detail=str(answer.id))


def _post_part(client: BsgClient, campaign: Campaign, part: CampaignPart, now: datetime):
    start_at = (
        campaign.start_at
        if campaign.bsg_schedules and campaign.start_at and campaign.start_at > now
        else None
    )
    ledger = Recipient.objects.filter(part_id=part.pk).order_by("seq")
    # BSG pushes these messages' statuses to us when we give it where (issue 16).
    callback = callback_url() if part_pushes_reports(campaign) else None
    if campaign.retry_of_id or (
        campaign.is_sms and campaign.sms_mode == Campaign.SmsMode.INDIVIDUAL
    ):
        sender = campaign.sender
        # (phone, text, sender, reference id), positionally: ten thousand a part.
        messages = [
            IndividualMessage(phone, text, sender, ref)
            for phone, text, ref in ledger.values_list("phone", "text", "reference_id")
        ]
        return client.sms_send_individual(
            messages=messages,
            validity=campaign.validity_hours,
            tariff_code=campaign.tariff_code,
            start_at=start_at,
            callback_url=callback,
        )
    if campaign.is_sms and campaign.sms_mode == Campaign.SmsMode.NUMBERS:
        phones = [
            BsgRecipient(number=phone, reference_id=ref)
            for phone, ref in ledger.values_list("phone", "reference_id")
        ]
        return client.sms_send(
            phones=phones,
            text=campaign.text,
            sender=campaign.sender,
            validity=campaign.validity_hours,
            tariff_code=campaign.tariff_code,
            start_at=start_at,
            callback_url=callback,
        )
    if campaign.is_sms:
        compiled = rendering.compile_text(
            campaign.text, fields=fields_by_reference(), mode=rendering.MODE_GROUPS
        )
        return client.sms_send_groups(
            groups=bsg_group_ids(campaign=campaign),
            text=compiled.for_bsg_groups(),
            sender=campaign.sender,
            validity=campaign.validity_hours,
            tariff_code=campaign.tariff_code,
            start_at=start_at,
        )
    if campaign.sends_to_bsg_groups:
        # E6: one BSG campaign for the whole groups (dispatch made one part and refused lists
        # over 5,000 contacts or holding do-not-contact numbers); BSG resolves the members.
        return client.rcs_send_groups(
            groups=bsg_group_ids(campaign=campaign),
            sender=campaign.rcs_agent,
            cards=rcs_cards_for_client(campaign.rcs_cards),
            sms_fallback=sms_fallback_for_client(campaign),
            check_stop_list=campaign.rcs_check_stop_list,
            validity=campaign.validity_hours,
            tariff_code=campaign.tariff_code,
            start_at=start_at,
        )
    # E14 to the lists' phones (with reference ids): the one RCS method that can be split at
    # 5,000, leave do-not-contact numbers out and be reconciled by reference id. It takes one
    # message for all its phones, so a personalised campaign's part carries the message its
    # recipients share, rendered at dispatch (CampaignPart.content, campaigns.rcs_content).
    phones = [
        BsgRecipient(number=phone, reference_id=ref)
        for phone, ref in ledger.values_list("phone", "reference_id")
    ]
    content = part.content or {}
    return client.rcs_send(
        phones=phones,
        sender=campaign.rcs_agent,
        cards=rcs_cards_for_client(content.get("cards") or campaign.rcs_cards),
        sms_fallback=sms_fallback_for_client(campaign, text=content.get("fallback_text")),
        check_stop_list=campaign.rcs_check_stop_list,
        validity=campaign.validity_hours,
        tariff_code=campaign.tariff_code,
        start_at=start_at,
    )


def _submit_failed(part: CampaignPart, error: BsgError, now: datetime) -> SubmitOutcome:
    campaign_id = part.campaign_id
    if error.may_have_been_accepted:
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.UNCONFIRMED, outcome_was_unknown=True, error=str(error)
        )
        event_record(
            campaign_id,
            CampaignEvent.Kind.UNCONFIRMED,
            PART_UNCONFIRMED.stored(number=part.number, error=error),
            part_id=part.pk,
        )
        logger.warning("part %s of campaign %s: unconfirmed: %s", part.pk, campaign_id, error)
        return SubmitOutcome(
            part.pk, State.UNCONFIRMED, str(error), retry_in=settings.ENGINE_RECONCILE_GRACE
        )
    if (
        error.refuses_the_request
        and part.outcome_was_unknown
        and any("reference" in key for key in error.errors)
    ):
        # Our reference ids are taken: an earlier attempt that got no answer went through.
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.UNCONFIRMED, error=str(error)
        )
        logger.warning(
            "part %s of campaign %s: references already at BSG; reconciling", part.pk, campaign_id
        )
        return SubmitOutcome(part.pk, State.UNCONFIRMED, str(error), retry_in=0)
    if error.refuses_the_request:
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.REJECTED, error=_rejection_text(error), finished_at=now
        )
        event_record(
            campaign_id,
            CampaignEvent.Kind.REJECTED,
            PART_REFUSED.stored(number=part.number, refusal=_rejection_text(error)),
            part_id=part.pk,
        )
        logger.warning("part %s of campaign %s: rejected: %r", part.pk, campaign_id, error)
        campaign_finish_if_settled(campaign_id=campaign_id, now=now)
        return SubmitOutcome(part.pk, State.REJECTED, str(error))
    # Permanent but not the request's fault (a refused login): a person fixes the account first.
    if error.permanent or part.attempts >= settings.ENGINE_SUBMIT_MAX_ATTEMPTS:
        message = PART_NOT_SENT.stored(number=part.number, attempts=part.attempts, error=error)
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.NEEDS_ATTENTION, error=message
        )
        event_record(campaign_id, CampaignEvent.Kind.NEEDS_ATTENTION, message, part_id=part.pk)
        logger.error("part %s of campaign %s: needs attention: %s", part.pk, campaign_id, error)
        return SubmitOutcome(part.pk, State.NEEDS_ATTENTION, message)
    # Nothing reached BSG (503, refused connection): safe to ask again later.
    delay = backoff_delay(part.attempts)
    Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
        state=State.PENDING, next_attempt_at=now + delay, error=str(error)
    )
    logger.info(
        "part %s of campaign %s: BSG unavailable (%s); retry in %.1fs",
        part.pk,
        campaign_id,
        error,
        delay.total_seconds(),
    )
    return SubmitOutcome(part.pk, State.PENDING, str(error), retry_in=delay.total_seconds())


def _rejection_text(error: BsgError) -> str:
    details = [f"{k}: {' '.join(v)}" for k, v in list(error.errors.items())[:5]]
    return error.message + (" — " + "; ".join(details) if details else "")


def part_link(part: CampaignPart, answer: BsgCampaign, now: datetime, *, how: str) -> bool:
    """Record the BSG campaign a part became; False if the part had already moved on."""
    from_states = [State.SUBMITTING] if how == "submitted" else [State.UNCONFIRMED]
    # The discovery may have recorded this BSG campaign as "created elsewhere" while our answer
    # was in doubt: it is ours, so that record goes.
    Campaign.objects.filter(created_elsewhere=True, parts__bsg_campaign_id=answer.id).delete()
    pushed = part_pushes_reports(part.campaign)
    changed = Part.objects.filter(pk=part.pk, state__in=from_states).update(
        state=State.SUBMITTED,
        bsg_campaign_id=answer.id,
        bsg_status=answer.status or "",
        sent=answer.statistics.sent,
        delivered=answer.statistics.delivered,
        submitted_at=now,
        error="",
        reports_pushed=pushed,
        # Read its recipients' statuses at once, unless BSG pushes them: then only if none
        # has come by the end of the quiet window (poll.py).
        next_messages_poll_at=now + reports_quiet_window() if pushed else now,
    )
    if changed != 1:
        return False
    unit_price_record(part, answer)
    kind = CampaignEvent.Kind.SUBMITTED if how == "submitted" else CampaignEvent.Kind.RECONCILED
    said = PART_SUBMITTED if how == "submitted" else PART_RECONCILED
    event_record(
        part.campaign_id,
        kind,
        said.stored(
            number=part.number, bsg_id=answer.id, status=answer.status or STATUS_UNKNOWN.stored()
        ),
        part_id=part.pk,
    )
    logger.info("part %s of campaign %s: %s as BSG %s", part.pk, part.campaign_id, how, answer.id)
    if Campaign.objects.filter(pk=part.campaign_id, status=Status.STOPPED).exists():
        # Stopped while this part's request was in doubt: stop what turned out to exist.
        part.refresh_from_db()
        part_stop_at_bsg(part, user=None)
    return True
