"""Reading a person's language and time zone choices."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

# Offered first on the settings page, where most of our people are; any zoneinfo name follows.
COMMON_TIME_ZONES = (
    "Europe/Kyiv",
    "Europe/Warsaw",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Istanbul",
    "Asia/Tbilisi",
    "Asia/Almaty",
    "Asia/Dubai",
    "America/New_York",
    "UTC",
)


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


def account_time_zone(*, user: Any) -> str | None:
    """The IANA time zone this person chose, or None (never chose: settings.TIME_ZONE applies).

    Costs no query when the user was loaded by our authentication backend, as the language.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        name = user.time_zone_choice.time_zone
    except ObjectDoesNotExist:
        return None
    # A name the system's zone database no longer knows falls back as if never chosen.
    return name if time_zone_known(name) else None


def time_zone_known(name: str) -> bool:
    """Whether zoneinfo knows `name` as it is spelled (its canonical key, not a file path)."""
    if not name or name != name.strip():
        return False
    try:
        return ZoneInfo(name).key == name
    # OSError: a name longer than the file system allows; ValueError: a path such as "../x".
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False


def time_zone_choices() -> list[tuple[str, str]]:
    """The settings page's zones: the common ones first, then every other zoneinfo name."""
    rest = sorted(available_timezones() - set(COMMON_TIME_ZONES))
    return [(name, name.replace("_", " ")) for name in (*COMMON_TIME_ZONES, *rest)]
