"""Reading a person's settings: their language and time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone as django_timezone
from django.utils.translation import pgettext_lazy

from .time_zones import UTC, time_zone_database

# Suggested first by the composer's recipients' time zone (campaigns.forms), where most of our
# people are.
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


# The settings page's groups, in this order: Europe first, where most of our people are. A
# region a later tzdata adds still shows, after these, under its own name.
TIME_ZONE_REGIONS = {
    "Europe": pgettext_lazy("time zone region", "Europe"),
    "Asia": pgettext_lazy("time zone region", "Asia"),
    "Africa": pgettext_lazy("time zone region", "Africa"),
    "America": pgettext_lazy("time zone region", "America"),
    "Atlantic": pgettext_lazy("time zone region", "Atlantic Ocean"),
    "Indian": pgettext_lazy("time zone region", "Indian Ocean"),
    "Pacific": pgettext_lazy("time zone region", "Pacific Ocean"),
    "Australia": pgettext_lazy("time zone region", "Australia"),
    "Antarctica": pgettext_lazy("time zone region", "Antarctica"),
    "Arctic": pgettext_lazy("time zone region", "Arctic"),
}

TimeZoneChoices = list[tuple[str, Any]]


def time_zone_place(name: str) -> str:
    """The zone's city as people write it: "Kyiv", "New York", and for a zone inside a
    country's or state's folder "Buenos Aires (Argentina)", "Center (North Dakota)"."""
    parts = [part.replace("_", " ") for part in name.split("/")]
    if len(parts) > 2:
        return f"{parts[-1]} ({' / '.join(parts[1:-1])})"
    return parts[-1]


def time_zone_label(name: str, *, now: datetime) -> str:
    """ "(UTC+02:00) Kyiv": the offset the zone has at `now` (summer and winter differ), then
    its city, which is what a person looks for in the list."""
    return f"(UTC{utc_offset_text(now.astimezone(ZoneInfo(name)))}) {time_zone_place(name)}"


def time_zone_choices(*, keep: str = "", now: datetime | None = None) -> TimeZoneChoices:
    """The settings page's zones: UTC, then one group a region, each sorted by its offset now,
    each zone under its canonical name only (accounts.time_zones).

    `keep`, a zone the person already has that is not offered (a saved Etc/GMT+5), is added in
    a group of its own, so the page still shows it chosen and saving it unchanged keeps it.
    An old name (Europe/Kiev) is mapped to its zone by the form instead (time_zone_canonical).
    """
    moment = now or django_timezone.now()
    offered = time_zone_database().zones
    by_region: dict[str, list[tuple[timedelta, str, str]]] = {}
    for name in offered - {UTC}:
        offset = moment.astimezone(ZoneInfo(name)).utcoffset() or timedelta(0)
        by_region.setdefault(name.split("/", 1)[0], []).append(
            (offset, time_zone_place(name), name)
        )
    regions = [*TIME_ZONE_REGIONS, *sorted(set(by_region) - set(TIME_ZONE_REGIONS))]
    choices: TimeZoneChoices = [(UTC, time_zone_label(UTC, now=moment))]
    for region in regions:
        if region in by_region:
            zones = sorted(by_region[region])
            group = [(name, time_zone_label(name, now=moment)) for _offset, _place, name in zones]
            choices.append((TIME_ZONE_REGIONS.get(region, region), group))
    if keep and keep not in offered and time_zone_known(keep):
        group = [(keep, f"(UTC{utc_offset_text(moment.astimezone(ZoneInfo(keep)))}) {keep}")]
        choices.append((pgettext_lazy("time zone region", "Other"), group))
    return choices


def utc_offset_text(moment: datetime) -> str:
    """An aware moment's offset from UTC as people write it after "UTC": "+02:00", "-05:00",
    "+05:45"."""
    offset = f"{moment:%z}"
    return f"{offset[:3]}:{offset[3:5]}"


def time_zone_said(name: str, *, now: datetime) -> str:
    """How "It is now …" names the zone `now` is in: its city and offset, "Kyiv, UTC+02:00", as
    the list shows it; a zone without a city by its offset alone, "UTC+00:00" (UTC), "UTC-05:00"
    (Etc/GMT+5, whose name has the sign the other way round)."""
    offset = f"UTC{utc_offset_text(now)}"
    if "/" not in name or name.startswith("Etc/"):
        return offset
    return f"{time_zone_place(name)}, {offset}"
