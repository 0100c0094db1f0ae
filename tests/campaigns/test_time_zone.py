"""Times in the person's own time zone (accounts.AccountSettings): the composer reads what they
type in it and shows it back in it, and the campaign's page and history say times in it."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone, translation

from accounts.services import account_settings_update
from campaigns import history, selectors, stored_text
from campaigns.engine.events import event_record
from campaigns.models import Campaign, CampaignEvent
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


# --- in the reader's date format too (the pages' "Y-m-d H:i", "d.m.Y H:i" in Ukrainian) --------


def test_a_stored_moment_is_said_in_each_readers_date_format():
    text = APPROVED_AT.stored(when=moment_stored(STORED))
    with timezone.override(ZoneInfo("Europe/Kyiv")):
        with translation.override("uk"):
            assert shown(text) == "Погоджено; заплановано на 10.12.2027 10:00 EET."
        with translation.override("en"):
            assert shown(text) == "Approved; scheduled for 2027-12-10 10:00 EET."


@pytest.fixture
def reader(client, user):
    """A superuser in Kyiv; each test picks the language."""
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    account_settings_update(user=user, time_zone="Europe/Kyiv")
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "as approved by an approver on 2027-12-10 10:00 EET."),
        ("uk", "10.12.2027 10:00 EET."),
    ],
)
def test_a_schedules_run_in_the_campaigns_log_says_when_it_was_approved_as_pages_do(
    client, reader, language, said
):
    account_settings_update(user=reader, language=language)
    campaign = Campaign.objects.create(name="Weekly · copy", status=Campaign.Status.SENDING)
    event_record(
        campaign.pk,
        CampaignEvent.Kind.CREATED,
        stored_text.SCHEDULE_SENT.stored(
            name="Weekly",
            run=3,
            approver=stored_text.AN_APPROVER.stored(),
            when=moment_stored(STORED),
        ),
    )
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert said in page
    assert "2027-12-10 08:00" not in page
    if language == "uk":
        assert "2027-12-10" not in page


@pytest.mark.parametrize(
    ("language", "now", "before", "as_of"),
    [
        ("en", "2027-12-10 10:00 EET", "2027-12-11 10:00 EET", "as of 2027-12-09 14:30 EET"),
        ("uk", "10.12.2027 10:00 EET", "11.12.2027 10:00 EET", "09.12.2027 14:30 EET"),
    ],
)
def test_the_approvals_changes_say_their_moments_in_the_readers_format_and_zone(
    client, reader, language, now, before, as_of
):
    account_settings_update(user=reader, language=language)
    campaign = Campaign.objects.create(
        name="Winter sale",
        text="Hi",
        sender="Shop",
        status=Campaign.Status.AWAITING_APPROVAL,
        approval_send_at=STORED,
    )
    approved = selectors.campaign_approval_snapshot(campaign=campaign)
    approved["send_at"] = (STORED + timedelta(days=1)).isoformat()
    approved["audience"] = {"recipients": 3, "as_of": "2027-12-09T12:30:00+00:00", "digest": "x"}
    Campaign.objects.filter(pk=campaign.pk).update(approval_snapshot=approved)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    table = page.split('id="approval-changes"', 1)[1].split("</table>", 1)[0]
    assert now in table and before in table and as_of in table
    assert "2027-12-10T" not in table
    if language == "uk":
        assert "2027-12-1" not in table
