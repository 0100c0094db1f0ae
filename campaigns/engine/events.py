"""The campaign's history as people read it (CampaignEvent rows), and who acted."""

from __future__ import annotations

from typing import Any

from audit.services import audit_record

from ..models import Campaign, CampaignEvent


def person_or_none(user: Any) -> Any:
    """The signed-in person behind an action, or None for the engine, beat or a signed-out
    request (the audit log and the history then say "the system")."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def event_record(
    campaign_id: int,
    kind: str,
    message: str,
    *,
    part_id: int | None = None,
    user: Any = None,
) -> None:
    """One line of the campaign's history, as its detail page shows it."""
    CampaignEvent.objects.create(
        campaign_id=campaign_id,
        part_id=part_id,
        kind=kind,
        message=message,
        user=person_or_none(user),
    )


def event_and_audit_record(
    campaign_id: int,
    kind: str,
    message: str,
    *,
    action: str,
    audit_message: str | None = None,
    changes: dict[str, Any] | None = None,
    user: Any = None,
) -> None:
    """A change both the campaign's history and the audit log show: one line of history and one
    audit entry on the campaign (saying `audit_message` when the auditor needs more words)."""
    event_record(campaign_id, kind, message, user=user)
    audit_record(
        action=action,
        target=Campaign.objects.get(pk=campaign_id),
        changes=changes,
        message=message if audit_message is None else audit_message,
        actor=user,
    )
