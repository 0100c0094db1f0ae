"""Reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from .models import AuditEntry


def audit_entries_for(*, target: models.Model, limit: int = 50) -> list[AuditEntry]:
    """The newest entries about one object, for templates/audit/_entries.html.

    The partial reads only the entry's own columns (actor_name, not actor), so showing them
    costs this one query whatever the number of entries.
    """
    content_type = ContentType.objects.get_for_model(target)
    return list(
        AuditEntry.objects.filter(
            target_content_type=content_type, target_object_id=str(target.pk)
        ).order_by("-created_at", "-id")[:limit]
    )


def audit_entries_of_type(
    *, model: type[models.Model], also_actions: Sequence[str] = (), limit: int = 50
) -> list[AuditEntry]:
    """The newest entries about any object of one model, and any entry with one of
    `also_actions` whatever its target (the do-not-contact page: numbers added and removed, and
    batches added by an import or from a campaign's failures)."""
    content_type = ContentType.objects.get_for_model(model)
    about = Q(target_content_type=content_type)
    if also_actions:
        about |= Q(action__in=list(also_actions))
    return list(AuditEntry.objects.filter(about).order_by("-created_at", "-id")[:limit])
