"""Dispatch: take a due campaign, resolve every recipient into the ledger, cut it into parts.

In slices, so that every worker process can take a share (issue 16: ten million recipients in
five minutes). The worker that takes the campaign cuts its audience at every part's worth of
recipients (DispatchSlice: one read of the audience's keys, before anything is written),
queues one `dispatch_slice_write` task for each slice but the first, and then claims slices
itself until none is left; the other processes take the queued ones. A slice's seq are its
first_seq plus each recipient's place in the audience, so the ledger, its reference ids and
its parts are the ones a dispatch of the whole audience in one slice gives, whoever wrote which
slice. The worker whose slice is the last to be written (a counter on the campaign, decreased
in the transaction that marks a slice written) checks the approved digest over all slices and
only then sets `Campaign.ledger_resolved_at`: parts are submitted only once the whole ledger
is written and matches what was approved (a slice cannot be checked alone without letting a
part go out before the rest is known to match, and a campaign sent back must have sent nothing).

The ledger is written in bounded transactions (one batch of rows each), so a million
recipients never hold the database's write lock for long: on the embedded SQLite a poll or a
sign-in waits for one batch, not for the whole campaign (slices there simply take turns). Each
batch also renews its slice's heartbeat, on condition that the slice is still this worker's
claim: a slice whose heartbeat stops moving is claimed again by another worker, which clears
what it holds (nothing of it was sent) and writes it again, and the lost worker can no longer
commit a row. A campaign on which no slice moves is handed on by the sweep as before. A
dispatch that fails for any other reason does not retry for ever: the campaign needs
attention, with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import audit_record
from bsg import rules

from .. import handoffs, selectors
from ..approval import campaign_authors
from ..audience_digest import (
    ApprovedAudience,
    AudienceDigest,
    audience_digest_combined,
    audience_slice_rows,
)
from ..checks import groups_refusal
from ..models import Campaign, CampaignEvent, CampaignPart, DispatchSlice, Recipient
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
from .enqueue import parts_enqueue_submit, task_send
from .events import event_record
from .ledger import (
    LEDGER_BATCH,
    LedgerWriter,
    installation_salt,
    ledger_rows,
    ledger_statistics_refresh,
    reference_head_for,
    reference_seq,
)
from .schedules import schedule_capped_phones

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status
SliceState = DispatchSlice.State


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
    abandoned, cut its audience into slices and write slices until none is left to claim. The
    result when this call ended the dispatch (resolved, refused or sent back); None when there
    was nothing to take (not due, taken by another worker, already resolved), when another
    worker's slice ended it, or when the dispatch failed (the campaign then says why)."""
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
        abandoned_with_slices = (
            taken_from == Status.SENDING
            and DispatchSlice.objects.filter(campaign_id=campaign_id).exists()
        )
        if not abandoned_with_slices:
            _ledger_clear(campaign_id)
            ended = _dispatch_start(campaign, taken_from)
            if ended is not None:
                return ended
        elif campaign.dispatch_slices_left == 0:
            # Every slice written, but the worker that wrote the last one was lost before it
            # finished the dispatch: finish it here.
            return _dispatch_finish(campaign_id)
        return _slices_write(campaign_id, now=now)
    except Exception as error:
        # Not retried by itself: the same data would fail the same way, every sweep (a repeated
        # reference id once did, 50 tracebacks a minute, "Waiting for the engine…" for ever).
        logger.exception("campaign %s: dispatch failed", campaign_id)
        _dispatch_failed(campaign, error)
        return None


def dispatch_slice_write(*, slice_id: int) -> DispatchResult | None:
    """Write one slice of a dispatching campaign (queued by campaign_dispatch), unless another
    worker has it or it is written; the result when it was the last slice and ended the
    dispatch."""
    piece = DispatchSlice.objects.filter(pk=slice_id).values("campaign_id", "number").first()
    if piece is None:
        return None
    campaign_id = piece["campaign_id"]
    try:
        return _slices_write(campaign_id, now=timezone.now(), number=piece["number"])
    except Exception as error:
        logger.exception("campaign %s: dispatch failed in slice %s", campaign_id, piece["number"])
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is not None:
            _dispatch_failed(campaign, error)
        return None


