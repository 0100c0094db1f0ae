"""The sending window guard rail is set in the composer, with clear errors for half a window."""

from datetime import time

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from tests.campaigns.test_views import sms_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def test_a_window_typed_in_the_composer_is_saved_and_shown_again(client_in):
    data = sms_data(window_start="09:00", window_end="20:30", window_time_zone="Europe/Kyiv")
    assert client_in.post(reverse("campaigns:new", args=["sms"]), data).status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.window_start, campaign.window_end) == (time(9), time(20, 30))
    assert campaign.window_time_zone == "Europe/Kyiv"
    page = client_in.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'value="09:00"' in page
    assert 'value="20:30"' in page


def test_an_overnight_window_in_the_rcs_composer_is_kept(client_in):
    data = {
        "name": "Night",
        "rcs_agent": "agent",
        "start": "now",
        "window_start": "22:00",
        "window_end": "06:00",
        "window_time_zone": "",
        "validity_hours": "72",
        "tariff_code": "0",
        "fallback_validity_hours": "72",
        "action": "save",
        "card-TOTAL_FORMS": "1",
        "card-INITIAL_FORMS": "0",
        "card-0-title": "Night sale",
        "card-0-text": "Open late",
    }
    assert client_in.post(reverse("campaigns:new", args=["rcs"]), data).status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.window_start, campaign.window_end) == (time(22), time(6))
    assert campaign.has_window


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"window_start": "09:00"}, "Give both ends of the sending window, or neither."),
        ({"window_end": "18:00"}, "Give both ends of the sending window, or neither."),
        (
            {"window_start": "09:00", "window_end": "09:00"},
            "The window must end at another time than it starts.",
        ),
        (
            {"window_start": "09:00", "window_end": "18:00", "window_time_zone": "Mars/Olympus"},
            "That is not a time zone we know. Pick one from the list or type a name such as "
            "Europe/Kyiv",
        ),
        ({"window_start": "25:00", "window_end": "18:00"}, "Enter a valid time."),
    ],
)
def test_half_or_broken_windows_are_refused_with_a_reason_and_nothing_typed_is_lost(
    client_in, overrides, message
):
    data = sms_data(text="Keep me", **overrides)
    response = client_in.post(reverse("campaigns:new", args=["sms"]), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "Keep me" in body


def test_clearing_the_window_removes_it(client_in):
    data = sms_data(window_start="09:00", window_end="18:00")
    client_in.post(reverse("campaigns:new", args=["sms"]), data)
    campaign = Campaign.objects.get()
    client_in.post(reverse("campaigns:edit", args=[campaign.pk]), sms_data())
    campaign.refresh_from_db()
    assert not campaign.has_window


@pytest.mark.parametrize("language", ["en", "uk"])
def test_a_refused_time_zone_says_what_to_do_without_saying_the_value_back(client_in, language):
    client_in.cookies["django_language"] = language
    typed = "Mars/Olympus-9"
    data = sms_data(window_start="09:00", window_end="18:00", window_time_zone=typed)
    response = client_in.post(reverse("campaigns:new", args=["sms"]), data)
    assert response.status_code == 200
    body = response.content.decode()
    errors = body.split('id="errors-window_time_zone"', 1)[1].split("</div>", 1)[0]
    advice = {
        "en": "That is not a time zone we know. Pick one from the list or type a name such as "
        "Europe/Kyiv.",
        "uk": "Такого часового поясу немає. Виберіть його зі списку або введіть назву на кшталт "  # noqa: RUF001
        "Europe/Kyiv.",
    }[language]
    assert advice in errors
    assert typed not in errors
    # The field itself keeps what was typed, to be corrected rather than typed again.
    assert f'value="{typed}"' in body
