"""In Chromium: live panels slow down while the tab is hidden, figures change in place without
a reload, polling ends itself when the campaign is terminal, and a phone screen fits."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from campaigns.models import Campaign, CampaignPart
from tests.dashboard.conftest import sending

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
ANY = re.compile(".*")
# Playwright cannot hide a tab; the page is told it is hidden the way the browser tells it.
SET_VISIBILITY = """(hidden) => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible")});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def log_in(page: Page, live_server, path: str) -> None:
    get_user_model().objects.create_superuser("boss", password=PASSWORD)
    page.goto(live_server.url + "/accounts/login/?next=" + path)
    page.get_by_label("User name").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("User name")).to_have_count(0)


def test_the_parts_panel_slows_while_hidden_updates_in_place_and_stops(
    page: Page, live_server, bsg_settings
):
    campaign = sending(name="Live", recipients=100, sent=10, delivered=5)
    log_in(page, live_server, f"/campaigns/{campaign.pk}/")
    panel = page.locator("#engine-panel")
    expect(panel).to_have_attribute("hx-trigger", "every 5s")
    page.evaluate(SET_VISIBILITY, True)
    expect(panel).to_have_attribute("hx-trigger", "every 30s")
    page.evaluate(SET_VISIBILITY, False)
    expect(panel).to_have_attribute("hx-trigger", "every 5s")

    CampaignPart.objects.filter(campaign=campaign).update(sent=80, delivered=60)
    expect(page.locator("#figure-sent")).to_contain_text("80", timeout=12_000)
    expect(page.locator("#figure-rate")).to_contain_text("75.0%")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FINISHED)
    # The panel re-renders once more, without its trigger: it has stopped polling.
    expect(page.locator("#engine-panel")).not_to_have_attribute("hx-trigger", ANY, timeout=12_000)
    expect(page.locator("#engine-panel .status")).to_have_text("Finished")
    # The chart polls more slowly (every 15 s) and ends itself the same way.
    expect(page.locator("[data-live]")).to_have_count(0, timeout=20_000)


def test_list_rows_update_in_place_and_the_poller_ends(page: Page, live_server, bsg_settings):
    campaign = sending(name="Going out", recipients=100, sent=10, delivered=5)
    log_in(page, live_server, "/campaigns/")
    row = page.locator(f"#campaign-{campaign.pk}")
    expect(row).to_contain_text("Sending")
    expect(page.locator("#campaigns-live")).to_have_attribute("hx-trigger", "every 5s")
    CampaignPart.objects.filter(campaign=campaign).update(sent=100, delivered=90)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FINISHED)
    expect(row).to_contain_text("Finished", timeout=12_000)
    expect(row).to_contain_text("90")
    expect(page.locator("#campaigns-live")).not_to_have_attribute("hx-trigger", ANY)


@pytest.mark.parametrize("path", ["/", "/campaigns/", "detail", "recipients"])
def test_pages_fit_a_375_pixel_phone(page: Page, live_server, bsg_settings, path):
    campaign = sending(name="A rather long campaign name for a small phone screen")
    if path == "detail":
        path = f"/campaigns/{campaign.pk}/"
    elif path == "recipients":
        path = f"/campaigns/{campaign.pk}/recipients/"
    log_in(page, live_server, path)
    page.set_viewport_size({"width": 375, "height": 740})
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{path} is {width}px wide on a 375px phone"
