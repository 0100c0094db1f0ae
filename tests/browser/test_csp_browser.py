"""In Chromium, with the real Content-Security-Policy: no page triggers a single violation."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from campaigns.models import Campaign
from contacts.models import Contact, ContactField, ContactList, ListMembership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's init script runs outside the page's policy, so it can watch for violations.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


# The last step inserts an inline style on purpose, to prove the policy is enforced.
@pytest.mark.console_errors_expected(
    r"Applying inline style violates", reason="the test breaks the policy itself, at its end"
)
def test_the_main_pages_run_without_a_csp_violation(page: Page, live_server, bsg_settings):
    get_user_model().objects.create_superuser("boss", password="a-long-test-password")
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    olena = Contact.objects.create(phone="380501111111", name="Olena", fields={"first_name": "O"})
    ListMembership.objects.create(contact_list=spring, contact=olena)
    campaign = Campaign.objects.create(name="Spring", channel="sms", text="Hi", sender="Shop")

    console = []
    page.on(
        "console",
        lambda message: console.append(message.text) if message.type == "error" else None,
    )
    page.add_init_script(WATCH_VIOLATIONS)

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("User name").fill("boss")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    # htmx (a static file) loaded the BSG balance after the page: scripts run under the policy.
    expect(page.locator("#bsg-account")).to_contain_text("1,000.00 EUR")

    pages = [
        "/",
        "/campaigns/",
        "/campaigns/new/sms/",
        "/campaigns/new/rcs/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/edit/",
        "/contacts/",
        "/contacts/new/",
        "/contacts/lists/",
        f"/contacts/lists/{spring.pk}/",
        "/contacts/fields/",
        "/contacts/fields/new/",
        "/contacts/do-not-contact/",
        "/contacts/imports/",
        "/contacts/imports/new/",
        "/admin/",
        "/admin/contacts/contact/",
        f"/admin/contacts/contact/{olena.pk}/change/",
    ]
    for path in pages:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__csp")
        assert violations == [], f"{path}: {violations}"

    # The composer's scripts ran: the counter and the preview filled in from static files.
    page.goto(live_server.url + "/campaigns/new/sms/")
    page.get_by_label("Spring").check()
    page.locator("#id_text").fill("Hi {first_name}")
    expect(page.locator(".sms-counter-line").first).to_contain_text("(standard characters)")
    expect(page.locator("#preview .bubble").first).to_have_text("Hi O")
    assert page.evaluate("window.__csp") == []
    assert [line for line in console if "Content Security Policy" in line] == []

    # The watcher is live and the policy enforced: an inline style is refused and reported.
    page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<i style="color:red">x</i>')""")
    page.wait_for_function("window.__csp.length > 0")
    assert "style-src" in page.evaluate("window.__csp")[0]
