"""Stop: cancel a campaign not yet sent, or stop every part BSG may still be sending."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from bsg.errors import BsgError
from config.bsg import bsg_client

from ..models import Campaign, CampaignEvent, CampaignPart
from ..stored_text import (
    CANCELLED_BEFORE_SENDING,
    STOP_REFUSED,
    STOP_UNANSWERED,
    STOPPED_AT_BSG,
    STOPPED_PARTS,
    STOPPED_PARTS_AUDIT,
    UNKNOWN,
)
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
            _("This campaign was created elsewhere on the BSG account; stop it where it was made.")
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
            CANCELLED_BEFORE_SENDING.stored(),
            user=user,
        )
        audit_record(
            action="campaign-stop",
            target=campaign,
            changes={"status": [campaign.status, Status.CANCELLED]},
            message=CANCELLED_BEFORE_SENDING.stored(),
            actor=user,
        )
        return report
    if campaign.status != Status.SENDING:
        raise ValidationError(
            _("This campaign is %(status)s: there is nothing left to stop.")
            % {"status": campaign.get_status_display().lower()}
        )
    # The claim: of two Stops at once, exactly one moves SENDING -> STOPPED and calls BSG.
    claimed = Campaign.objects.filter(pk=campaign_id, status=Status.SENDING).update(
        status=Status.STOPPED, stopped_at=now, stopped_by=who, updated_at=now
    )
    if claimed != 1:
        raise ValidationError(_("This campaign was stopped a moment ago; BSG was asked once."))
    # Parts not yet submitted never will be.
    report.cancelled_parts = Part.objects.filter(
        campaign_id=campaign_id, state__in=[State.PENDING, State.HELD]
    ).update(state=State.CANCELLED, finished_at=now)
    for part in Part.objects.filter(campaign_id=campaign_id, state=State.SUBMITTED):
        if not part.is_stoppable:
            continue
        answer = part_stop_at_bsg(part, user=user)
        if STOPPED_AT_BSG.values_in(answer) is not None:
            report.stopped.append(part.pk)
        else:
            report.refused[part.pk] = answer
    counts = {
        "stopped": len(report.stopped),
        "cancelled": report.cancelled_parts,
        "refused": len(report.refused),
    }
    event_record(campaign_id, CampaignEvent.Kind.STOPPED, STOPPED_PARTS.stored(**counts), user=user)
    audit_record(
        action="campaign-stop",
        target=campaign,
        changes={"status": [campaign.status, Status.STOPPED]},
        message=STOPPED_PARTS_AUDIT.stored(**counts),
        actor=user,
    )
    return report


def part_stop_at_bsg(part: CampaignPart, *, user: Any) -> str:
    try:
        with bsg_client() as client:
            answer = client.campaign_stop(campaign_id=part.bsg_campaign_id)
    except BsgError as error:
        text = (
            STOP_REFUSED.stored(error=error.message)
            if error.permanent
            else STOP_UNANSWERED.stored(error=error)
        )
    else:
        text = STOPPED_AT_BSG.stored(status=answer.status or UNKNOWN.stored())
        Part.objects.filter(pk=part.pk).update(bsg_status=answer.status or part.bsg_status)
    Part.objects.filter(pk=part.pk).update(stop_answer=text)
    logger.info("part %s of campaign %s: stop: %s", part.pk, part.campaign_id, text)
    return text
