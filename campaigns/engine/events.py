"""The campaign's history as people read it (CampaignEvent rows), and who acted."""

from __future__ import annotations

from typing import Any

from ..models import CampaignEvent


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
