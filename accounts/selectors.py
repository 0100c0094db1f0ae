"""Reading a person's language choice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist


def account_language(*, user: Any) -> str | None:
    """The language code this person chose and we still offer, or None (never chose).

    Costs no query when the user was loaded by our authentication backend, which reads the
    choice with the user (config.access.CachedPermissionBackend.get_user).
    """
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        language = user.language_choice.language
    except ObjectDoesNotExist:
        return None
    # A language taken out of settings.LANGUAGES falls back as if they had never chosen.
    return language if language in dict(settings.LANGUAGES) else None
