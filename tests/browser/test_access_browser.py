"""In Chromium: a panel htmx loads for a user who may not see it shows the server's reason in
its place (base.html's htmx-config swaps 403 answers; htmx would drop them by default)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The header's balance panel is refused (403) on purpose: Chromium reports the refused request,
# and htmx its error response, which it swaps in all the same (base.html's responseHandling).
@pytest.mark.console_errors_expected(
    r"status of 403 \(Forbidden\)",
    r"Response Status Error Code 403 from /bsg/account/",
    reason="the user may not read the panel the page asks for",
)
def test_an_htmx_panel_the_user_may_not_load_says_why_in_its_place(page: Page, live_server):
    reader = get_user_model().objects.create_user("reader", password=PASSWORD)
    # May read contacts, not campaigns: the header's BSG balance panel is a campaigns read.
    reader.user_permissions.add(
        Permission.objects.get(content_type__app_label="contacts", codename="view_contact")
    )
    page.goto(live_server.url + "/contacts/")
    page.get_by_label("User name").fill("reader")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(live_server.url + "/contacts/")
    denied = page.locator(".account #access-denied")
    expect(denied).to_contain_text("Can view campaign")
    expect(page.get_by_role("link", name="New SMS")).to_have_count(0)
