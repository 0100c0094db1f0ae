"""Changing a person's language choice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from audit.services import audit_record

from .models import LanguageChoice


def language_choose(*, user: Any, language: str) -> LanguageChoice:
    """Keep `language` on the user's account; an audit entry when it changes.

    ValueError for a language that is not in settings.LANGUAGES (the form refuses those first).
    """
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"{language!r} is not one of settings.LANGUAGES.")
    with transaction.atomic():
        choice, created = LanguageChoice.objects.select_for_update().get_or_create(
            user=user, defaults={"language": language}
        )
        before = None if created else choice.language
        if before == language:
            return choice
        if not created:
            choice.language = language
            choice.save(update_fields=["language", "changed_at"])
        audit_record(
            action="language-choose",
            target=choice,
            changes={"language": [before, language]},
            actor=user,
        )
    # The user object of this request carries its choice too (accounts.selectors).
    user.language_choice = choice
    return choice