class SliceTaken(Exception):
    """The slice this worker was writing was claimed again (its heartbeat had stopped): what
    the worker still holds must not reach the ledger."""


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
    _rows_delete(Recipient.objects.filter(campaign_id=campaign_id))
    Part.objects.filter(campaign_id=campaign_id).delete()
    DispatchSlice.objects.filter(campaign_id=campaign_id).delete()


def _rows_delete(rows) -> None:
    while True:
        batch = list(rows.values_list("id", flat=True)[:LEDGER_BATCH])
        if not batch:
            return
        Recipient.objects.filter(id__in=batch).delete()


def _slice_clear(piece: DispatchSlice) -> None:
    """Whatever an earlier claim of this slice wrote: its parts hold all its rows. Only a slice
    claimed again can hold any (a batch commits only under its own claim, _slice_heartbeat),
    and the rows are found by their parts' ids, on the ledger's (part, seq) index: joined to
    the parts instead, a ledger never analysed (written in minutes, autovacuum behind) was
    scanned whole for every slice, a third of a ten-million dispatch's time."""
    part_ids = list(Part.objects.filter(dispatch_slice_id=piece.pk).values_list("id", flat=True))
    if part_ids:
        _rows_delete(Recipient.objects.filter(part_id__in=part_ids))
        Part.objects.filter(pk__in=part_ids).delete()


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


def _dispatch_start(campaign: Campaign, taken_from: str) -> DispatchResult | None:
    """Refuse or send back what must not go out as it is; else cut the audience into slices
    and queue a task for each but the first (this worker starts with that one). The result
    when the dispatch ended here."""
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
            _dispatch_audit(campaign, taken_from, result)
        return result
    approved = _approved_audience(campaign)
    # Cut as its approval's digest was cut (an approval from before slices: one slice). BSG's
    # groups always take one slice: each part there is a send to the whole group.
    if campaign.sends_to_bsg_groups:
        rows = None
    elif approved is not None:
        rows = approved.slice_rows
    else:
        rows = audience_slice_rows(campaign=campaign)
    firsts: list[int | None] = [None]
    if rows is not None:
        keys = selectors.campaign_audience_slice_keys(
            campaign=campaign,
            every=rows,
            opted_out_by=approved.as_of if approved is not None else None,
        )
        firsts = [None, *keys[1:]]
    slices = [
        DispatchSlice(
            campaign_id=campaign.pk,
            number=number,
            first_key=first,
            end_key=firsts[number + 1] if number + 1 < len(firsts) else None,
            first_seq=number * (rows or 0),
            rows=rows,
        )
        for number, first in enumerate(firsts)
    ]
    with transaction.atomic():
        DispatchSlice.objects.bulk_create(slices)
        Campaign.objects.filter(pk=campaign.pk).update(
            dispatched_from=taken_from,
            dispatch_slices_left=len(slices),
            dispatch_next_seq=len(slices) * (rows or 0),
            updated_at=timezone.now(),
        )
        if len(slices) > 1:
            queued = list(
                DispatchSlice.objects.filter(campaign_id=campaign.pk, number__gt=0).values_list(
                    "id", flat=True
                )
            )
            transaction.on_commit(lambda: _slices_enqueue(queued))
    if len(slices) > 1:
        logger.info("campaign %s: dispatching in %s slices", campaign.pk, len(slices))
    return None


def _slices_enqueue(slice_ids: list[int]) -> None:
    from .. import tasks

    for slice_id in slice_ids:
        task_send(tasks.dispatch_slice_write, slice_id)


