"""What every page's navigation shows of the campaigns app."""

from typing import Any

from django.http import HttpRequest

from .inbox import LazyInboxCounts


def inbox(request: HttpRequest) -> dict[str, Any]:
    """`inbox_counts`: what waits for this person (campaigns.inbox), read only when a page
    shows it (one query), never for a partial that does not."""
    return {"inbox_counts": LazyInboxCounts(getattr(request, "user", None))}
