"""Poll: refresh submitted parts from BSG with as few calls as the API allows, read the
recipients' statuses, and finish a campaign once every part has settled."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from bsg.client import CAMPAIGNS_WINDOW, BsgClient
from bsg.errors import BsgError
from bsg.schemas import TERMINAL_STATUSES
from bsg.schemas import Campaign as BsgCampaign
from config.bsg import bsg_client

from ..bsg_words import CAMPAIGN_STATUS_WORDS
from ..models import Campaign, CampaignEvent, CampaignPart, CampaignSnapshot, Recipient
from ..stored_text import (
    EVERY_PART_FINISHED,
    PART_NO_BREAKDOWN,
    PART_STATUS_CHANGED_WORDS,
    in_english,
)
from .delivery_reports import FINAL_STATUSES, reports_quiet_window
from .events import event_and_audit_record, event_record
from .ledger import LEDGER_BATCH, recipient_statuses_write

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status


@dataclass
class PollReport:
    parts: int = 0
    api_calls: int = 0
    changed: int = 0
    finished: int = 0
    skipped: bool = False


POLL_LOCK_KEY = "engine:poll-lock"


def engine_poll(*, now: datetime | None = None) -> PollReport:
    """Refresh every submitted part not yet terminal, with as few calls as the API allows; one
    poll at a time, however many beats fire (a cache lock that expires by itself)."""
    from django.core.cache import cache

    # As long as the poll task's hard time limit: a killed poll frees the lock by itself.
    lock_seconds = 90
    if not cache.add(POLL_LOCK_KEY, "1", timeout=lock_seconds):
        return PollReport(skipped=True)
    try:
        now = now or timezone.now()
        return _poll_parts(_live_parts(), now, messages_of=lambda: _parts_due_messages(now))
    finally:
        cache.delete(POLL_LOCK_KEY)


def _live_parts(**filters: Any) -> list[CampaignPart]:
    return list(
        Part.objects.filter(
            state=State.SUBMITTED, finished_at__isnull=True, **filters
        ).select_related("campaign")
    )


def _poll_parts(
    parts: list[CampaignPart],
    now: datetime,
    *,
    messages_of: Callable[[], list[CampaignPart]],
) -> PollReport:
    """Fetch and apply these parts' figures, then refresh the recipients' statuses of the
    parts `messages_of` names once that is done (a part that has just ended is among them);
    one client for the whole cycle, its requests counted."""
    report = PollReport(parts=len(parts))
    with bsg_client() as client:
        if parts:
            fetched = _fetch(client, parts, now)
            for part in parts:
                answer = fetched.get(part.bsg_campaign_id)
                if answer is None:
                    continue
                changed, finished = _apply(client, part, answer, now)
                report.changed += changed
                report.finished += finished
        for part in messages_of():
            try:
                part_messages_refresh(part=part, client=client, now=now)
            except BsgError as error:
                logger.info("poll: messages of part %s not read (%s)", part.pk, error)
        report.api_calls = client.requests_made
    return report


def _fetch(client: BsgClient, parts: list[CampaignPart], now: datetime) -> dict[int, BsgCampaign]:
    """Each part's BSG campaign: one call for a single part; for many, the campaign list (E5)
    over the window they were created in, then one call each for any it did not hold."""
    wanted = {p.bsg_campaign_id: p for p in parts}
    if len(parts) == 1:
        try:
            answer = client.campaign_get(campaign_id=parts[0].bsg_campaign_id)
        except BsgError as error:
            logger.info("poll: part %s not read: %s", parts[0].pk, error)
            return {}
        return {answer.id: answer}
    found: dict[int, BsgCampaign] = {}
    until = now + timedelta(minutes=5)
    # BSG samples at most 3 months at a time (campaigns-list.txt): parts older than one window
    # are read one by one below rather than walking window after window of old campaigns.
    oldest_listed = until - CAMPAIGNS_WINDOW
    since = max(min(p.submitted_at for p in parts) - timedelta(minutes=5), oldest_listed)
    kinds = {"rcs" if p.campaign.is_rcs else "sms" for p in parts}
    for kind in sorted(kinds):
        try:
            # E5 filters its window on created_at; 500 a page is the most it gives (YAML).
            for item in client.iter_campaigns(message_type=kind, date_from=since, date_to=until):
                if item.id in wanted:
                    found[item.id] = item
                    if len(found) == len(wanted):
                        break
        except BsgError as error:
            logger.info("poll: campaign list not read (%s); next cycle", error)
    for missing in set(wanted) - set(found):
        try:
            found[missing] = client.campaign_get(campaign_id=missing)
        except BsgError as error:
            logger.info("poll: BSG campaign %s not read: %s", missing, error)
    return found


FALLBACK_PREFIX = "fallback_sms_"


def breakdown_with_fallback(detail: Any) -> dict[str, int]:
    """E8's per-status counts, with the RCS campaign's SMS fallback counts beside them under a
    prefix, so one flat dict sums across parts and the page can tell the two channels apart."""
    breakdown = dict(detail.statistics)
    for name, count in (detail.fallback_statistics or {}).items():
        breakdown[f"{FALLBACK_PREFIX}{name}"] = count
    return breakdown


def _apply(
    client: BsgClient, part: CampaignPart, answer: BsgCampaign, now: datetime
) -> tuple[bool, bool]:
    status = answer.status or ""
    sent, delivered = answer.statistics.sent, answer.statistics.delivered
    changed = (status, sent, delivered) != (part.bsg_status, part.sent, part.delivered)
    terminal = status in TERMINAL_STATUSES
    updates: dict[str, Any] = {"last_polled_at": now}
    if changed:
        updates.update(bsg_status=status, sent=sent, delivered=delivered)
    if terminal and part.bsg_status not in TERMINAL_STATUSES:
        # The recipients' statuses are read in this same cycle rather than a minute later, so
        # the recipients tab agrees with "Finished" as soon as the page shows it.
        updates["next_messages_poll_at"] = now
    if terminal:
        # The breakdown and price once the part ends (E8): one call per part, once.
        try:
            detail = client.campaign_detail(campaign_id=part.bsg_campaign_id)
        except BsgError as error:
            tries = part.detail_tries + 1
            updates["detail_tries"] = tries
            if error.permanent or tries >= settings.ENGINE_DETAIL_MAX_TRIES:
                # BSG says the part has ended: it finishes on the totals BSG gave (E5/E7), and
                # the page says plainly that the breakdown by status is missing.
                updates.update(
                    finished_at=now,
                    error=PART_NO_BREAKDOWN.stored(error=error),
                )
                logger.warning("poll: part %s finished without its detail: %s", part.pk, error)
            else:
                logger.info("poll: detail of part %s not read (%s); next cycle", part.pk, error)
                terminal = False
        else:
            updates.update(
                breakdown=breakdown_with_fallback(detail),
                price=detail.total_price,
                currency=detail.currency or "",
            )
            if _reports_pending(part, status, detail.statistics, now):
                # Stopped while messages were out: their delivery reports still come, and
                # BSG's counts move until they have (found by bench/soak_system.py).
                terminal = False
            elif status == "stopped":
                # The counts above were read before this breakdown, and reports that landed in
                # between are in one and not the other. Nothing is in flight now: read again.
                try:
                    final = client.campaign_get(campaign_id=part.bsg_campaign_id)
                except BsgError as error:
                    logger.info("poll: part %s not read again (%s); next cycle", part.pk, error)
                    terminal = False
                else:
                    sent, delivered = final.statistics.sent, final.statistics.delivered
                    changed = (status, sent, delivered) != (
                        part.bsg_status,
                        part.sent,
                        part.delivered,
                    )
                    updates.update(
                        bsg_status=status, sent=sent, delivered=delivered, finished_at=now
                    )
            else:
                updates["finished_at"] = now
    Part.objects.filter(pk=part.pk, state=State.SUBMITTED).update(**updates)
    if changed or terminal:
        CampaignSnapshot.objects.create(
            campaign_id=part.campaign_id,
            part_id=part.pk,
            taken_at=now,
            bsg_status=status,
            sent=sent,
            delivered=delivered,
            breakdown=updates.get("breakdown", part.breakdown),
        )
    if status != part.bsg_status:
        event_record(
            part.campaign_id,
            CampaignEvent.Kind.STATUS_CHANGED,
            PART_STATUS_CHANGED_WORDS.stored(
                number=part.number,
                before=in_english(CAMPAIGN_STATUS_WORDS.get(part.bsg_status, part.bsg_status))
                or "—",
                after=in_english(CAMPAIGN_STATUS_WORDS.get(status, status)),
            ),
            part_id=part.pk,
        )
    if terminal:
        campaign_finish_if_settled(campaign_id=part.campaign_id, now=now)
    return changed, terminal


def campaigns_poll_now(*, campaign_ids: Iterable[int], now: datetime | None = None) -> PollReport:
    """Refresh these campaigns' live parts now (admin's "Refresh now"), the way the beat's poll
    does: figures, snapshots, events, the finish, and per-recipient statuses."""
    now = now or timezone.now()
    parts = _live_parts(campaign_id__in=list(campaign_ids))
    if not parts:
        return PollReport(parts=0)
    return _poll_parts(parts, now, messages_of=lambda: parts)


# E8 statuses of a message BSG has dispatched and not yet reported on.
IN_FLIGHT_MESSAGE_STATUSES = ("accepted", "sending", "sent")


def _reports_pending(
    part: CampaignPart, status: str, breakdown: dict[str, int], now: datetime
) -> bool:
    """A stopped BSG campaign with messages still awaiting their delivery report (E8 counts
    messages *in* each status), within their validity: after it no report can come."""
    if status != "stopped" or not any(breakdown.get(s) for s in IN_FLIGHT_MESSAGE_STATUSES):
        return False
    submitted = part.submitted_at or now
    return now < submitted + timedelta(hours=part.campaign.validity_hours)


def campaign_finish_if_settled(*, campaign_id: int, now: datetime | None = None) -> bool:
    parts = list(Part.objects.filter(campaign_id=campaign_id))
    if not parts or not all(p.is_settled for p in parts):
        return False
    changed = Campaign.objects.filter(pk=campaign_id, status=Status.SENDING).update(
        status=Status.FINISHED, updated_at=now or timezone.now()
    )
    if changed:
        event_and_audit_record(
            campaign_id,
            CampaignEvent.Kind.FINISHED,
            EVERY_PART_FINISHED.stored(),
            action="campaign-finish",
            changes={"status": [Status.SENDING, Status.FINISHED]},
        )
    return bool(changed)


MESSAGE_POLL_PARTS_PER_CYCLE = 10
# A recipient in one of these waits for nothing more (a read receipt aside).
SETTLED_STATUSES = FINAL_STATUSES | {"read"}


def _parts_due_messages(now: datetime) -> list[CampaignPart]:
    """Parts whose recipients' statuses (E9) are due: every poll while sending, then at growing
    intervals until validity has passed (delivery reports keep coming). A part whose statuses
    BSG pushes is read only when the pushes seem lost, and once after validity."""
    due = Part.objects.filter(state=State.SUBMITTED, next_messages_poll_at__lte=now).select_related(
        "campaign"
    )[:MESSAGE_POLL_PARTS_PER_CYCLE]
    return [part for part in due if not (part.reports_pushed and _read_postponed(part, now))]


def _reports_end(part: CampaignPart, now: datetime) -> datetime:
    """When the part's last delivery report can have come: validity after it was submitted,
    and half an hour's grace."""
    submitted = part.submitted_at or now
    return submitted + timedelta(hours=part.campaign.validity_hours, minutes=30)