def _slices_write(
    campaign_id: int, *, now: datetime, number: int | None = None
) -> DispatchResult | None:
    """Claim and write slices (only slice `number`, if given) until none is left to claim;
    the result when the last one written here ended the dispatch."""
    while True:
        claimed = _slice_claim(campaign_id, now=now, number=number)
        if claimed is None:
            return None
        try:
            last = _slice_write(claimed)
        except SliceTaken:
            logger.warning(
                "campaign %s: slice %s was claimed by another worker; left to it",
                campaign_id,
                claimed.number,
            )
            last = False
        if last:
            return _dispatch_finish(campaign_id)
        if number is not None:
            return None
        now = timezone.now()


def _slice_claim(campaign_id: int, *, now: datetime, number: int | None) -> DispatchSlice | None:
    """Compare-and-set: a slice waiting, or one whose writer's heartbeat stopped, becomes this
    worker's (its attempt one more); None when there is none, or the campaign is no longer
    being dispatched (stopped, failed, resolved)."""
    dispatching = Campaign.objects.filter(
        pk=campaign_id, status=Status.SENDING, ledger_resolved_at__isnull=True, dispatch_error=""
    )
    if not dispatching.exists():
        return None
    claimable = DispatchSlice.objects.filter(campaign_id=campaign_id).filter(
        Q(state=SliceState.PENDING)
        | Q(state=SliceState.WRITING, heartbeat_at__lt=dispatch_abandoned_since(now))
    )
    if number is not None:
        claimable = claimable.filter(number=number)
    while True:
        candidates = list(claimable.order_by("number").values_list("id", "attempt")[:10])
        if not candidates:
            return None
        for pk, attempt in candidates:
            taken = claimable.filter(pk=pk, attempt=attempt).update(
                state=SliceState.WRITING, attempt=attempt + 1, heartbeat_at=now
            )
            if taken == 1:
                return _slice_claimed(DispatchSlice.objects.get(pk=pk))
        # Each was taken by another worker meanwhile: look again.


def _slice_claimed(piece: DispatchSlice) -> DispatchSlice:
    if piece.attempt > settings.ENGINE_DISPATCH_MAX_ATTEMPTS:
        # Each try at it died the same way (a worker killed at its time limit, say).
        raise RuntimeError(
            f"slice {piece.number}: {piece.attempt - 1} tries ended without finishing"
        )
    if piece.attempt > 1:
        logger.warning(
            "campaign %s: slice %s abandoned by a lost worker; writing it again",
            piece.campaign_id,
            piece.number,
        )
    return piece


