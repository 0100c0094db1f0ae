"""The time zones a person picks from on "Your settings", read from the IANA database itself.

zoneinfo.available_timezones() lists every file of the database, ~600 names: POSIX leftovers
(Etc/GMT+5, whose sign is the reverse of what it reads), Factory, and the old names kept as
links so that old settings still load (Europe/Kiev beside Europe/Kyiv). A person should see
each place once, under its current name. The database says which those are:

- zone.tab lists, for every country, the zones its people live in under their current names
  (Europe/Kyiv, Asia/Kolkata), with no Etc/*, Factory or backward-compatibility name. Chosen
  over zone1970.tab, which keeps one zone for countries that have agreed since 1970, so a person
  in Copenhagen, Amsterdam or Zagreb would have to know to look for Berlin, Brussels or
  Belgrade;
- tzdata.zi lists each link ("L <target> <link>"), which maps a saved old name to the zone a
  person now picks in its place.

Both come from the `tzdata` package (pinned in requirements.txt), which zoneinfo itself falls
back on; without it, from the system's database (zoneinfo.TZPATH), which ships the same files.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from zoneinfo import TZPATH

# Not in zone.tab (it is no place), yet what servers and many people keep: offered first.
UTC = "UTC"
# What UTC's other names (Etc/UTC, Zulu, Universal …) link to.
_UTC_TARGET = "Etc/UTC"


@dataclass(frozen=True)
class TimeZoneDatabase:
    zones: frozenset[str]  # the canonical zones a person picks from, UTC among them
    links: dict[str, str]  # an old or alternative name -> the zone it stands for


def _database_file(name: str) -> str:
    try:
        return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        for folder in TZPATH:
            path = Path(folder) / name
            if path.is_file():
                return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"{name} is in neither the tzdata package nor {TZPATH}")


def _rows(text: str) -> Iterator[list[str]]:
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split()


@functools.cache
def time_zone_database() -> TimeZoneDatabase:
    """Read once a process: the files change only with the tzdata package."""
    zones = {row[2] for row in _rows(_database_file("zone.tab"))} | {UTC}
    links = {row[2]: row[1] for row in _rows(_database_file("tzdata.zi")) if row[0] == "L"}
    return TimeZoneDatabase(zones=frozenset(zones), links=links)


def time_zone_canonical(name: str) -> str:
    """The zone a person picks for `name`: itself when offered, the zone an old or alternative
    name links to (Europe/Kiev -> Europe/Kyiv, US/Eastern -> America/New_York, Zulu -> UTC),
    else `name` unchanged (Etc/GMT+5, Factory, a typo), for the caller to keep or refuse."""
    database = time_zone_database()
    if name in database.zones:
        return name
    if name == _UTC_TARGET:
        return UTC
    target, seen = name, set()
    # A link may name another link; the database has no loops, but a guard costs nothing.
    while target in database.links and target not in seen:
        seen.add(target)
        target = database.links[target]
        if target == _UTC_TARGET:
            return UTC
        if target in database.zones:
            return target
    return name
