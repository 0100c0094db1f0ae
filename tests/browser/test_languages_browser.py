"""In Chromium: a Ukrainian marketer chooses Ukrainian on the log-in page, composes with the SMS
counter speaking Ukrainian (Django's JavaScript catalogue, under the real Content-Security-
Policy), and switches back to English from the header."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from accounts.models import AccountSettings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""


def test_a_marketer_works_in_ukrainian_then_switches_to_english(page: Page, live_server):
    user = get_user_model().objects.create_user(
        "olena", password="a-long-test-password", is_superuser=True
    )
    page.add_init_script(WATCH_CSP)
    page.goto(live_server.url + "/accounts/login/?next=/campaigns/new/sms/")
    page.get_by_role("button", name="Українська").click()
    expect(page.get_by_role("heading", name="Увійти")).to_be_visible()
    page.get_by_label("Ім\u2019я користувача").fill("olena")
    page.get_by_label("Пароль").fill("a-long-test-password")
    page.get_by_role("button", name="Увійти").click()

    expect(page.get_by_role("heading", name="Нова SMS-кампанія")).to_be_visible()
    page.locator("#id_text").fill("Hi {first_name}")
    counter = page.locator(".sms-counter-line").first
    expect(counter).to_contain_text("символів: 15 (звичайні символи) · 1 частина SMS (по 160)")
    page.locator("#id_text").fill("x" * 400)
    expect(counter).to_contain_text("3 частини SMS (по 153)")
    assert page.evaluate("window.__csp") == []

    # Signed in, the choice sits in the menu under the person's name.
    page.locator(".nav-user summary").click()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="New SMS campaign")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert AccountSettings.objects.get(user=user).language == "en"