def _slice_write(piece: DispatchSlice) -> bool:
    """Write one claimed slice's ledger rows and parts; True when it was the last slice."""
    campaign = Campaign.objects.get(pk=piece.campaign_id)
    campaign_id = campaign.pk
    if piece.attempt > 1:
        _slice_clear(piece)
    # BSG's group methods send to the whole group in one campaign: no split there.
    size = None if campaign.sends_to_bsg_groups else _part_size(campaign)
    # reference_id_for(salt=..., campaign_id=..., seq=...) with its constant head built once.
    reference_head = reference_head_for(salt=installation_salt(), campaign_id=campaign_id)
    part_ids: list[int] = []
    counts: list[int] = []
    sms_parts_counts: list[int] = []
    written = 0
    # The open part of each message (key None: the campaign's own content) and the room left
    # in it. A personalised RCS campaign's recipients go to the part of their rendered message
    # (BSG's rcs/send takes one message for all its phones: campaigns.rcs_content), so its
    # parts interleave in seq; every other campaign has one key and fills parts in order.
    open_parts: dict[str | None, list[int]] = {}
    # A schedule with a frequency cap is dispatched in one slice (audience_slice_rows).
    capped = schedule_capped_phones(campaign=campaign, now=campaign.dispatched_at or timezone.now())
    skipped = 0
    approved = _approved_audience(campaign)
    digest = AudienceDigest()
    room = piece.rows
    # Rows stream into the ledger as they are made (LedgerWriter), so any other query of ours
    # waits for a flush: making a part, taking a seq.
    with LedgerWriter(on_flush=lambda: _slice_heartbeat(piece, campaign_id)) as writer:
        add = writer.add
        for position, phone, contact_id, text, sms_parts, reference, message in ledger_rows(
            campaign,
            approved=approved,
            digest=digest,
            first_key=piece.first_key,
            end_key=piece.end_key,
        ):
            if capped and phone in capped:
                skipped += 1
                continue
            if room is None or position < room:
                seq = piece.first_seq + position
            else:
                # More recipients than the slice held when it was cut (some joined its range
                # since): the next seq no slice's room can reach. An approved campaign's digest
                # differs then anyway, and it goes back for approval.
                writer.flush()
                seq = _next_seq(campaign_id)
            current = open_parts.get(message)
            if current is None or not current[1]:
                writer.flush()
                part_id = Part.objects.create(
                    campaign=campaign,
                    number=_provisional_number(piece, len(part_ids)),
                    content=rcs_content_from_key(message) if message is not None else {},
                    dispatch_slice=piece,
                ).pk
                part_ids.append(part_id)
                counts.append(0)
                sms_parts_counts.append(0)
                # [part id, room left, its index in counts]; without a size, a part never fills.
                current = open_parts[message] = [part_id, size or -1, len(counts) - 1]
            part_id = current[0]
            current[1] -= 1
            counts[current[2]] += 1
            sms_parts_counts[current[2]] += sms_parts
            add(
                (
                    campaign_id,
                    part_id,
                    seq,
                    phone,
                    contact_id,
                    text,
                    sms_parts,
                    reference or reference_head + reference_seq(seq),
                    "",  # no BSG status yet
                )
            )
            written += 1
    with transaction.atomic():
        done = DispatchSlice.objects.filter(
            pk=piece.pk, attempt=piece.attempt, state=SliceState.WRITING
        ).update(
            state=SliceState.WRITTEN,
            heartbeat_at=timezone.now(),
            digest=digest.hexdigest(),
            digested=digest.recipients,
            written=written,
            skipped=skipped,
        )
        if done != 1:
            raise SliceTaken
        for pk, count, units in zip(part_ids, counts, sms_parts_counts, strict=True):
            Part.objects.filter(pk=pk).update(recipients=count, sms_parts=units)
        # Under this row's lock until commit: of two last slices, one reads 0.
        left = Campaign.objects.filter(pk=campaign_id)
        left.update(dispatch_slices_left=F("dispatch_slices_left") - 1, updated_at=timezone.now())
        return left.values_list("dispatch_slices_left", flat=True).get() == 0


def _provisional_number(piece: DispatchSlice, index: int) -> int:
    """A part's number while slices are written side by side, unique without knowing the
    other slices' parts: a slice's first part takes its slice's number (one part a slice is
    the rule, so it is its final number), any further part one above every slice's
    (_parts_number puts them in order once the ledger is whole)."""
    if index == 0:
        return piece.number + 1
    slices = DispatchSlice.objects.filter(campaign_id=piece.campaign_id).count()
    return slices + piece.first_seq + index


def _next_seq(campaign_id: int) -> int:
    with transaction.atomic():
        taken = Campaign.objects.filter(pk=campaign_id)
        taken.update(dispatch_next_seq=F("dispatch_next_seq") + 1)
        return taken.values_list("dispatch_next_seq", flat=True).get() - 1


def _slice_heartbeat(piece: DispatchSlice, campaign_id: int) -> None:
    """In each batch's transaction: the batch commits only while the slice is still this
    claim's (a fencing token), and the campaign shows the sweep that its dispatch moves."""
    mine = DispatchSlice.objects.filter(
        pk=piece.pk, attempt=piece.attempt, state=SliceState.WRITING
    ).update(heartbeat_at=timezone.now())
    if mine != 1:
        raise SliceTaken
    _heartbeat(campaign_id)


