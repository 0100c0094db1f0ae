"""Every page that takes input reads it through a form: a value it does not expect is refused
with a reason (beside its field where the page has fields), never a 500 or a silent guess."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns.engine import schedules
from campaigns.models import Campaign, CampaignSchedule
from tests.campaigns.conftest import make_campaign

pytestmark = pytest.mark.django_db

SCHEDULES = "campaigns:schedules"


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def lists_campaign(audience) -> Campaign:
    made = make_campaign(status=Campaign.Status.DRAFT)
    made.save()
    made.lists.set([audience["spring"]])
    return made


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def field_block(body: str, name: str) -> str:
    """The form's block for one field: its label, input and errors."""
    start = body.index(f'for="id_{name}"')
    return body[start : body.index("</div>", start)]


def test_the_schedule_form_keeps_its_field_names(client_in, lists_campaign):
    body = client_in.get(reverse(SCHEDULES)).content.decode()
    for name in (
        "name",
        "template",
        "minute",
        "hour",
        "day_of_week",
        "day_of_month",
        "month_of_year",
        "time_zone",
        "frequency_cap_days",
    ):
        assert f'name="{name}"' in body and f'id="id_{name}"' in body, name
    assert f'<option value="{lists_campaign.pk}">Spring sale (draft)</option>' in body


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("hour", "25", "Hour must be 0\u201323, not 25."),
        # celery raises its own ParseException for this one, not a ValueError (was a 500).
        ("hour", "-1", "“-1” is not a valid hour"),
        ("minute", "61", "Minute must be 0\u201359, not 61."),
        ("day_of_week", "funday", "“funday” is not a valid day of the week"),
        ("time_zone", "Mars/Base", "That is not a time zone we know"),
        ("frequency_cap_days", "a week", "Enter a whole number."),
        ("frequency_cap_days", "0", "greater than or equal to 1"),
        ("template", "not-a-campaign", "Select a valid choice"),
        ("name", "", "This field is required."),
    ],
)
def test_a_bad_schedule_is_refused_beside_its_field(
    client_in, lists_campaign, field, value, reason
):
    data = {"name": "Daily", "template": lists_campaign.pk, "hour": "9", field: value}
    response = client_in.post(reverse(SCHEDULES), data)
    assert response.status_code == 200
    assert reason in field_block(response.content.decode(), field)
    assert not CampaignSchedule.objects.exists()


def test_a_new_schedule_waits_for_approval_and_says_so(client_in, lists_campaign):
    response = client_in.post(
        reverse(SCHEDULES), {"name": "Daily", "template": lists_campaign.pk}, follow=True
    )
    assert "It runs once someone other than you" in response.content.decode()
    schedule = CampaignSchedule.objects.select_related("periodic_task").get()
    assert not schedule.is_approved and not schedule.periodic_task.enabled
    assert "Waiting for approval" in response.content.decode()


def test_a_good_schedule_is_saved_with_what_was_typed(client_in, lists_campaign):
    response = client_in.post(
        reverse(SCHEDULES),
        {
            "name": " Mondays ",
            "template": lists_campaign.pk,
            "minute": "30",
            "hour": "8",
            "day_of_week": "1",
            "time_zone": "Europe/Kyiv",
            "frequency_cap_days": "6",
        },
    )
    assert response.status_code == 302
    schedule = CampaignSchedule.objects.select_related("periodic_task__crontab").get()
    cron = schedule.periodic_task.crontab
    assert (schedule.name, schedule.frequency_cap_days) == ("Mondays", 6)
    assert (cron.minute, cron.hour, cron.day_of_week, str(cron.timezone)) == (
        "30",
        "8",
        "1",
        "Europe/Kyiv",
    )


def test_pausing_takes_only_pause_or_resume(client_in, lists_campaign):
    schedule = schedules.schedule_create(name="Daily", template_id=lists_campaign.pk)
    approver = get_user_model().objects.create_superuser("another-approver")
    schedule = schedules.schedule_approve(schedule_id=schedule.pk, user=approver)
    url = reverse("campaigns:schedule-pause", args=[schedule.pk])
    response = client_in.post(url, {"paused": "maybe"})
    assert response.status_code == 302 and "Press Pause or Resume" in " ".join(said(response))
    schedule.periodic_task.refresh_from_db()
    assert schedule.periodic_task.enabled
    client_in.post(url, {"paused": "1"})
    schedule.periodic_task.refresh_from_db()
    assert not schedule.periodic_task.enabled


