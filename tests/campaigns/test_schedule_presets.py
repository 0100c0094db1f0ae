"""Recurring campaigns from presets through the schedules page: each preset becomes the cron
beat fires and runs when it says, cron stays under "Advanced", mistakes are said in words, and
a schedule still waits for someone else's approval."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from campaigns.engine import schedules
from campaigns.models import Campaign, CampaignSchedule
from tests.access.conftest import groups, make_person  # noqa: F401 - the fixture
from tests.campaigns.conftest import make_campaign

pytestmark = pytest.mark.django_db

SCHEDULES = reverse("campaigns:schedules")
KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lists_campaign(audience) -> Campaign:
    made = make_campaign(status=Campaign.Status.DRAFT)
    made.save()
    made.lists.set([audience["spring"]])
    return made


@pytest.fixture
def author_client(client, groups):  # noqa: F811 - the fixture imported above
    client.force_login(make_person("author", groups, name="olena"))
    return client


def preset(template: Campaign, **overrides) -> dict:
    data = {
        "name": "Weekly news",
        "template": template.pk,
        "repeat": "weekly",
        "weekday": "1",
        "at": "09:00",
        "time_zone": "Europe/Kyiv",
    }
    data.update(overrides)
    return data


def cron_of(schedule: CampaignSchedule) -> tuple[str, ...]:
    cron = schedule.periodic_task.crontab
    return (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week)


def field_block(body: str, name: str) -> str:
    start = body.index(f'for="id_{name}"')
    return body[start : body.index("</div>", start)]


@pytest.mark.parametrize(
    "choice, at, weekday, cron, words",
    [
        ("daily", "09:00", "", ("0", "9", "*", "*", "*"), "Every day at 09:00"),
        ("weekly", "09:00", "1", ("0", "9", "*", "*", "1"), "Every Monday at 09:00"),
        ("weekly", "18:30", "0", ("30", "18", "*", "*", "0"), "Every Sunday at 18:30"),
        (
            "monthly",
            "10:00",
            "",
            ("0", "10", "1", "*", "*"),
            "On the first day of every month at 10:00",
        ),
        ("weekdays", "09:00", "", ("0", "9", "*", "*", "1-5"), "Every weekday at 09:00"),
    ],
)
def test_each_preset_becomes_its_cron_and_reads_back_in_words(
    author_client, lists_campaign, choice, at, weekday, cron, words
):
    response = author_client.post(
        SCHEDULES, preset(lists_campaign, repeat=choice, at=at, weekday=weekday), follow=True
    )
    assert response.status_code == 200
    schedule = CampaignSchedule.objects.select_related("periodic_task__crontab").get()
    assert cron_of(schedule) == cron
    assert str(schedule.periodic_task.crontab.timezone) == "Europe/Kyiv"
    assert f"{words} Europe/Kyiv" in response.content.decode()
    # It waits for approval whatever the preset.
    assert not schedule.is_approved and not schedule.periodic_task.enabled


@pytest.mark.parametrize(
    "choice, weekday, now, next_run",
    [
        # Wednesday 3 March 2027, 12:00 in Kyiv.
        ("daily", "", datetime(2027, 3, 3, 12, 0, tzinfo=KYIV), datetime(2027, 3, 4, 9, 0)),
        ("daily", "", datetime(2027, 3, 3, 8, 59, tzinfo=KYIV), datetime(2027, 3, 3, 9, 0)),
        ("weekly", "1", datetime(2027, 3, 3, 12, 0, tzinfo=KYIV), datetime(2027, 3, 8, 9, 0)),
        ("monthly", "", datetime(2027, 3, 3, 12, 0, tzinfo=KYIV), datetime(2027, 4, 1, 9, 0)),
        # Friday evening: the next weekday is Monday.
        ("weekdays", "", datetime(2027, 3, 5, 18, 0, tzinfo=KYIV), datetime(2027, 3, 8, 9, 0)),
    ],
)
def test_an_approved_preset_runs_next_when_it_says(
    client,
    groups,  # noqa: F811 - the fixture imported above
    lists_campaign,
    choice,
    weekday,
    now,
    next_run,
):
    client.force_login(make_person("author", groups, name="olena"))
    client.post(SCHEDULES, preset(lists_campaign, repeat=choice, weekday=weekday))
    schedule = CampaignSchedule.objects.get()
    assert schedules.schedule_next_run(schedule=schedule) is None  # not approved: never

    client.force_login(make_person("approver", groups, name="ivan"))
    seen = client.get(SCHEDULES).context["rows"][0]["seen"]
    client.post(reverse("campaigns:schedule-approve", args=[schedule.pk]), {"seen": seen})
    schedule = CampaignSchedule.objects.select_related("periodic_task__crontab").get()
    assert schedule.is_approved and schedule.periodic_task.enabled
    assert schedules.schedule_next_run(schedule=schedule, now=now) == next_run.replace(tzinfo=KYIV)
    # The page shows the next run too, in the schedule's zone.
    row = client.get(SCHEDULES).context["rows"][0]
    assert row["next_run"] == schedules.schedule_next_run(schedule=schedule)


def test_cron_fields_stay_under_advanced_until_chosen(author_client, lists_campaign):
    body = author_client.get(SCHEDULES).content.decode()
    advanced = body[body.index('<details id="schedule-advanced"') :]
    assert advanced.startswith('<details id="schedule-advanced">')  # closed
    for name in ("minute", "hour", "day_of_week", "day_of_month", "month_of_year"):
        assert f'name="{name}"' not in body[: body.index('id="schedule-advanced"')]
        assert f'name="{name}"' in advanced
    # Every day at 09:00 unless someone chooses otherwise.
    assert 'value="daily" id="id_repeat_0" checked' in body


def test_a_preset_ignores_cron_fields_left_under_advanced(author_client, lists_campaign):
    response = author_client.post(SCHEDULES, preset(lists_campaign, repeat="daily", hour="99"))
    assert response.status_code == 302
    assert cron_of(CampaignSchedule.objects.get()) == ("0", "9", "*", "*", "*")


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("hour", "25", "Hour must be 0\u201323, not 25."),
        ("hour", "9-30", "Hour must be 0\u201323, not 30."),
        ("minute", "75", "Minute must be 0\u201359, not 75."),
        ("day_of_week", "7", "Day of the week must be 0\u20136, not 7."),
        ("day_of_month", "0", "Day of the month must be 1\u201331, not 0."),
        ("month_of_year", "13", "Month must be 1\u201312, not 13."),
        ("minute", "*/0", "repeats every 0"),
        ("hour", "nine", "\u201cnine\u201d is not a valid hour: write a number 0\u201323"),
    ],
)
def test_advanced_cron_mistakes_are_said_in_words_beside_the_field(
    author_client, lists_campaign, field, value, words
):
    data = preset(lists_campaign, repeat="cron", **{"minute": "0", "hour": "9", field: value})
    response = author_client.post(SCHEDULES, data)
    assert response.status_code == 200
    body = response.content.decode()
    block = field_block(body, field)
    assert words in block
    assert "Invalid end range" not in body and "Invalid beginning range" not in body
    # The disclosure opens on the field to fix.
    assert '<details id="schedule-advanced" open>' in body
    assert not CampaignSchedule.objects.exists()


def test_a_preset_needs_a_time_of_day_in_words(author_client, lists_campaign):
    for at, words in (("", "Choose the time of day"), ("25:00", "Write the time of day as hh:mm")):
        response = author_client.post(SCHEDULES, preset(lists_campaign, at=at))
        assert response.status_code == 200
        assert words in field_block(response.content.decode(), "at")
    assert not CampaignSchedule.objects.exists()


def test_advanced_cron_is_saved_as_typed(author_client, lists_campaign):
    data = preset(lists_campaign, repeat="cron", minute="*/15", hour="9-17", day_of_week="mon-fri")
    response = author_client.post(SCHEDULES, data, follow=True)
    schedule = CampaignSchedule.objects.select_related("periodic_task__crontab").get()
    assert cron_of(schedule) == ("*/15", "9-17", "*", "*", "mon-fri")
    # Not a preset: the page shows the cron itself.
    assert "<code>*/15 9-17 * * mon-fri</code>" in response.content.decode()
