"""Campaigns created elsewhere on the BSG account, recorded read-only for the dashboard."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bsg.errors import BsgError
from bsg.schemas import TERMINAL_STATUSES
from bsg.schemas import Campaign as BsgCampaign
from config.bsg import bsg_client

from ..models import Campaign, CampaignEvent, CampaignPart, TestSend
from ..stored_text import FOUND_ON_BSG, STATUS_UNKNOWN
from .events import event_record

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status


def bsg_campaigns_discover(*, now: datetime | None = None) -> list[int]:
    """Record, read-only, the recent BSG campaigns (E5 window) that were not created here.

    A campaign of ours whose answer is still in doubt is not yet linked to its part, so recent
    ones, and any created after an unsettled attempt of ours, are left for a later run."""
    now = now or timezone.now()
    known = set(
        Part.objects.filter(bsg_campaign_id__isnull=False).values_list("bsg_campaign_id", flat=True)
    )
    known |= set(
        TestSend.objects.filter(bsg_campaign_id__isnull=False).values_list(
            "bsg_campaign_id", flat=True
        )
    )
    settle_cutoff = now - timedelta(seconds=settings.ENGINE_STUCK_SUBMITTING)
    in_doubt = (
        Part.objects.filter(
            state__in=[State.SUBMITTING, State.UNCONFIRMED, State.NEEDS_ATTENTION],
            last_attempt_at__isnull=False,
        )
        .order_by("last_attempt_at")
        .values_list("last_attempt_at", flat=True)
        .first()
    )
    if in_doubt is not None:
        settle_cutoff = min(settle_cutoff, in_doubt - timedelta(minutes=2))
    found: list[int] = []
    try:
        with bsg_client() as client:
            for kind in ("sms", "rcs"):
                for item in client.iter_campaigns(
                    message_type=kind,
                    date_from=now - timedelta(days=settings.ENGINE_DISCOVER_DAYS),
                    date_to=now + timedelta(minutes=1),
                ):
                    if item.id in known or (item.created_at and item.created_at > settle_cutoff):
                        continue
                    if item.created_at is None:
                        continue
                    _record_foreign(item, kind, now)
                    known.add(item.id)
                    found.append(item.id)
    except BsgError as error:
        # What was recorded before the error stays (one transaction each); beat runs this
        # again soon, so a busy or unreachable BSG only delays discovery.
        logger.warning("discover: BSG not read to the end this time: %s", error)
    if found:
        logger.info("discover: %s BSG campaign(s) created elsewhere recorded", len(found))
    return found


def _record_foreign(item: BsgCampaign, kind: str, now: datetime) -> None:
    terminal = (item.status or "") in TERMINAL_STATUSES
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=(item.name or f"BSG campaign {item.id}")[:200],
            channel=Campaign.Channel.RCS if kind == "rcs" else Campaign.Channel.SMS,
            sms_mode=Campaign.SmsMode.NUMBERS if kind == "sms" else "",
            sender=(item.sender or "")[:40] if kind == "sms" else "",
            rcs_agent=(item.sender or "")[:100] if kind == "rcs" else "",
            status=Status.FINISHED if terminal else Status.SENDING,
            created_elsewhere=True,
            dispatched_at=item.created_at,
            # Sent from elsewhere: no ledger here to resolve.
            ledger_resolved_at=now,
        )
        part = Part.objects.create(
            campaign=campaign,
            number=1,
            state=State.SUBMITTED,
            bsg_campaign_id=item.id,
            bsg_status=item.status or "",
            sent=item.statistics.sent,
            delivered=item.statistics.delivered,
            submitted_at=item.created_at,
            finished_at=now if terminal else None,
        )
        event_record(
            campaign.pk,
            CampaignEvent.Kind.CREATED,
            FOUND_ON_BSG.stored(bsg_id=item.id, status=item.status or STATUS_UNKNOWN.stored()),
            part_id=part.pk,
        )