def _read_postponed(part: CampaignPart, now: datetime) -> bool:
    """For a part whose statuses BSG pushes: put off reading its messages, unless some of its
    recipients still wait for a status and nothing was pushed for the quiet window (the pushes
    seem lost: read as if there were none), or validity has passed (the one read that corrects
    whatever a lost push left behind). True when put off, with the part's next read moved."""
    until = _reports_end(part, now)
    if now >= until:
        return False
    waiting = (
        Recipient.objects.filter(part_id=part.pk).exclude(status__in=SETTLED_STATUSES).exists()
    )
    heard = part.last_report_at
    if not waiting:
        later = until
    elif heard is not None and now - heard < reports_quiet_window():
        later = min(until, heard + reports_quiet_window())
    else:
        return False
    Part.objects.filter(pk=part.pk).update(next_messages_poll_at=later)
    return True


def part_messages_refresh(*, part: CampaignPart, client: BsgClient, now: datetime) -> int:
    """Read the part's messages (E9, by BSG campaign) into its ledger rows' statuses; how many
    rows changed."""
    by_reference = part.campaign.sends_with_reference_ids
    statuses: dict[str, tuple[str, int]] = {}
    for message in client.iter_messages(campaign_id=part.bsg_campaign_id):
        key = message.reference_id if by_reference else str(message.phone or "")
        if key:
            statuses[key] = ((message.status or "").lower(), message.id)
    rows = Recipient.objects.filter(part_id=part.pk).values_list(
        "id", "reference_id" if by_reference else "phone", "status"
    )
    changed = []
    for row_id, key, status in rows.iterator(chunk_size=LEDGER_BATCH):
        found = statuses.get(key)
        if found and found[0] != status:
            changed.append((row_id, found[0], found[1]))
    recipient_statuses_write(changes=changed, at=now)
    Part.objects.filter(pk=part.pk).update(
        messages_polled_at=now, next_messages_poll_at=_next_messages_poll(part, now)
    )
    return len(changed)


def _next_messages_poll(part: CampaignPart, now: datetime) -> datetime | None:
    part.refresh_from_db(fields=["bsg_status", "submitted_at", "messages_polled_at"])
    if part.bsg_status not in TERMINAL_STATUSES:
        return now + timedelta(seconds=settings.BSG_POLL_INTERVAL)
    # After the part ends, delivery reports keep arriving until validity has passed.
    until = _reports_end(part, now)
    if now >= until:
        return None
    age = (now - (part.submitted_at or now)).total_seconds()
    return now + timedelta(seconds=min(3600, max(60, age / 2)))
