"""Changing a person's settings: their language and time zone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from audit.services import audit_record

from .models import AccountSettings
from .selectors import time_zone_known


def account_settings_update(
    *, user: Any, language: str | None = None, time_zone: str | None = None
) -> AccountSettings:
    """Keep `language` and `time_zone` (an IANA name) on the user's account; None leaves that
    one as it is. One audit entry with what changed, none when nothing did.

    ValueError for a language that is not in settings.LANGUAGES or a zone zoneinfo does not
    know (the forms refuse those first).
    """
    if language is not None and language not in dict(settings.LANGUAGES):
        raise ValueError(f"{language[:20]!r} is not one of settings.LANGUAGES.")
    if time_zone is not None and not time_zone_known(time_zone):
        raise ValueError(f"{time_zone[:64]!r} is not a time zone zoneinfo knows.")
    wanted = {"language": language, "time_zone": time_zone}
    with transaction.atomic():
        chosen, _created = AccountSettings.objects.select_for_update().get_or_create(user=user)
        changes = {
            name: [getattr(chosen, name) or None, value]
            for name, value in wanted.items()
            if value is not None and getattr(chosen, name) != value
        }
        if changes:
            for name, (_before, value) in changes.items():
                setattr(chosen, name, value)
            chosen.save(update_fields=[*changes, "changed_at"])
            audit_record(
                action="account-settings-update", target=chosen, changes=changes, actor=user
            )
    # The user object of this request carries its settings too (accounts.selectors).
    user.account_settings = chosen
    return chosen
