import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_logs_in_and_sees_the_bsg_balance_arrive(page: Page, live_server, bsg_settings):
    get_user_model().objects.create_user(
        # Every page needs a permission (config/access.py): this one may do everything.
        "marketer",
        password="a-long-test-password",
        is_superuser=True,
    )

    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/accounts/login/?next=/")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # Loaded by htmx from our static files after the page rendered.
    expect(page.locator("#bsg-account")).to_contain_text("1,000.00 EUR")


def test_a_wrong_password_gets_a_clear_error(page: Page, live_server):
    get_user_model().objects.create_user(
        # Every page needs a permission (config/access.py): this one may do everything.
        "marketer",
        password="a-long-test-password",
        is_superuser=True,
    )
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
