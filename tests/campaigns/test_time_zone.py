"""Times in the person's own time zone (accounts.AccountSettings): the composer reads what they
type in it and shows it back in it, and the campaign's page and history say times in it."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.services import account_settings_update
from campaigns import history, stored_text
from campaigns.models import Campaign
from campaigns.stored_text import APPROVED_AT, moment_stored, shown

pytestmark = pytest.mark.django_db

# Winter: Kyiv is UTC+2 (EET), so 10:00 there is 08:00Z.
TYPED = "2027-12-10T10:00"
STORED = datetime(2027, 12, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def kyiv_client(client, user):
    account_settings_update(user=user, time_zone="Europe/Kyiv")
    client.force_login(user)
    return client


def composer_data(**overrides):
    data = {
        "name": "Winter sale",
        "sms_mode": "individual",
        "text": "Hi {first_name}!",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "at",
        "start_at": TYPED,
        "pasted_numbers": "",
        "action": "save",
    }
    data.update(overrides)
    return data


def test_a_start_typed_in_kyiv_is_kept_in_utc_and_shown_back_as_typed(kyiv_client):
    new = kyiv_client.get(reverse("campaigns:new", args=["sms"])).content.decode()
    assert "Entered in your time zone, Europe/Kyiv." in new

    response = kyiv_client.post(reverse("campaigns:new", args=["sms"]), composer_data())
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.start_at == STORED
    assert campaign.start_time_zone == "Europe/Kyiv"

    edit = kyiv_client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert f'value="{TYPED}"' in edit
    assert "Entered in your time zone, Europe/Kyiv." in edit


def test_the_browser_zone_the_page_used_to_send_is_not_what_counts(kyiv_client):
    # An old page (or a script) may still post the browser's zone: the account's wins.
    kyiv_client.post(
        reverse("campaigns:new", args=["sms"]), composer_data(start_time_zone="America/New_York")
    )
    assert Campaign.objects.get().start_at == STORED


def test_someone_who_never_chose_types_in_the_sites_zone(client, user, settings):
    settings.TIME_ZONE = "UTC"
    client.force_login(user)
    assert (
        "Entered in your time zone, UTC."
        in client.get(reverse("campaigns:new", args=["sms"])).content.decode()
    )
    client.post(reverse("campaigns:new", args=["sms"]), composer_data())
    assert Campaign.objects.get().start_at == datetime(2027, 12, 10, 10, 0, tzinfo=UTC)


def test_the_campaign_page_and_its_history_show_kyiv_times(kyiv_client, user):
    kyiv_client.post(reverse("campaigns:new", args=["sms"]), composer_data())
    campaign = Campaign.objects.get()
    page = kyiv_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "2027-12-10 10:00 EET" in page
    assert "2027-12-10 08:00" not in page
    assert "Start: 2027-12-10 10:00 EET" in page  # the history's line

    # The same campaign read by someone in London: their own clock.
    londoner = get_user_model().objects.create_user("lon", is_superuser=True)
    account_settings_update(user=londoner, time_zone="Europe/London")
    kyiv_client.force_login(londoner)
    page = kyiv_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "2027-12-10 08:00 GMT" in page
    assert "10:00 EET" not in page


def test_the_history_says_a_logged_start_in_the_readers_zone(kyiv_client):
    kyiv_client.post(reverse("campaigns:new", args=["sms"]), composer_data())
    campaign = Campaign.objects.get()
    with timezone.override(ZoneInfo("Europe/Kyiv")):
        lines = [
            line for entry in history.campaign_history(campaign=campaign) for line in entry.lines
        ]
    assert "Start: 2027-12-10 10:00 EET" in lines


def test_a_stored_moment_is_said_in_each_readers_zone():
    text = APPROVED_AT.stored(when=moment_stored(STORED))
    assert text == "Approved; scheduled for 2027-12-10 08:00 UTC."
    with timezone.override(ZoneInfo("Europe/Kyiv")):
        assert shown(text) == "Approved; scheduled for 2027-12-10 10:00 EET."
    with timezone.override(ZoneInfo("UTC")):
        assert shown(text) == text
    # A person's own words are never rewritten, whatever time they hold.
    with timezone.override(ZoneInfo("Europe/Kyiv")):
        assert shown("Send it at 2027-12-10 08:00 UTC please") == (
            "Send it at 2027-12-10 08:00 UTC please"
        )
    assert stored_text.moment_shown(STORED) == "2027-12-10 08:00 UTC"
