"""A person resumes what the engine held or set aside for attention."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record

from ..models import Campaign, CampaignEvent, CampaignPart
from ..stored_text import PART_RESUMED, RESUMED, RESUMED_AUDIT
from .enqueue import parts_enqueue_submit
from .events import event_and_audit_record, event_record

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status


def part_resume(*, part_id: int, user: Any = None) -> bool:
    """A person asks to try a held or needs-attention part again (from pending, from zero)."""
    part = Part.objects.filter(pk=part_id).first()
    if part is None:
        return False
    changed = Part.objects.filter(
        pk=part_id, state__in=[State.HELD, State.NEEDS_ATTENTION], outcome_was_unknown=False
    ).update(state=State.PENDING, attempts=0, next_attempt_at=None, error="")
    if changed != 1:
        # A part that may have been accepted is reconciled again, never resent blindly.
        changed = Part.objects.filter(
            pk=part_id, state=State.NEEDS_ATTENTION, outcome_was_unknown=True
        ).update(state=State.UNCONFIRMED, attempts=0, reconcile_tries=0, next_attempt_at=None)
    if changed == 1:
        event_record(
            part.campaign_id,
            CampaignEvent.Kind.RETRY,
            PART_RESUMED.stored(number=part.number),
            part_id=part_id,
            user=user,
        )
        audit_record(
            action="part-resume",
            target=part.campaign,
            changes={f"part {part.number}": [part.state, "resumed"]},
            actor=user,
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=[part_id]))
    return changed == 1


def campaign_resume(*, campaign_id: int, user: Any = None) -> int:
    """A person resumes a held campaign: its held parts go back to pending. They have seen the
    failure rate, so it does not hold them again; the balance is still checked."""
    now = timezone.now()
    with transaction.atomic():
        part_ids = list(
            Part.objects.filter(
                campaign_id=campaign_id, state=State.HELD, campaign__status=Status.SENDING
            ).values_list("id", flat=True)
        )
        if not part_ids:
            raise ValidationError(
                _("Nothing of this campaign is held: there is nothing to resume.")
            )
        resumed = Part.objects.filter(pk__in=part_ids, state=State.HELD).update(
            state=State.PENDING, attempts=0, next_attempt_at=None, error=""
        )
        Campaign.objects.filter(pk=campaign_id).update(failure_hold_overridden=True, updated_at=now)
        event_and_audit_record(
            campaign_id,
            CampaignEvent.Kind.RESUMED,
            RESUMED.stored(count=resumed),
            action="campaign-resume",
            audit_message=RESUMED_AUDIT.stored(count=resumed),
            user=user,
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=part_ids))
    return resumed
