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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.services import audit_record

from .engine.events import person_or_none
from .models import Campaign, CampaignSchedule
from .stored_text import ARCHIVED, DRAFT_DELETED, RESTORED


def _refusal_to_archive(campaign: Campaign) -> str:
    if campaign.is_archived:
        return _("“%(name)s” is already archived.") % {"name": campaign}
    if campaign.created_elsewhere:
        return _(
            "A campaign created elsewhere on the BSG account is only shown here, never changed."
        )
    return _(
        "“%(name)s” is %(status)s: only drafts and campaigns that have ended can be archived. "
        "Take it back to draft or wait until it ends."
    ) % {"name": campaign, "status": campaign.get_status_display().lower()}


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
            raise ValidationError(_("The campaign changed meanwhile; look at it again."))
        audit_record(
            action="campaign-archive",
            target=campaign,
            changes={"archived_at": [None, now]},
            message=ARCHIVED.stored(),
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
            raise ValidationError(_("“%(name)s” is not archived.") % {"name": campaign})
        Campaign.objects.filter(pk=campaign.pk).update(archived_at=None, updated_at=timezone.now())
        audit_record(
            action="campaign-restore",
            target=campaign,
            changes={"archived_at": [campaign.archived_at, None]},
            message=RESTORED.stored(),
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
                _(
                    "“%(name)s” is %(status)s: only drafts can be deleted. What was asked to send "
                    "keeps its history; archive it instead."
                )
                % {"name": campaign, "status": campaign.get_status_display().lower()}
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
            message=DRAFT_DELETED.stored(name=name, id=campaign.pk),
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
    return ngettext(
        "“%(name)s” cannot be deleted: the recurring schedule %(schedules)s copy it on each run. "
        "Archive it instead, or have an admin remove the schedule first.",
        "“%(name)s” cannot be deleted: the recurring schedules %(schedules)s copy it on each "
        "run. Archive it instead, or have an admin remove the schedule first.",
        len(schedule_names),
    ) % {"name": campaign, "schedules": names}
