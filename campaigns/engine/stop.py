"""Stop: cancel a campaign not yet sent, or stop every part BSG may still be sending."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.services import audit_record
from bsg.errors import BsgError
from config.bsg import bsg_client

from ..models import Campaign, CampaignEvent, CampaignPart
from .events import event_record, person_or_none

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status


@dataclass
class StopReport:
    cancelled_locally: bool = False
    stopped: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    cancelled_parts: int = 0


def campaign_stop(*, campaign_id: int, user: Any = None) -> StopReport:
    """Stop a campaign: cancel it here if nothing was submitted yet, else stop every part BSG
    may still be sending, and record who asked and BSG's answer for each part."""
    now = timezone.now()
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.is_read_only:
        raise ValidationError(
            "This campaign was created elsewhere on the BSG account; stop it where it was made."
        )
    who = person_or_none(user)
    report = StopReport()
    cancelled = Campaign.objects.filter(
        pk=campaign_id, status__in=[Status.READY, Status.SCHEDULED]
    ).update(status=Status.CANCELLED, stopped_at=now, stopped_by=who, updated_at=now)
    if cancelled:
        report.cancelled_locally = True
        event_record(
            campaign_id,
            CampaignEvent.Kind.CANCELLED,
            "Cancelled before anything was sent; BSG was not called.",
            user=user,
        )
        audit_record(
            action="campaign-stop",
            target=campaign,
            changes={"status": [campaign.status, Status.CANCELLED]},
            message="Cancelled before anything was sent; BSG was not called.",
            actor=user,
        )
        return report
    if campaign.status != Status.SENDING:
        raise ValidationError(
            f"This campaign is {campaign.get_status_display().lower()}: there is nothing left "
            "to stop."
        )
    # The claim: of two Stops at once, exactly one moves SENDING -> STOPPED and calls BSG.
    claimed = Campaign.objects.filter(pk=campaign_id, status=Status.SENDING).update(
        status=Status.STOPPED, stopped_at=now, stopped_by=who, updated_at=now
    )
    if claimed != 1:
        raise ValidationError("This campaign was stopped a moment ago; BSG was asked once.")
    # Parts not yet submitted never will be.
    report.cancelled_parts = Part.objects.filter(
        campaign_id=campaign_id, state__in=[State.PENDING, State.HELD]
    ).update(state=State.CANCELLED, finished_at=now)
    for part in Part.objects.filter(campaign_id=campaign_id, state=State.SUBMITTED):
        if not part.is_stoppable:
            continue
        answer = part_stop_at_bsg(part, user=user)
        if answer.startswith("Stopped"):
            report.stopped.append(part.pk)
        else:
            report.refused[part.pk] = answer
    event_record(
        campaign_id,
        CampaignEvent.Kind.STOPPED,
        f"Stopped: {len(report.stopped)} part(s) stopped at BSG, {report.cancelled_parts} not "
        f"submitted cancelled, {len(report.refused)} refused by BSG.",
        user=user,
    )
    audit_record(
        action="campaign-stop",
        target=campaign,
        changes={"status": [campaign.status, Status.STOPPED]},
        message=f"{len(report.stopped)} part(s) stopped at BSG, {report.cancelled_parts} not "
        f"submitted cancelled, {len(report.refused)} refused by BSG.",
        actor=user,
    )
    return report


def part_stop_at_bsg(part: CampaignPart, *, user: Any) -> str:
    try:
        with bsg_client() as client:
            answer = client.campaign_stop(campaign_id=part.bsg_campaign_id)
    except BsgError as error:
        text = (
            f"BSG refused to stop it: {error.message}"
            if error.permanent
            else f"BSG did not answer the stop request ({error}); check its status."
        )
    else:
        text = f"Stopped at BSG (status {answer.status or 'unknown'})."
        Part.objects.filter(pk=part.pk).update(bsg_status=answer.status or part.bsg_status)
    Part.objects.filter(pk=part.pk).update(stop_answer=text)
    logger.info("part %s of campaign %s: stop: %s", part.pk, part.campaign_id, text)
    return text