def _dispatch_finish(campaign_id: int) -> DispatchResult | None:
    """Every slice is written: check the whole ledger against what was approved, number its
    parts, and let them be submitted. None when the campaign is no longer being dispatched
    (stopped meanwhile, or already finished by another worker)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if (
        campaign.status != Status.SENDING
        or campaign.ledger_resolved_at is not None
        or campaign.dispatch_error
    ):
        return None
    result = DispatchResult(campaign_id=campaign_id)
    slices = list(
        DispatchSlice.objects.filter(campaign_id=campaign_id)
        .order_by("number")
        .values_list("state", "digest", "digested", "written", "skipped")
    )
    if any(state != SliceState.WRITTEN for state, *_ in slices):
        return None
    approved = _approved_audience(campaign)
    digested = sum(row[2] for row in slices)
    if approved is not None and (
        audience_digest_combined([row[1] for row in slices]) != approved.digest
    ):
        # Not what its approver approved: nothing of this ledger goes out.
        _ledger_clear(campaign_id)
        _send_back_for_approval(
            campaign,
            selectors.audience_changes_text(
                campaign=campaign,
                since=approved.as_of,
                approved=approved.recipients,
                now=digested,
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
    recipients = sum(row[3] for row in slices)
    skipped = sum(row[4] for row in slices)
    result.part_ids = _parts_number(campaign_id)
    result.recipients = recipients
    # Before its parts go: each submit reads its part's rows (ledger_statistics_refresh).
    ledger_statistics_refresh(written=recipients)
    with transaction.atomic():
        resolved = Campaign.objects.filter(
            pk=campaign_id, status=Status.SENDING, ledger_resolved_at__isnull=True
        )
        # Only now may its parts be submitted (part_submit and the sweep look at this).
        if not resolved.update(ledger_resolved_at=timezone.now(), updated_at=timezone.now()):
            return None  # stopped meanwhile (its parts wait for the sweep to cancel them)
        if not result.part_ids:
            Campaign.objects.filter(pk=campaign_id).update(status=Status.FINISHED)
            said = (
                NO_RECIPIENTS_LEFT_CAPPED.stored(skipped=skipped)
                if skipped
                else NO_RECIPIENTS_LEFT.stored()
            )
            event_record(campaign_id, CampaignEvent.Kind.FINISHED, said)
        else:
            resolved_into = {
                "recipients": recipients,
                "in_parts": PARTS_COUNT.stored(count=len(result.part_ids)),
            }
            said = (
                DISPATCHED_IN_PARTS_CAPPED.stored(**resolved_into, skipped=skipped)
                if skipped
                else DISPATCHED_IN_PARTS.stored(**resolved_into)
            )
            event_record(campaign_id, CampaignEvent.Kind.DISPATCHED, said)
        _dispatch_audit(campaign, campaign.dispatched_from or Status.SENDING, result)
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=result.part_ids))
    logger.info(
        "campaign %s: dispatched, %s recipients in %s parts",
        campaign_id,
        result.recipients,
        len(result.part_ids),
    )
    return result


def _parts_number(campaign_id: int) -> list[int]:
    """Its parts' ids in order (slice, then as made), numbered 1, 2, … in that order. Only a
    slice with no part or more than one leaves numbers to change: those move above every
    number first, so that no two parts hold one number at any moment."""
    parts = list(
        Part.objects.filter(campaign_id=campaign_id)
        .order_by("dispatch_slice__number", "id")
        .values_list("id", "number")
    )
    moved = [(pk, final) for final, (pk, number) in enumerate(parts, start=1) if number != final]
    if moved:
        with transaction.atomic():
            highest = max(number for _, number in parts)
            Part.objects.filter(pk__in=[pk for pk, _ in moved]).update(number=F("number") + highest)
            Part.objects.bulk_update(
                [Part(pk=pk, number=final) for pk, final in moved], ["number"], batch_size=1000
            )
    return [pk for pk, _ in parts]


def _dispatch_audit(campaign: Campaign, taken_from: str, result: DispatchResult) -> None:
    ended = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).get()
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
