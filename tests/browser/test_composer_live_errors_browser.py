"""Issue 15: a mistake is shown beside its field as it is typed, in a real Chromium, and typing
in the composer logs nothing in the console (it used to log htmx:afterRequest/sendAbort on
every keystroke, each aborted live preview): the `new_page` fixture fails the test on any
console error (tests/browser/conftest.py)."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from campaigns.models import Campaign, SendPlan
from contacts.models import Contact, ContactList, ListMembership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_bad_sender_is_marked_beside_the_field_as_it_is_typed_without_console_errors(
    new_page, sign_in
):
    get_user_model().objects.create_user(
        "marketer", password="a-long-test-password", is_superuser=True
    )
    spring = ContactList.objects.create(name="Spring")
    olena = Contact.objects.create(phone="380501111111", name="Olena")
    ListMembership.objects.create(contact_list=spring, contact=olena)

    page = new_page()
    sign_in(page, "marketer", "/campaigns/new/sms/")
    expect(page.get_by_role("heading", name="New SMS campaign")).to_be_visible()
    sender_errors = page.locator("#field-sender #errors-sender")
    expect(sender_errors).to_be_empty()  # nothing typed, nothing wrong yet

    page.get_by_label("Name", exact=True).fill("Spring sale")
    page.get_by_label("Spring").check()
    # Key by key, faster than the preview answers: each keystroke a request htmx would once
    # have aborted.
    page.locator("#id_text").press_sequentially("Spring sale today: -20% on everything", delay=15)
    expect(page.locator("#preview .bubble").first).to_have_text(
        "Spring sale today: -20% on everything"
    )

    sender = page.get_by_label("Sender")
    sender.fill("")
    sender.press_sequentially("Магазин", delay=40)
    expect(sender_errors).to_contain_text("The sender must use Latin letters and digits only")

    sender.fill("")
    sender.press_sequentially("A" * 27, delay=10)
    expect(sender_errors).to_contain_text("is 27 characters; an alphanumeric sender is at most 11")

    # Fixed, the error goes as it came.
    sender.fill("Shop")
    expect(sender_errors).to_be_empty()

    # A text too long for BSG is beside the text, and no plan is made of it.
    page.locator("#id_text").fill("a" * 2000)
    expect(page.locator("#errors-text")).to_contain_text("BSG accepts at most 765")
    page.get_by_role("button", name="Save and compute send plan").click()
    expect(page.locator("#errors-text")).to_contain_text("BSG accepts at most 765")
    assert Campaign.objects.get().text == "a" * 2000  # the draft is saved as typed
    assert not SendPlan.objects.exists()
    expect(page.get_by_role("button", name="Ask for approval to send now")).to_be_disabled()

    # Whatever the last keystrokes' previews log arrives before the fixture looks.
    page.wait_for_load_state("networkidle")
