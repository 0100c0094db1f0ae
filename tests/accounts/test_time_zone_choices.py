""" "Your settings" offers the zones a person would pick from: each place once under its current
name, grouped by region, labelled and sorted by its offset now. A zone already saved is never
lost (an old name reads as its zone today, one the list leaves out stays an extra choice), and a
zone the list does not offer is refused beside the field."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AccountSettings
from accounts.selectors import time_zone_choices
from accounts.time_zones import time_zone_canonical
from audit.models import AuditEntry

SETTINGS = reverse("accounts:settings")
WINTER = datetime(2026, 12, 7, 12, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 12, tzinfo=UTC)


def offered(choices) -> list[tuple[str, str]]:
    """The (value, label) of every option, groups flattened."""
    flat = []
    for value, label in choices:
        flat += label if isinstance(label, list) else [(value, label)]
    return flat


def test_each_place_is_offered_once_under_its_current_name():
    names = [value for value, _label in offered(time_zone_choices(now=WINTER))]
    assert len(names) == len(set(names))
    assert names[0] == "UTC"
    assert {"Europe/Kyiv", "Europe/Warsaw", "America/New_York", "Asia/Kolkata"} <= set(names)
    # The database's leftovers and old names are not offered; every name offered is one
    # zoneinfo loads.
    assert [name for name in names if name.startswith("Etc/") or "/" not in name] == ["UTC"]
    assert {"Factory", "Europe/Kiev", "Asia/Calcutta", "US/Eastern", "GMT"}.isdisjoint(names)
    assert set(names) <= available_timezones() | {"UTC"}
    # A few hundred places, not the ~600 files of the database.
    assert 300 < len(names) < 450 < len(available_timezones())


def test_each_zone_reads_as_its_offset_now_and_its_city():
    winter = dict(offered(time_zone_choices(now=WINTER)))
    assert winter["Europe/Kyiv"] == "(UTC+02:00) Kyiv"
    assert winter["America/New_York"] == "(UTC-05:00) New York"
    assert winter["Asia/Kathmandu"] == "(UTC+05:45) Kathmandu"
    assert winter["America/Argentina/Buenos_Aires"] == "(UTC-03:00) Buenos Aires (Argentina)"
    assert winter["America/North_Dakota/New_Salem"] == "(UTC-06:00) New Salem (North Dakota)"
    assert winter["UTC"] == "(UTC+00:00) UTC"
    summer = dict(offered(time_zone_choices(now=SUMMER)))
    assert summer["Europe/Kyiv"] == "(UTC+03:00) Kyiv"


def test_zones_are_grouped_by_region_and_sorted_by_their_offset():
    choices = time_zone_choices(now=WINTER)
    groups = [str(group) for group, _zones in choices[1:]]
    assert groups[:4] == ["Europe", "Asia", "Africa", "America"]
    assert "Pacific Ocean" in groups and "Other" not in groups
    for _region, zones in choices[1:]:
        offsets = [WINTER.astimezone(ZoneInfo(name)).utcoffset() for name, _label in zones]
        assert offsets == sorted(offsets)
    europe = dict(choices[1][1])
    assert all(name.startswith("Europe/") for name in europe)


def test_the_regions_read_in_ukrainian():
    with translation.override("uk"):
        groups = [str(group) for group, _zones in time_zone_choices(now=WINTER)[1:]]
        keep = time_zone_choices(keep="Etc/GMT+5", now=WINTER)
    assert groups[:4] == ["Європа", "Азія", "Африка", "Америка"]
    with translation.override("uk"):
        assert str(keep[-1][0]) == "Інші"


@pytest.mark.parametrize(
    "saved, zone",
    [
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("US/Eastern", "America/New_York"),
        ("Etc/UTC", "UTC"),
        ("Zulu", "UTC"),
        ("Europe/Kyiv", "Europe/Kyiv"),
        # Not offered and no old name of an offered zone: left for the form to keep or refuse.
        ("Etc/GMT+5", "Etc/GMT+5"),
        ("Factory", "Factory"),
        ("Mars/Olympus", "Mars/Olympus"),
    ],
)
def test_an_old_name_reads_as_the_zone_it_stands_for(saved, zone):
    assert time_zone_canonical(saved) == zone


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture
def person(db):
    return get_user_model().objects.create_user("oksana", password="a-long-test-password")


@pytest.fixture
def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def _errors(html: str) -> str:
    assert 'id="id_time_zone-errors"' in html
    return html.split('id="id_time_zone-errors">', 1)[1].split("</p>", 1)[0]


def test_the_page_offers_the_curated_list_grouped(signed_in):
    html = signed_in.get(SETTINGS).content.decode()
    assert '<optgroup label="Europe">' in html
    assert '<option value="Europe/Kyiv">(UTC+0' in html
    for left_out in ("Europe/Kiev", "Etc/GMT+5", "Factory", "Etc/UTC"):
        assert f'value="{left_out}"' not in html


def test_a_saved_old_name_shows_as_its_zone_and_is_never_written_over(signed_in, person):
    # Saved before the list was curated (the service still accepts any name zoneinfo loads).
    AccountSettings.objects.create(user=person, time_zone="Europe/Kiev")
    html = signed_in.get(SETTINGS).content.decode()
    assert '<option value="Europe/Kyiv" selected>(UTC+0' in html
    assert "(Kyiv, UTC+0" in html
    assert "Europe/Kiev" not in html
    # Saved as it reads, nothing changed: the saved name stays, no audit entry.
    response = signed_in.post(SETTINGS, {"language": "en", "time_zone": "Europe/Kyiv"})
    assert response.status_code == 302
    # A page from before sends the old name: it reads as the same zone.
    response = signed_in.post(SETTINGS, {"language": "en", "time_zone": "Europe/Kiev"})
    assert response.status_code == 302
    assert AccountSettings.objects.get(user=person).time_zone == "Europe/Kiev"
    assert not AuditEntry.objects.filter(action="account-settings-update").exists()
    # Choosing another zone writes it as offered.
    signed_in.post(SETTINGS, {"language": "en", "time_zone": "Europe/Warsaw"})
    assert AccountSettings.objects.get(user=person).time_zone == "Europe/Warsaw"


def test_a_saved_zone_the_list_leaves_out_stays_an_extra_choice(signed_in, person):
    AccountSettings.objects.create(user=person, time_zone="Etc/GMT+5")
    html = signed_in.get(SETTINGS).content.decode()
    other = html.split('<optgroup label="Other">', 1)[1].split("</optgroup>", 1)[0]
    assert '<option value="Etc/GMT+5" selected>(UTC-05:00) Etc/GMT+5</option>' in other
    # Its name, not the abbreviation a fixed-offset zone has ("-05").
    assert " (UTC-05:00).</p>" in html
    response = signed_in.post(SETTINGS, {"language": "en", "time_zone": "Etc/GMT+5"})
    assert response.status_code == 302
    assert AccountSettings.objects.get(user=person).time_zone == "Etc/GMT+5"


@pytest.mark.parametrize("zone", ["Etc/GMT+5", "Factory", "Etc/UTC-ish", "Europe/Atlantis"])
def test_a_zone_the_list_does_not_offer_is_refused_beside_the_field(signed_in, person, zone):
    response = signed_in.post(SETTINGS, {"language": "en", "time_zone": zone})
    assert response.status_code == 200
    assert "That is not a time zone we know. Pick a time zone from the list." in _errors(
        response.content.decode()
    )
    assert not AccountSettings.objects.exists()


def test_the_refusal_and_the_groups_read_in_ukrainian(signed_in, person):
    AccountSettings.objects.create(user=person, language="uk")
    response = signed_in.post(SETTINGS, {"language": "uk", "time_zone": "Factory"})
    html = response.content.decode()
    assert "Такого часового поясу немає. Виберіть часовий пояс зі списку." in _errors(html)
    assert "Factory" not in _errors(html)
    assert '<optgroup label="Європа">' in html
    assert '<option value="Europe/Kyiv">(UTC+0' in html
