"""Reading a person's settings: their language and time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True)
class AccountChoices:
    """What a person chose, each None until they choose it (or when it is no longer offered):
    then their browser's language and settings.TIME_ZONE apply."""

    language: str | None = None
    time_zone: str | None = None


def account_choices_of(*, user: Any) -> AccountChoices:
    """The language (one we still offer) and IANA time zone (one zoneinfo still knows) this
    person chose; nothing for a signed-out visitor.

    Costs no query when the user was loaded by our authentication backend, which reads the
    settings row with the user (config.access.CachedPermissionBackend.get_user), or by a
    queryset with select_related("account_settings") (campaigns.handoffs).
    """
    if not getattr(user, "is_authenticated", False):
        return AccountChoices()
    try:
        chosen = user.account_settings
    except ObjectDoesNotExist:
        return AccountChoices()
    # A language taken out of settings.LANGUAGES, or a zone name the system's zone database no
    # longer knows, falls back as if never chosen.
    language = chosen.language if chosen.language in dict(settings.LANGUAGES) else None
    time_zone = chosen.time_zone if time_zone_known(chosen.time_zone) else None
    return AccountChoices(language=language, time_zone=time_zone)


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


def utc_offset_text(moment: datetime) -> str:
    """An aware moment's offset from UTC as people write it after "UTC": "+02:00", "-05:00",
    "+05:45"."""
    offset = f"{moment:%z}"
    return f"{offset[:3]}:{offset[3:5]}"
