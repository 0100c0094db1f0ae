"""Reads for the import pages."""

from __future__ import annotations

from django.db.models import QuerySet

from contacts.models import ContactImport

RECENT_IMPORTS = 50


def contact_imports_recent(*, limit: int = RECENT_IMPORTS) -> QuerySet[ContactImport]:
    return ContactImport.objects.select_related("contact_list", "created_by").order_by(
        "-created_at", "-id"
    )[:limit]


def contact_import_get(*, import_id: int) -> ContactImport:
    return ContactImport.objects.select_related("contact_list").get(pk=import_id)
