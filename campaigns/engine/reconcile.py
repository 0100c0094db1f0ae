"""Reconcile: settle an unconfirmed part from BSG's own records (E9 by reference id, E5 for
group sends). Only when BSG provably holds none of its messages may it be sent again."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bsg.client import BsgClient
from bsg.errors import BsgError
from bsg.schemas import Campaign as BsgCampaign
from config.bsg import bsg_client

from ..models import CampaignEvent, CampaignPart, Recipient
from ..stored_text import PART_AMBIGUOUS, PART_NONE_AT_BSG, PART_SENT_AGAIN, PART_UNASKABLE
from .enqueue import parts_enqueue_submit
from .events import event_record
from .submit import SubmitOutcome, backoff_delay, part_link

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State


# E9's page[limit] is 15-500 (YAML); one reference is one message, so the smallest page will do.
REFERENCE_PAGE = 15


def part_reconcile(*, part_id: int, now: datetime | None = None) -> SubmitOutcome | None:
    """Settle an unconfirmed part from BSG's records; None if it is not unconfirmed."""
    now = now or timezone.now()
    part = Part.objects.select_related("campaign").filter(pk=part_id).first()
    if part is None or part.state != State.UNCONFIRMED:
        return None
    if part.next_attempt_at is not None and part.next_attempt_at > now:
        # Not before its next attempt: a sweep or a redelivered task asking early spends no
        # try, so a BSG that cannot be reached for a while is waited for, not given up on.
        wait = (part.next_attempt_at - now).total_seconds()
        return SubmitOutcome(part.pk, State.UNCONFIRMED, "not due yet", retry_in=wait)
    try:
        with bsg_client() as client:
            if part.campaign.sends_with_reference_ids:
                found = _find_by_references(client, part)
            else:
                found = _find_by_window(client, part, now)
    except _Ambiguous as ambiguous:
        return _needs_attention(part, str(ambiguous))
    except BsgError as error:
        tries = part.reconcile_tries + 1
        delay = backoff_delay(tries)
        # The next try's time lives in the database, where the sweep honours it; the task's
        # countdown is only a shortcut to it.
        Part.objects.filter(pk=part.pk, state=State.UNCONFIRMED).update(
            reconcile_tries=tries, next_attempt_at=now + delay
        )
        if tries >= settings.ENGINE_RECONCILE_MAX_TRIES:
            return _needs_attention(
                part,
                PART_UNASKABLE.stored(number=part.number, error=error),
            )
        logger.info("part %s: reconcile lookup failed (%s); later", part.pk, error)
        return SubmitOutcome(part.pk, State.UNCONFIRMED, str(error), retry_in=delay.total_seconds())
    if found is not None:
        part_link(part, found, now, how="reconciled")
        return SubmitOutcome(part.pk, State.SUBMITTED, str(found.id))
    # None of its messages at BSG. A request that timed out may still be processed a moment
    # later, so "none" only counts once the grace period has passed since the attempt.
    waited = (now - part.last_attempt_at).total_seconds() if part.last_attempt_at else 1e9
    if waited < settings.ENGINE_RECONCILE_GRACE:
        return SubmitOutcome(
            part.pk,
            State.UNCONFIRMED,
            "not found yet",
            retry_in=settings.ENGINE_RECONCILE_GRACE - waited,
        )
    if part.attempts >= settings.ENGINE_SUBMIT_MAX_ATTEMPTS:
        return _needs_attention(
            part,
            PART_NONE_AT_BSG.stored(number=part.number, attempts=part.attempts),
        )
    changed = Part.objects.filter(pk=part.pk, state=State.UNCONFIRMED).update(
        state=State.PENDING, next_attempt_at=None, reconcile_tries=0
    )
    if changed == 1:
        event_record(
            part.campaign_id,
            CampaignEvent.Kind.RETRY,
            PART_SENT_AGAIN.stored(number=part.number),
            part_id=part.pk,
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=[part.pk]))
    return SubmitOutcome(part.pk, State.PENDING, "none found at BSG")


class _Ambiguous(Exception):
    pass


def _find_by_references(client: BsgClient, part: CampaignPart) -> BsgCampaign | None:
    """BSG creates a campaign with all its messages or none, so a few of the part's reference
    ids say it: the first and the last."""
    ledger = Recipient.objects.filter(part_id=part.pk)
    first = ledger.order_by("seq").values_list("reference_id", flat=True).first()
    last = ledger.order_by("-seq").values_list("reference_id", flat=True).first()
    for reference in dict.fromkeys(r for r in (first, last) if r):
        page = client.messages_page(reference_id=reference, limit=REFERENCE_PAGE)
        for message in page.items:
            if message.reference_id == reference and message.campaign_id:
                return client.campaign_get(campaign_id=message.campaign_id)
    return None


def _find_by_window(client: BsgClient, part: CampaignPart, now: datetime) -> BsgCampaign | None:
    """Group sends carry no reference ids: look for a campaign of ours created around the
    attempt (E5), with our sender, not already linked to another part."""
    campaign = part.campaign
    # An RCS campaign's BSG sender is its agent.
    sender = campaign.rcs_agent if campaign.is_rcs else campaign.sender
    since = (part.last_attempt_at or now) - timedelta(minutes=2)
    taken = set(
        Part.objects.filter(bsg_campaign_id__isnull=False).values_list("bsg_campaign_id", flat=True)
    )
    candidates = [
        c
        for c in client.iter_campaigns(
            message_type="rcs" if campaign.is_rcs else "sms",
            date_from=since,
            date_to=now + timedelta(minutes=1),
        )
        if c.id not in taken and (c.sender or "") == sender
    ]
    if len(candidates) > 1:
        ids = ", ".join(str(c.id) for c in candidates)
        raise _Ambiguous(PART_AMBIGUOUS.stored(number=part.number, ids=ids))
    return candidates[0] if candidates else None


def _needs_attention(part: CampaignPart, message: str) -> SubmitOutcome:
    Part.objects.filter(pk=part.pk, state__in=[State.UNCONFIRMED, State.SUBMITTING]).update(
        state=State.NEEDS_ATTENTION, error=message
    )
    event_record(part.campaign_id, CampaignEvent.Kind.NEEDS_ATTENTION, message, part_id=part.pk)
    logger.error("part %s of campaign %s: needs attention: %s", part.pk, part.campaign_id, message)
    return SubmitOutcome(part.pk, State.NEEDS_ATTENTION, message)