def test_approval_buttons_refuse_what_they_do_not_send(client_in, lists_campaign):
    request = reverse("campaigns:approval-request", args=[lists_campaign.pk])
    response = client_in.post(request, {"intent": "tomorrow-ish"})
    assert "Select a valid choice" in " ".join(said(response))
    lists_campaign.refresh_from_db()
    assert lists_campaign.status == Campaign.Status.DRAFT
    Campaign.objects.filter(pk=lists_campaign.pk).update(status=Campaign.Status.AWAITING_APPROVAL)
    reject = reverse("campaigns:reject", args=[lists_campaign.pk])
    response = client_in.post(reject, {"reason": ""})
    assert "Say why you are sending it back" in " ".join(said(response))
    approve = reverse("campaigns:approve", args=[lists_campaign.pk])
    response = client_in.post(approve, {"seen": "x" * 500})
    assert "at most 128 characters" in " ".join(said(response))
    lists_campaign.refresh_from_db()
    assert lists_campaign.status == Campaign.Status.AWAITING_APPROVAL


def test_polls_and_links_with_unexpected_values_are_read_as_absent(client_in, lists_campaign):
    detail = reverse("campaigns:detail", args=[lists_campaign.pk])
    assert client_in.get(detail, {"stop": "<script>"}).status_code == 200
    parts = reverse("campaigns:parts", args=[lists_campaign.pk])
    body = client_in.get(parts, {"shown": "exploded"}).content.decode()
    assert "hx-swap-oob" not in body
    changed = client_in.get(parts, {"shown": "sending"}).content.decode()
    assert 'id="campaign-status" hx-swap-oob="true"' in changed
    live = client_in.get(reverse("campaigns:list-live"), {"ids": f"x,{lists_campaign.pk}"})
    assert live.status_code == 200


def test_the_preview_and_the_composer_read_their_buttons_through_forms(client_in, audience):
    preview = client_in.post(
        reverse("campaigns:preview"), {"channel": "fax", "campaign_id": "-3", "text": "Hi"}
    )
    assert preview.status_code == 200
    saved = client_in.post(
        reverse("campaigns:new", args=["sms"]),
        {
            "name": "Typed",
            "sms_mode": "numbers",
            "text": "Hi",
            "sender": "Shop",
            "validity_hours": "72",
            "tariff_code": "0",
            "start": "now",
            "action": "launch-it",
        },
    )
    # An unknown button only saves the draft.
    assert saved.status_code == 302
    assert Campaign.objects.get(name="Typed").status == Campaign.Status.DRAFT


HOSTILE = ["a\x00b", "9" * 100_000, "1" * 25, "9999-12-31T23:59:59", "-1"]


@pytest.mark.parametrize("value", HOSTILE, ids=["nul", "100k", "25-digits", "year-9999", "neg"])
def test_no_input_of_these_pages_answers_500(client_in, lists_campaign, value):
    pk = lists_campaign.pk
    asks = [
        ("get", reverse("campaigns:list"), {"after": value}),
        ("get", reverse("campaigns:list"), {"before": value, "status": value}),
        ("get", reverse("campaigns:list-live"), {"ids": value}),
        ("get", reverse("campaigns:recipients", args=[pk]), {"after": value}),
        ("get", reverse("campaigns:parts", args=[pk]), {"shown": value}),
        ("get", reverse("campaigns:detail", args=[pk]), {"stop": value}),
        ("get", reverse("contacts:contact-index"), {"after": value, "name": "x"}),
        ("get", reverse("contacts:dnc-index"), {"before": value}),
        ("get", reverse("contacts:list-index"), {"archived": value}),
        ("get", reverse("contacts:contact-new"), {"list": value}),
        ("post", reverse(SCHEDULES), {"name": value, "template": value, "hour": value}),
        ("post", reverse(SCHEDULES), {"name": "x", "template": pk, "frequency_cap_days": value}),
        ("post", reverse("campaigns:preview"), {"channel": value, "campaign_id": value}),
        ("post", reverse("campaigns:approval-request", args=[pk]), {"intent": value}),
        ("post", reverse("campaigns:approve", args=[pk]), {"seen": value}),
        ("post", reverse("campaigns:reject", args=[pk]), {"reason": value}),
    ]
    for method, url, data in asks:
        response = getattr(client_in, method)(url, data)
        assert response.status_code < 500, (url, data.keys())


@pytest.mark.parametrize("zone", ["Europe/\x00Kyiv", "Z" * 100_000, "9" * 25, "../../etc/passwd"])
def test_a_hostile_schedule_time_zone_is_refused_without_being_said_back(
    client_in, lists_campaign, zone
):
    data = {"name": "Daily", "template": lists_campaign.pk, "hour": "9", "time_zone": zone}
    response = client_in.post(reverse(SCHEDULES), data)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        block = field_block(response.content.decode(), "time_zone")
        # The box keeps what was typed, to correct it; the error never repeats it.
        errors = " ".join(re.findall(r'<p class="error"[^>]*>(.*?)</p>', block, re.S))
        assert errors and "9" * 25 not in errors and "Z" * 100 not in errors
    assert not CampaignSchedule.objects.exists()
