"""Putting campaigns away: archive a draft or an ended campaign, restore it, delete a draft.

Archiving only hides: the campaigns page and the recurring picker leave archived campaigns
out, and nothing about them changes. A campaign someone may still be waiting on (for approval,
scheduled, ready, sending) is never archived or deleted, so no live work disappears from view;
and a draft must be restored before it is changed or sent, so an archived campaign never starts
waiting for someone unseen. Each move is a compare-and-set on the status it was allowed from,
and is audited.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from audit.services import audit_record

from .engine.events import person_or_none
from .models import Campaign, CampaignSchedule


def _refusal_to_archive(campaign: Campaign) -> str:
    if campaign.is_archived:
        return f"“{campaign}” is already archived."
    if campaign.created_elsewhere:
        return "A campaign created elsewhere on the BSG account is only shown here, never changed."
    return (
        f"“{campaign}” is {campaign.get_status_display().lower()}: only drafts and campaigns that "
        "have ended can be archived. Take it back to draft or wait until it ends."
    )


def campaign_archive(*, campaign_id: int, user: Any) -> Campaign:
    """Hide a draft or an ended campaign from the campaigns page and the recurring picker."""
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise Campaign.DoesNotExist
        if not campaign.can_archive:
            raise ValidationError(_refusal_to_archive(campaign))
        changed = Campaign.objects.filter(
            pk=campaign.pk,
            status__in=Campaign.ARCHIVABLE_FROM,
            archived_at__isnull=True,
        ).update(archived_at=now, updated_at=now)
        if changed != 1:
            raise ValidationError("The campaign changed meanwhile; look at it again.")
        audit_record(
            action="campaign-archive",
            target=campaign,
            changes={"archived_at": [None, now]},
            message="Archived: hidden from the campaigns page and the recurring picker.",
            actor=person_or_none(user),
        )
    return Campaign.objects.get(pk=campaign_id)


def campaign_restore(*, campaign_id: int, user: Any) -> Campaign:
    """Back from the archive, as it was."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise Campaign.DoesNotExist
        if not campaign.is_archived:
            raise ValidationError(f"“{campaign}” is not archived.")
        Campaign.objects.filter(pk=campaign.pk).update(archived_at=None, updated_at=timezone.now())
        audit_record(
            action="campaign-restore",
            target=campaign,
            changes={"archived_at": [campaign.archived_at, None]},
            message="Restored from the archive.",
            actor=person_or_none(user),
        )
    return Campaign.objects.get(pk=campaign_id)


def campaign_delete(*, campaign_id: int, user: Any) -> str:
    """Delete a draft for good (its send plans and test sends with it); returns its name.

    A campaign that a recurring schedule copies is refused by name: the schedule's template is
    PROTECT, so its runs never lose what they send."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise Campaign.DoesNotExist
        if not campaign.can_delete:
            raise ValidationError(
                f"“{campaign}” is {campaign.get_status_display().lower()}: only drafts can be "
                "deleted. What was asked to send keeps its history; archive it instead."
            )
        uses = list(
            CampaignSchedule.objects.filter(template_id=campaign.pk).values_list("name", flat=True)
        )
        if uses:
            raise ValidationError(_schedule_refusal(campaign, uses))
        name = str(campaign)
        # Written first: the entry names the campaign by id and name once it is gone.
        audit_record(
            action="campaign-delete",
            target=campaign,
            changes={"status": [campaign.status, None]},
            message=f"Draft deleted: “{name}” (#{campaign.pk}).",
            actor=person_or_none(user),
        )
        try:
            with transaction.atomic():
                Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DRAFT).delete()
        except ProtectedError:
            # A schedule was set up on it between the check above and the delete.
            uses = list(
                CampaignSchedule.objects.filter(template_id=campaign.pk).values_list(
                    "name", flat=True
                )
            )
            raise ValidationError(_schedule_refusal(campaign, uses)) from None
    return name


def _schedule_refusal(campaign: Campaign, schedule_names: list[str]) -> str:
    names = ", ".join(f"“{name}”" for name in schedule_names)
    which = "schedule" if len(schedule_names) == 1 else "schedules"
    return (
        f"“{campaign}” cannot be deleted: the recurring {which} {names} copy it on each run. "
        "Archive it instead, or have an admin remove the schedule first."
    )
