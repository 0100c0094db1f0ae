"""Dispatch: take a due campaign, resolve every recipient into the ledger, cut it into parts.

The ledger is written in bounded transactions (one batch of rows each), so a million
recipients never hold the database's write lock for long: on the embedded SQLite a poll or a
sign-in waits for one batch, not for the whole campaign. Its parts are not submitted until the
whole ledger is written (`Campaign.ledger_resolved_at`). A worker that dies half-way leaves a
heartbeat that stops moving; the sweep then hands the campaign to another worker, which clears
the half-written ledger (nothing of it was sent) and resolves it again. A dispatch that fails
for any other reason does not retry for ever: the campaign needs attention, with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from bsg import rules

from .. import handoffs, selectors
from ..approval import campaign_authors
from ..audience_digest import ApprovedAudience, AudienceDigest
from ..checks import groups_refusal
from ..models import Campaign, CampaignEvent, CampaignPart, Recipient
from ..rcs_content import rcs_content_from_key
from ..stored_text import (
    DISPATCH_AUDIT_IN_PARTS,
    DISPATCH_AUDIT_IN_PARTS_REFUSED,
    DISPATCH_FAILED,
    DISPATCHED_IN_PARTS,
    DISPATCHED_IN_PARTS_CAPPED,
    NO_RECIPIENTS_LEFT,
    NO_RECIPIENTS_LEFT_CAPPED,
    OWN_AUTHOR_APPROVED,
    PARTS_COUNT,
    SENT_BACK_FOR_APPROVAL,
)
from .bsg_groups import bsg_groups_difference
from .enqueue import parts_enqueue_submit
from .events import event_record
from .ledger import (
    LEDGER_BATCH,
    LedgerWriter,
    base36,
    installation_salt,
    ledger_rows,
    reference_id_for,
)
from .schedules import schedule_capped_phones

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status


@dataclass
class DispatchResult:
    campaign_id: int
    part_ids: list[int] = field(default_factory=list)
    recipients: int = 0
    refused: str = ""
    # The recipients differ from those approved: back to approval, nothing sent.
    sent_back: bool = False


def campaign_dispatch(*, campaign_id: int, now: datetime | None = None) -> DispatchResult | None:
    """Take a due campaign (compare-and-set to `sending`), or one whose dispatch a lost worker
    abandoned, and resolve its ledger. None when there was nothing to take (not due, taken by
    another worker, already resolved) or the dispatch failed (the campaign then says why)."""
    now = now or timezone.now()
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    taken_from = _claim(campaign, now)
    if taken_from is None:
        logger.info("campaign %s: not due or already taken; nothing to dispatch", campaign_id)
        return None
    campaign.refresh_from_db()
    try:
        _ledger_clear(campaign_id)
        result = _resolve_ledger(campaign)
    except Exception as error:
        # Not retried by itself: the same data would fail the same way, every sweep (a repeated
        # reference id once did, 50 tracebacks a minute, "Waiting for the engine…" for ever).
        logger.exception("campaign %s: dispatch failed", campaign_id)
        _dispatch_failed(campaign, error)
        return None
    if result.sent_back:
        return result
    with transaction.atomic():
        ended = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).get()
        audit_record(
            action="campaign-dispatch",
            target=campaign,
            changes={"status": [taken_from, ended]},
            message=(
                DISPATCH_AUDIT_IN_PARTS_REFUSED if result.refused else DISPATCH_AUDIT_IN_PARTS
            ).stored(
                recipients=result.recipients,
                in_parts=PARTS_COUNT.stored(count=len(result.part_ids)),
                **({"refusal": result.refused} if result.refused else {}),
            ),
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=result.part_ids))
    logger.info(
        "campaign %s: dispatched, %s recipients in %s parts",
        campaign_id,
        result.recipients,
        len(result.part_ids),
    )
    return result


def dispatch_abandoned_since(now: datetime) -> datetime:
    """A dispatch whose heartbeat is older than this was left by a worker that died."""
    return now - timedelta(seconds=settings.ENGINE_STUCK_DISPATCH)


def campaigns_abandoned_in_dispatch(*, now: datetime) -> list[int]:
    """Sending campaigns whose ledger a lost worker left half-written (the sweep takes them)."""
    return list(
        Campaign.objects.filter(
            status=Status.SENDING,
            ledger_resolved_at__isnull=True,
            dispatch_error="",
            updated_at__lt=dispatch_abandoned_since(now),
        ).values_list("id", flat=True)
    )


def _claim(campaign: Campaign, now: datetime) -> str | None:
    """Compare-and-set: the status this worker took the campaign from, or None."""
    if campaign.is_due(now=now):
        claimed = Campaign.objects.filter(pk=campaign.pk, status=campaign.status).update(
            status=Status.SENDING, dispatched_at=now, updated_at=now, dispatch_attempts=1
        )
        return campaign.status if claimed == 1 else None
    abandoned = Campaign.objects.filter(
        pk=campaign.pk,
        status=Status.SENDING,
        ledger_resolved_at__isnull=True,
        dispatch_error="",
        updated_at=campaign.updated_at,
        updated_at__lt=dispatch_abandoned_since(now),
    ).update(updated_at=now, dispatch_attempts=F("dispatch_attempts") + 1)
    if abandoned != 1:
        return None
    if campaign.dispatch_attempts + 1 > settings.ENGINE_DISPATCH_MAX_ATTEMPTS:
        # Each try died the same way (a worker killed at its time limit, say): stop trying.
        _dispatch_failed(
            campaign,
            RuntimeError(f"{campaign.dispatch_attempts} tries ended without finishing"),
        )
        return None
    logger.warning("campaign %s: dispatch abandoned by a lost worker; resolving again", campaign.pk)
    return Status.SENDING


def _ledger_clear(campaign_id: int) -> None:
    """Remove what an abandoned dispatch wrote (nothing of it was submitted: parts wait for
    the whole ledger), in batches so that no transaction grows with the campaign."""
    while True:
        batch = list(
            Recipient.objects.filter(campaign_id=campaign_id).values_list("id", flat=True)[
                :LEDGER_BATCH
            ]
        )
        if not batch:
            break
        Recipient.objects.filter(id__in=batch).delete()
    Part.objects.filter(campaign_id=campaign_id).delete()


def _heartbeat(campaign_id: int) -> None:
    Campaign.objects.filter(pk=campaign_id).update(updated_at=timezone.now())


def _dispatch_failed(campaign: Campaign, error: Exception) -> None:
    reason = DISPATCH_FAILED.stored(error=f"{type(error).__name__}: {error}")[:2000]
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk, ledger_resolved_at__isnull=True).update(
            dispatch_error=reason, updated_at=timezone.now()
        )
        event_record(campaign.pk, CampaignEvent.Kind.NEEDS_ATTENTION, reason)
        audit_record(action="campaign-dispatch-failed", target=campaign, message=reason)


def _part_size(campaign: Campaign) -> int:
    return rules.MAX_RCS_RECIPIENTS if campaign.is_rcs else rules.MAX_SMS_RECIPIENTS


def _resolve_ledger(campaign: Campaign) -> DispatchResult:
    result = DispatchResult(campaign_id=campaign.pk)
    if _approved_by_its_author(campaign):
        _send_back_for_approval(campaign, OWN_AUTHOR_APPROVED.stored())
        result.sent_back = True
        return result
    refusal = _groups_refusal(campaign)
    if refusal:
        with transaction.atomic():
            part = Part.objects.create(
                campaign=campaign, number=1, state=State.REJECTED, error=refusal
            )
            event_record(campaign.pk, CampaignEvent.Kind.REJECTED, refusal, part_id=part.pk)
            Campaign.objects.filter(pk=campaign.pk).update(
                status=Status.FINISHED, ledger_resolved_at=timezone.now()
            )
        result.refused = refusal
        return result
    # BSG's group methods send to the whole group in one campaign: no split there.
    size = None if campaign.sends_to_bsg_groups else _part_size(campaign)
    campaign_id = campaign.pk
    # reference_id_for(salt=..., campaign_id=..., seq=...) with its constant head built once.
    reference_head = reference_id_for(salt=installation_salt(), campaign_id=campaign_id, seq=0)[:-1]
    writer = LedgerWriter(on_flush=lambda: _heartbeat(campaign_id))
    add = writer.add
    part_ids: list[int] = []
    counts: list[int] = []
    seq = 0
    # The open part of each message (key None: the campaign's own content) and the room left
    # in it. A personalised RCS campaign's recipients go to the part of their rendered message
    # (BSG's rcs/send takes one message for all its phones: campaigns.rcs_content), so its
    # parts interleave in seq; every other campaign has one key and fills parts in order.
    open_parts: dict[str | None, list[int]] = {}
    capped = schedule_capped_phones(campaign=campaign, now=timezone.now())
    skipped = 0
    approved = _approved_audience(campaign)
    digest = AudienceDigest() if approved is not None else None
    for phone, contact_id, text, sms_parts, reference, message in ledger_rows(
        campaign, approved=approved, digest=digest
    ):
        if capped and phone in capped:
            skipped += 1
            continue
        current = open_parts.get(message)
        if current is None or not current[1]:
            part_id = Part.objects.create(
                campaign=campaign,
                number=len(part_ids) + 1,
                content=rcs_content_from_key(message) if message is not None else {},
            ).pk
            part_ids.append(part_id)
            counts.append(0)
            # [part id, room left, its index in counts]; without a size, a part never fills.
            current = open_parts[message] = [part_id, size or -1, len(counts) - 1]
        part_id = current[0]
        current[1] -= 1
        counts[current[2]] += 1
        add(
            (
                campaign_id,
                part_id,
                seq,
                phone,
                contact_id,
                text,
                sms_parts,
                reference or reference_head + base36(seq),
                "",  # no BSG status yet
            )
        )
        seq += 1
    writer.flush()
    if approved is not None and digest.hexdigest() != approved.digest:
        # Not what its approver approved: nothing of this ledger goes out.
        _ledger_clear(campaign_id)
        _send_back_for_approval(
            campaign,
            selectors.audience_changes_text(
                campaign=campaign,
                since=approved.as_of,
                approved=approved.recipients,
                now=digest.recipients,
            ),
        )
        result.sent_back = True
        return result
    if approved is not None and campaign.sends_to_bsg_groups:
        # BSG fills these from its own contact book: it must hold what was approved.
        difference = bsg_groups_difference(campaign=campaign)
        if difference:
            _ledger_clear(campaign_id)
            _send_back_for_approval(campaign, difference + ".")
            result.sent_back = True
            return result
    result.part_ids = part_ids
    result.recipients = seq
    with transaction.atomic():
        for pk, count in zip(part_ids, counts, strict=True):
            Part.objects.filter(pk=pk).update(recipients=count)
        resolved = Campaign.objects.filter(pk=campaign_id)
        if not part_ids:
            resolved.filter(status=Status.SENDING).update(status=Status.FINISHED)
            said = (
                NO_RECIPIENTS_LEFT_CAPPED.stored(skipped=skipped)
                if skipped
                else NO_RECIPIENTS_LEFT.stored()
            )
            event_record(campaign_id, CampaignEvent.Kind.FINISHED, said)
        else:
            resolved_into = {"recipients": seq, "in_parts": PARTS_COUNT.stored(count=len(part_ids))}
            said = (
                DISPATCHED_IN_PARTS_CAPPED.stored(**resolved_into, skipped=skipped)
                if skipped
                else DISPATCHED_IN_PARTS.stored(**resolved_into)
            )
            event_record(campaign_id, CampaignEvent.Kind.DISPATCHED, said)
        # Only now may its parts be submitted (part_submit and the sweep look at this).
        resolved.update(ledger_resolved_at=timezone.now(), updated_at=timezone.now())
    return result


def _approved_audience(campaign: Campaign) -> ApprovedAudience | None:
    """The recipients its approver approved, to compare the ledger with; None when there is
    nothing to compare: a schedule's run (its approval covers content and lists; the lists'
    members are each run's), a retry of failed recipients (the texts already sent), or a
    campaign approved before approvals covered recipients (every approval records them now:
    campaigns.services.campaign_plan_is_fresh wants a plan that read them)."""
    if campaign.schedule_id or campaign.retry_of_id:
        return None
    return ApprovedAudience.from_snapshot(campaign.approval_snapshot)


def _approved_by_its_author(campaign: Campaign) -> bool:
    """Four-eyes is on, and the approval this campaign goes out under is one that four-eyes
    would have refused: given by its own author while four-eyes was off. (A schedule's run
    is checked by its schedule, a retry resends texts already approved.)"""
    return bool(
        settings.CAMPAIGNS_FOUR_EYES
        and not campaign.schedule_id
        and not campaign.retry_of_id
        and (campaign.approval_snapshot or {}).get("approved_by_an_author")
    )


def _send_back_for_approval(campaign: Campaign, reason: str) -> None:
    """Back to its approvers instead of out: the recipients or their values differ from the
    ones approved. Send plans made before now are out of date; the approver sees why."""
    now = timezone.now()
    send_at = campaign.approval_send_at
    if send_at is not None and send_at <= now:
        send_at = None  # its time has passed: it goes as soon as it is approved again
    message = SENT_BACK_FOR_APPROVAL.stored(reason=reason)
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk, status=Status.SENDING).update(
            status=Status.AWAITING_APPROVAL,
            dispatched_at=None,
            ledger_resolved_at=None,
            dispatch_attempts=0,
            send_requested_at=None,
            start_at=None,
            approved_at=None,
            approved_by=None,
            approval_requested_at=now,
            approval_send_at=send_at,
            audience_changed_at=now,
            sent_back_reason=message,
            updated_at=now,
        )
        event_record(campaign.pk, CampaignEvent.Kind.APPROVAL_VOID, message)
        audit_record(
            action="campaign-approval-void",
            target=campaign,
            changes={"status": [Status.SENDING, Status.AWAITING_APPROVAL]},
            message=message,
        )
        handoffs.handoff_mail(
            to=handoffs.approvers_who_may_approve(authors=campaign_authors(campaign=campaign)),
            say=lambda: handoffs.audience_changed(campaign=campaign, reason=reason),
        )
    logger.warning("campaign %s: %s", campaign.pk, message)


def _groups_refusal(campaign: Campaign) -> str:
    """Why BSG's group method must not be used for this campaign, or ""."""
    if not campaign.sends_to_bsg_groups:
        return ""
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    return groups_refusal(campaign=campaign, list_ids=list_ids)
