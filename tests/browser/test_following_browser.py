"""In Chromium, pages opened before a state change follow it without a reload: the campaigns page
and the detail of a campaign waiting for approval see it approved elsewhere and go on to its end,
the navigation's inbox count follows, and the composer's Send buttons are enabled when the send
plan finishes in the background. No console error on the way (an out-of-band swap without its
target would log one)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from campaigns import sendplan, services
from campaigns.models import Campaign, CampaignPart, SendPlan
from contacts.models import Contact, ContactList, ListMembership
from tests.dashboard.conftest import campaign, part

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
ANY = re.compile(".*")


def signed_in(page: Page, live_server, path: str) -> list[str]:
    """Log the superuser in at `path`; returns the console's errors, collected from now on."""
    get_user_model().objects.create_superuser("boss", password=PASSWORD, email="b@example.org")
    errors: list[str] = []

    def collect(message) -> None:
        # The missing favicon is another issue's (#15, "Look and reach").
        if message.type == "error" and "favicon" not in message.location.get("url", ""):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", collect)
    page.goto(live_server.url + "/accounts/login/?next=" + path)
    page.get_by_label("User name").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("User name")).to_have_count(0)
    return errors


def waiting_for_approval(name: str) -> Campaign:
    return campaign(
        name=name,
        status=Campaign.Status.AWAITING_APPROVAL,
        approval_requested_at=timezone.now(),
    )


def approved_and_sent(made: Campaign) -> None:
    """What another tab's Approve and the engine do, straight to the database."""
    Campaign.objects.filter(pk=made.pk).update(
        status=Campaign.Status.SENDING, dispatched_at=timezone.now()
    )
    part(made, recipients=100, sent=40, delivered=10)


def test_a_campaign_approved_in_another_tab_is_followed_to_its_end(
    page: Page, live_server, bsg_settings
):
    made = waiting_for_approval("Waits for Ivan")
    errors = signed_in(page, live_server, "/campaigns/")
    row = page.locator(f"#campaign-{made.pk}")
    expect(row).to_contain_text("Waiting for approval")
    expect(page.locator("#campaigns-live")).to_have_attribute("hx-trigger", "every 15s")

    approved_and_sent(made)
    expect(row).to_contain_text("Sending", timeout=20_000)
    expect(row).to_contain_text("40")
    expect(page.locator("#campaigns-live")).to_have_attribute("hx-trigger", "every 5s")
    CampaignPart.objects.filter(campaign=made).update(sent=100, delivered=95)
    Campaign.objects.filter(pk=made.pk).update(status=Campaign.Status.FINISHED)
    expect(row).to_contain_text("Finished", timeout=12_000)
    expect(row).to_contain_text("95")
    expect(page.locator("#campaigns-live")).not_to_have_attribute("hx-trigger", ANY)
    assert errors == []


def test_the_detail_page_swaps_its_approval_panel_for_the_sending_one(
    page: Page, live_server, bsg_settings
):
    made = waiting_for_approval("Waits on its page")
    errors = signed_in(page, live_server, f"/campaigns/{made.pk}/")
    expect(page.locator("#awaiting-approval")).to_be_visible()
    expect(page.locator("#chart")).to_be_hidden()
    expect(page.locator("#nav-inbox .badge")).to_have_text("1")

    approved_and_sent(made)
    expect(page.locator("#campaign-status")).to_have_text("Sending", timeout=20_000)
    expect(page.locator("#awaiting-approval")).to_have_count(0)
    expect(page.locator("#figure-sent")).to_contain_text("40")
    expect(page.locator("#chart")).to_be_visible()
    expect(page.locator("#stop-campaign")).to_be_visible()
    assert errors == []


def test_the_send_buttons_come_alive_when_the_plan_finishes_in_the_background(
    page: Page, live_server, bsg_settings
):
    spring = ContactList.objects.create(name="Spring")
    for phone in ("380501111111", "380502222222"):
        ListMembership.objects.create(
            contact_list=spring, contact=Contact.objects.create(phone=phone, name="Olena")
        )
    made = services.campaign_save(
        campaign=Campaign(
            name="Spring sale",
            sms_mode=Campaign.SmsMode.INDIVIDUAL,
            text="Hi {name}, 20% off",
            sender="Shop",
        ),
        list_ids=[spring.pk],
        user=None,
    )
    plan = SendPlan.objects.create(
        campaign=made,
        fingerprint=services.campaign_fingerprint(campaign=made),
        recipients_total=2,
    )
    errors = signed_in(page, live_server, f"/campaigns/{made.pk}/edit/")
    ask = page.get_by_role("button", name="Ask for approval to send now")
    expect(ask).to_be_disabled()

    sendplan.send_plan_compute(plan_id=plan.pk)  # a worker finishes counting
    expect(page.locator("#plan-recipients")).to_have_text("2", timeout=10_000)
    expect(ask).to_be_enabled()
    expect(page.get_by_text("need a fresh send plan")).to_have_count(0)
    assert errors == []
