"""Guard rails checked before each part goes: the sending window, the failure rate, the balance."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Sum

from audit.services import audit_record
from bsg.client import BsgClient
from bsg.errors import BsgError
from bsg.schemas import Campaign as BsgCampaign

from .. import selectors
from ..models import Campaign, CampaignEvent, CampaignPart, Recipient
from ..stored_text import HELD_BALANCE, HELD_BALANCE_CREDIT, HELD_FAILURE_RATE
from .events import event_record

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State


def window_opens_at(*, campaign: Campaign, now: datetime) -> datetime | None:
    """None when a part may go now (no window, or inside it); else when the window next opens.

    The window is local time in `window_time_zone` (the recipients' zone); an end before the
    start means it crosses midnight (20:00-08:00)."""
    if not campaign.has_window:
        return None
    zone = ZoneInfo(campaign.window_time_zone or settings.TIME_ZONE)
    local = now.astimezone(zone)
    start, end, moment = campaign.window_start, campaign.window_end, local.time()
    inside = start <= moment < end if start <= end else (moment >= start or moment < end)
    if inside:
        return None
    opening = datetime.combine(local.date(), start, tzinfo=zone)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=zone)
    return opening


def hold_reason(client: BsgClient, campaign: Campaign, part: CampaignPart) -> str:
    """Why this part must not go now, or "" (the guard rails)."""
    if (
        not campaign.failure_hold_overridden
        # No per-recipient status is known before some part's messages were read (E9): skip
        # the count over the ledger until then.
        and Part.objects.filter(campaign_id=campaign.pk, messages_polled_at__isnull=False).exists()
    ):
        final, failed = selectors.campaign_failure_figures(
            campaign_id=campaign.pk,
            rate=settings.ENGINE_HOLD_FAILURE_RATE,
            min_final=settings.ENGINE_HOLD_MIN_FINAL,
        )
        if final >= settings.ENGINE_HOLD_MIN_FINAL and failed / final > (
            settings.ENGINE_HOLD_FAILURE_RATE
        ):
            return HELD_FAILURE_RATE.stored(
                failed=failed,
                final=final,
                percent=failed * 100 // final,
                threshold=f"{settings.ENGINE_HOLD_FAILURE_RATE:.0%}",
            )
    if settings.ENGINE_HOLD_ON_LOW_BALANCE and campaign.parts.count() > 1:
        # A single-part campaign BSG cannot pay for is refused by BSG with its own message;
        # holding matters when earlier parts already went and the rest can wait for a top-up.
        return _balance_hold_reason(client, campaign, part)
    return ""


def _part_units(campaign: Campaign, part: CampaignPart) -> int:
    """What BSG charges per unit for: SMS parts (SMS), messages (RCS)."""
    if campaign.is_rcs:
        return part.recipients
    if part.sms_parts is not None:
        return part.sms_parts
    return Recipient.objects.filter(part_id=part.pk).aggregate(n=Sum("sms_parts"))["n"] or 0


def _unit_price(client: BsgClient, campaign: Campaign, part: CampaignPart) -> Decimal | None:
    if campaign.unit_price is not None:
        return campaign.unit_price
    if not campaign.is_sms:
        return None
    sample = Recipient.objects.filter(part_id=part.pk).order_by("seq").first()
    if sample is None or not sample.sms_parts:
        return None
    # E10 for one recipient of this part: the price of its SMS parts.
    estimate = client.price_estimate(
        sender=campaign.sender, text=sample.text, phones=[sample.phone], tariff_code=None
    )
    if estimate.price is None:
        return None
    return Decimal(estimate.price) / sample.sms_parts


def _balance_hold_reason(client: BsgClient, campaign: Campaign, part: CampaignPart) -> str:
    try:
        unit = _unit_price(client, campaign, part)
        if unit is None:
            return ""
        balance = client.balance()
    except BsgError as error:
        # Not knowing is no reason to hold: BSG refuses what the account cannot pay for.
        logger.info("part %s: balance guard could not ask BSG (%s); sending", part.pk, error)
        return ""
    cost = unit * _part_units(campaign, part)
    available = balance.balance + (balance.credit or 0)
    if cost <= available:
        return ""
    figures = {
        "number": part.number,
        "cost": f"{cost:.2f}",
        "currency": balance.currency or "",
        "balance": f"{balance.balance:.2f}",
    }
    if balance.credit:
        return HELD_BALANCE_CREDIT.stored(**figures, credit=f"{balance.credit:.2f}")
    return HELD_BALANCE.stored(**figures)


def part_hold(part: CampaignPart, reason: str) -> None:
    """Hold this claimed part and every part of the campaign not yet submitted."""
    Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
        state=State.HELD, error=reason, attempts=F("attempts") - 1
    )
    Part.objects.filter(campaign_id=part.campaign_id, state=State.PENDING).update(
        state=State.HELD, error=reason
    )
    event_record(part.campaign_id, CampaignEvent.Kind.HELD, reason, part_id=part.pk)
    audit_record(action="campaign-hold", target=part.campaign, message=reason)
    logger.warning("campaign %s: held before part %s: %s", part.campaign_id, part.pk, reason)


def unit_price_record(part: CampaignPart, answer: BsgCampaign) -> None:
    """BSG's calculated price of the first part, per unit: the balance guard's estimate."""
    if answer.calculated_price is None:
        return
    campaign = Campaign.objects.get(pk=part.campaign_id)
    if campaign.unit_price is not None:
        return
    units = _part_units(campaign, part)
    if units:
        unit = (Decimal(str(answer.calculated_price)) / units).quantize(Decimal("0.000001"))
        Campaign.objects.filter(pk=campaign.pk, unit_price__isnull=True).update(unit_price=unit)
