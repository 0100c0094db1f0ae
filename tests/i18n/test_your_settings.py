""" "Your settings": a person's language and time zone, kept on their account and audited."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountSettings
from accounts.services import account_settings_update
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

SETTINGS = reverse("accounts:settings")


def test_the_account_menu_leads_to_the_settings_page(signed_in):
    body = signed_in.get(reverse("password_change")).content.decode()
    assert f'<a href="{SETTINGS}" class="account-settings"' in body
    page = signed_in.get(SETTINGS)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="Europe/Kyiv">(UTC+0' in html  # +02:00 in winter, +03:00 in summer
    # settings.TIME_ZONE until chosen
    assert '<option value="UTC" selected>(UTC+00:00) UTC</option>' in html
    assert '<option value="America/Argentina/Buenos_Aires">(UTC-03:00) Buenos Aires' in html


def test_a_person_chooses_kyiv_and_every_page_follows(signed_in, person):
    response = signed_in.post(SETTINGS, {"language": "en", "time_zone": "Europe/Kyiv"})
    assert response.status_code == 302
    chosen = AccountSettings.objects.get(user=person)
    # The language did not change, so it is not pinned on the account.
    assert (chosen.time_zone, chosen.language) == ("Europe/Kyiv", "")
    entries = AuditEntry.objects.filter(action="account-settings-update")
    assert [e.changes for e in entries] == [{"time_zone": [None, "Europe/Kyiv"]}]
    html = signed_in.get(SETTINGS).content.decode()
    assert "Your settings are saved." in html
    assert '<option value="Europe/Kyiv" selected>' in html
    assert "(Kyiv, UTC+0" in html and "until you choose yours" not in html


def test_saving_the_page_as_it_reads_writes_nothing(signed_in, person):
    signed_in.post(SETTINGS, {"language": "en", "time_zone": "UTC"})
    assert not AccountSettings.objects.exists()
    assert not AuditEntry.objects.filter(action="account-settings-update").exists()


def test_the_language_is_chosen_there_too_and_audited(signed_in, person):
    response = signed_in.post(SETTINGS, {"language": "uk", "time_zone": "UTC"})
    assert response.status_code == 302
    assert AccountSettings.objects.get(user=person).language == "uk"
    assert response.cookies["django_language"].value == "uk"
    entries = AuditEntry.objects.filter(action="account-settings-update")
    assert [e.changes for e in entries] == [{"language": [None, "uk"]}]
    assert "Ваші налаштування збережено." in signed_in.get(SETTINGS).content.decode()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/kyiv", "../../etc/passwd", "", "x" * 500])
def test_an_unknown_zone_is_refused_beside_the_field(signed_in, person, zone):
    response = signed_in.post(SETTINGS, {"language": "en", "time_zone": zone})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_time_zone-errors"' in html
    error = html.split('id="id_time_zone-errors">', 1)[1].split("</p>", 1)[0]
    assert ("is not a time zone" in error) if zone else ("Choose a time zone." in error)
    assert not AccountSettings.objects.exists()


def test_changing_both_at_once_is_one_row_and_one_audit_entry(signed_in, person):
    signed_in.post(SETTINGS, {"language": "uk", "time_zone": "Europe/Kyiv"})
    chosen = AccountSettings.objects.get(user=person)
    assert (chosen.language, chosen.time_zone) == ("uk", "Europe/Kyiv")
    entries = AuditEntry.objects.filter(action="account-settings-update")
    assert [e.changes for e in entries] == [
        {"language": [None, "uk"], "time_zone": [None, "Europe/Kyiv"]}
    ]


def test_the_choices_cost_no_query_of_their_own(person):
    """The backend reads the settings row with the user: a person who chose both loads a page with
    as many queries as one who chose neither."""
    other = get_user_model().objects.create_user("olha", password="a-long-test-password")
    account_settings_update(user=person, language="uk", time_zone="Europe/Kyiv")
    counts = []
    for who in (person, other):
        client = Client()
        client.force_login(who)
        client.get(SETTINGS)  # warm the permission cache and sessions alike
        with CaptureQueriesContext(connection) as queries:
            assert client.get(SETTINGS).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_page_says_now_in_the_persons_date_format_and_zone(signed_in, person):
    account_settings_update(user=person, language="uk", time_zone="Asia/Tbilisi")
    html = signed_in.get(SETTINGS).content.decode()
    today = timezone.localtime(timezone.now(), ZoneInfo("Asia/Tbilisi"))
    said = html.split('id="time-now">', 1)[1].split("</p>", 1)[0]
    # Written out as people say a date, the month in Ukrainian's genitive ("7 грудня 2026").
    assert said.startswith(f"Зараз {today.day} {UK_MONTHS[today.month - 1]} {today.year}, ")
    assert said.endswith("(Tbilisi, UTC+04:00).")
    # The zone's help is under its field and read with it by screen readers.
    assert 'aria-describedby="id_time_zone_helptext"' in html
    assert '<p class="help muted" id="id_time_zone_helptext">' in html


def _time_now(client: Client) -> str:
    html = client.get(SETTINGS).content.decode()
    return html.split('id="time-now">', 1)[1].split("</p>", 1)[0]


UK_MONTHS = [
    *("січня", "лютого", "березня", "квітня", "травня", "червня"),
    *("липня", "серпня", "вересня", "жовтня", "листопада", "грудня"),
]


def _english_moment(moment) -> str:
    return f"{moment.day} {moment:%B %Y, %H:%M}"


def _ukrainian_moment(moment) -> str:
    return f"{moment.day} {UK_MONTHS[moment.month - 1]} {moment:%Y, %H:%M}"


def _said_between(client: Client, zone: str, form) -> tuple[str, set[str]]:
    """What the page says now, and what it may say: the minute before or after the request."""
    before = timezone.localtime(timezone.now(), ZoneInfo(zone))
    said = _time_now(client)
    after = timezone.localtime(timezone.now(), ZoneInfo(zone))
    return said, {form(before), form(after)}


def test_the_page_says_the_time_in_the_zone_the_person_chose_not_the_servers(signed_in, person):
    account_settings_update(user=person, time_zone="America/New_York")  # UTC-5 in December
    said, moments = _said_between(signed_in, "America/New_York", _english_moment)
    offset = f"{timezone.localtime(timezone.now(), ZoneInfo('America/New_York')):%z}"
    assert said in {
        f"It is now {moment} (New York, UTC{offset[:3]}:{offset[3:]})." for moment in moments
    }


def test_until_a_zone_is_chosen_the_page_says_whose_time_it_is(signed_in, person):
    said, moments = _said_between(signed_in, "UTC", _english_moment)
    assert said in {
        f"It is now {moment} (UTC+00:00), this site's time zone, until you choose yours below."
        for moment in moments
    }
    account_settings_update(user=person, language="uk")
    said, moments = _said_between(signed_in, "UTC", _ukrainian_moment)
    assert said in {
        f"Зараз {moment} (UTC+00:00) — це часовий пояс сайту, доки ви не виберете свій нижче."
        for moment in moments
    }
