# The en dash is the range sign people read ("Hour must be 0–23").
# ruff: noqa: RUF001, RUF002, RUF003
"""When a recurring campaign runs, in words: the presets people pick, the cron fields they turn
into (campaigns.engine.schedules.schedule_create takes cron fields), each cron field's mistakes
said in words, and a schedule's timing read back as a sentence.

celery's crontab parser is the judge of what beat accepts; its own messages ("Invalid end
range: 25 > 23.") mean nothing to the marketers who set schedules up, so each field is checked
here first and explained by its range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# A time zone name the zone database does not know (the composer's window, a schedule). Never
# said back: what was typed may be anything (a path, a script, 100,000 characters), and the
# field still holds it for the person to correct.
UNKNOWN_TIME_ZONE = gettext_lazy(
    "That is not a time zone we know. Pick one from the list or type a name such as Europe/Kyiv."
)

DAILY = "daily"
WEEKDAYS = "weekdays"
WEEKLY = "weekly"
MONTHLY = "monthly"
CRON = "cron"

PRESET_CHOICES = [
    (DAILY, gettext_lazy("Every day")),
    (WEEKDAYS, gettext_lazy("Every weekday (Monday to Friday)")),
    (WEEKLY, gettext_lazy("Every week on the day below")),
    (MONTHLY, gettext_lazy("On the first day of every month")),
]
CRON_CHOICE = (CRON, gettext_lazy("Cron fields (below)"))

# Cron counts days of the week from Sunday = 0; the picker lists them from Monday.
WEEKDAY_CHOICES = [
    ("1", gettext_lazy("Monday")),
    ("2", gettext_lazy("Tuesday")),
    ("3", gettext_lazy("Wednesday")),
    ("4", gettext_lazy("Thursday")),
    ("5", gettext_lazy("Friday")),
    ("6", gettext_lazy("Saturday")),
    ("0", gettext_lazy("Sunday")),
]
WEEKDAY_NAMES = dict(WEEKDAY_CHOICES)
# "Every Monday at 09:00" as one sentence a day: other languages say each day its own way.
EVERY_WEEKDAY_AT = {
    "1": gettext_lazy("Every Monday at %(at)s"),
    "2": gettext_lazy("Every Tuesday at %(at)s"),
    "3": gettext_lazy("Every Wednesday at %(at)s"),
    "4": gettext_lazy("Every Thursday at %(at)s"),
    "5": gettext_lazy("Every Friday at %(at)s"),
    "6": gettext_lazy("Every Saturday at %(at)s"),
    "0": gettext_lazy("Every Sunday at %(at)s"),
}

CRON_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


@dataclass(frozen=True)
class CronField:
    noun: str | Promise
    # The sentence that says it must be in its range: the noun begins it, and other languages
    # inflect it their own way.
    out_of_range: str | Promise
    low: int
    high: int
    example_range: str | Promise
    example_step: str
    example_list: str


# The ranges celery's crontab parser accepts for each field (celery.schedules.crontab).
CRON_RANGES = {
    "minute": CronField(
        gettext_lazy("minute"),
        gettext_lazy("Minute must be %(low)s–%(high)s, not %(wrong)s."),
        0,
        59,
        "0-30",
        "*/15",
        "0,30",
    ),
    "hour": CronField(
        gettext_lazy("hour"),
        gettext_lazy("Hour must be %(low)s–%(high)s, not %(wrong)s."),
        0,
        23,
        "9-17",
        "*/2",
        "9,13",
    ),
    "day_of_week": CronField(
        gettext_lazy("day of the week"),
        gettext_lazy("Day of the week must be %(low)s–%(high)s, not %(wrong)s."),
        0,
        6,
        gettext_lazy("1-5 or mon-fri"),
        "*/2",
        "1,3,5",
    ),
    "day_of_month": CronField(
        gettext_lazy("day of the month"),
        gettext_lazy("Day of the month must be %(low)s–%(high)s, not %(wrong)s."),
        1,
        31,
        "1-7",
        "*/10",
        "1,15",
    ),
    "month_of_year": CronField(
        gettext_lazy("month"),
        gettext_lazy("Month must be %(low)s–%(high)s, not %(wrong)s."),
        1,
        12,
        "6-8",
        "*/3",
        "1,7",
    ),
}
_NUMBER = re.compile(r"\d+")


def preset_cron(*, preset: str, at: time, weekday: str = "1") -> dict[str, str]:
    """The cron fields of a preset at a time of day (local to the schedule's zone)."""
    fields = {
        "minute": str(at.minute),
        "hour": str(at.hour),
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
    }
    if preset == WEEKDAYS:
        fields["day_of_week"] = "1-5"
    elif preset == WEEKLY:
        if weekday not in WEEKDAY_NAMES:
            raise ValueError(f"Unknown day of the week {weekday!r}")
        fields["day_of_week"] = weekday
    elif preset == MONTHLY:
        fields["day_of_month"] = "1"
    elif preset != DAILY:
        raise ValueError(f"Unknown preset {preset!r}")
    return fields


def cron_field_error(name: str, value: str) -> str | None:
    """Why `value` is not a cron `name` field, in words ("Hour must be 0–23, not 25."), or
    None when celery's crontab takes it."""
    from celery.schedules import ParseException, crontab

    try:
        crontab(**{name: value})
    except (ValueError, KeyError, ParseException):
        pass
    else:
        return None
    rule = CRON_RANGES[name]
    outside = [n for n in map(int, _NUMBER.findall(value)) if not rule.low <= n <= rule.high]
    steps = [int(step) for step in re.findall(r"/(\d+)", value)]
    if outside and not (set(outside) <= set(steps)):
        wrong = next(n for n in outside if n not in steps)
        return rule.out_of_range % {"low": rule.low, "high": rule.high, "wrong": wrong}
    if 0 in steps:
        return _("“%(value)s” repeats every 0: a step such as %(step)s needs a number above 0.") % {
            "value": value,
            "step": rule.example_step,
        }
    return _(
        "“%(value)s” is not a valid %(noun)s: write a number %(low)s–%(high)s, a range such as "
        "%(range)s, a step such as %(step)s, a list such as %(list)s, or * for every %(noun)s."
    ) % {
        "value": value,
        "noun": rule.noun,
        "low": rule.low,
        "high": rule.high,
        "range": rule.example_range,
        "step": rule.example_step,
        "list": rule.example_list,
    }


def cron_describe(fields: dict[str, str]) -> str:
    """A schedule's cron fields as a sentence when they are one of the presets ("Every Monday
    at 09:00"), else "" (the page then shows the cron fields themselves)."""
    minute, hour = fields.get("minute", ""), fields.get("hour", "")
    if not (minute.isdigit() and hour.isdigit()) or fields.get("month_of_year", "*") != "*":
        return ""
    at = f"{int(hour):02d}:{int(minute):02d}"
    week, month = fields.get("day_of_week", "*"), fields.get("day_of_month", "*")
    if month == "*" and week == "*":
        return _("Every day at %(at)s") % {"at": at}
    if month == "*" and week in ("1-5", "mon-fri"):
        return _("Every weekday at %(at)s") % {"at": at}
    if month == "*" and week in EVERY_WEEKDAY_AT:
        return EVERY_WEEKDAY_AT[week] % {"at": at}
    if month == "1" and week == "*":
        return _("On the first day of every month at %(at)s") % {"at": at}
    return ""
