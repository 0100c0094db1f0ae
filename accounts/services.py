"""Changing a person's language and time zone choices."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from audit.services import audit_record

from .models import LanguageChoice, TimeZoneChoice
from .selectors import time_zone_known


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


def time_zone_choose(*, user: Any, time_zone: str) -> TimeZoneChoice:
    """Keep `time_zone` (an IANA name) on the user's account; an audit entry when it changes.

    ValueError for a name zoneinfo does not know (the settings form refuses those first).
    """
    if not time_zone_known(time_zone):
        raise ValueError(f"{time_zone[:64]!r} is not a time zone zoneinfo knows.")
    with transaction.atomic():
        choice, created = TimeZoneChoice.objects.select_for_update().get_or_create(
            user=user, defaults={"time_zone": time_zone}
        )
        before = None if created else choice.time_zone
        if before == time_zone:
            return choice
        if not created:
            choice.time_zone = time_zone
            choice.save(update_fields=["time_zone", "changed_at"])
        audit_record(
            action="time-zone-choose",
            target=choice,
            changes={"time_zone": [before, time_zone]},
            actor=user,
        )
    # The user object of this request carries its choice too (accounts.selectors).
    user.time_zone_choice = choice
    return choice
