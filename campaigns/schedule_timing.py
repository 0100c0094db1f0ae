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

DAILY = "daily"
WEEKDAYS = "weekdays"
WEEKLY = "weekly"
MONTHLY = "monthly"
CRON = "cron"

PRESET_CHOICES = [
    (DAILY, "Every day"),
    (WEEKDAYS, "Every weekday (Monday to Friday)"),
    (WEEKLY, "Every week on the day below"),
    (MONTHLY, "On the first day of every month"),
]
CRON_CHOICE = (CRON, "Cron fields (below)")

# Cron counts days of the week from Sunday = 0; the picker lists them from Monday.
WEEKDAY_CHOICES = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("0", "Sunday"),
]
WEEKDAY_NAMES = dict(WEEKDAY_CHOICES)

CRON_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


@dataclass(frozen=True)
class CronField:
    noun: str
    low: int
    high: int
    example_range: str
    example_step: str
    example_list: str


# The ranges celery's crontab parser accepts for each field (celery.schedules.crontab).
CRON_RANGES = {
    "minute": CronField("minute", 0, 59, "0-30", "*/15", "0,30"),
    "hour": CronField("hour", 0, 23, "9-17", "*/2", "9,13"),
    "day_of_week": CronField("day of the week", 0, 6, "1-5 or mon-fri", "*/2", "1,3,5"),
    "day_of_month": CronField("day of the month", 1, 31, "1-7", "*/10", "1,15"),
    "month_of_year": CronField("month", 1, 12, "6-8", "*/3", "1,7"),
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
        return f"{rule.noun.capitalize()} must be {rule.low}–{rule.high}, not {wrong}."
    if 0 in steps:
        return (
            f"“{value}” repeats every 0: a step such as {rule.example_step} needs a number above 0."
        )
    return (
        f"“{value}” is not a valid {rule.noun}: write a number {rule.low}–{rule.high}, a range "
        f"such as {rule.example_range}, a step such as {rule.example_step}, a list such as "
        f"{rule.example_list}, or * for every {rule.noun}."
    )


def cron_describe(fields: dict[str, str]) -> str:
    """A schedule's cron fields as a sentence when they are one of the presets ("Every Monday
    at 09:00"), else "" (the page then shows the cron fields themselves)."""
    minute, hour = fields.get("minute", ""), fields.get("hour", "")
    if not (minute.isdigit() and hour.isdigit()) or fields.get("month_of_year", "*") != "*":
        return ""
    at = f"{int(hour):02d}:{int(minute):02d}"
    week, month = fields.get("day_of_week", "*"), fields.get("day_of_month", "*")
    if month == "*" and week == "*":
        return f"Every day at {at}"
    if month == "*" and week in ("1-5", "mon-fri"):
        return f"Every weekday at {at}"
    if month == "*" and week in WEEKDAY_NAMES:
        return f"Every {WEEKDAY_NAMES[week]} at {at}"
    if month == "1" and week == "*":
        return f"On the first day of every month at {at}"
    return ""
