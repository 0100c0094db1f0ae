import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from campaigns.models import Campaign
from contacts.models import Contact, ContactField, ContactList, ListMembership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_types_sees_counter_and_preview_fixes_an_error_and_saves(
    page: Page, live_server
):
    get_user_model().objects.create_user(
        # Every page needs a permission (config/access.py): this one may do everything.
        "marketer",
        password="a-long-test-password",
        is_superuser=True,
    )
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    olena = Contact.objects.create(phone="380501111111", fields={"first_name": "Olena"})
    ListMembership.objects.create(contact_list=spring, contact=olena)

    page.goto(live_server.url + "/accounts/login/?next=/campaigns/new/sms/")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="New SMS campaign")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Spring sale")
    page.get_by_label("Spring").check()
    page.get_by_label("Sender").fill("Shop")
    text = page.locator("#id_text")
    counter = page.locator(".sms-counter-line").first

    text.fill("Hi {firstname}")
    expect(counter).to_contain_text("14 characters (standard characters) · 1 SMS part")
    expect(counter).to_have_attribute("title", "GSM-7")  # the technical name, only as a hint
    expect(page.locator("#preview")).to_contain_text("{firstname} names no contact field")

    # A typographic apostrophe makes it UCS-2; the counter says so and the helper fixes it.
    text.fill("Hi {first_name}, it\u2019s spring")
    expect(counter).to_contain_text("(special characters)")
    expect(page.locator("[data-gsm7-fix]")).to_contain_text(
        "Replace \u2019 with standard look-alikes"
    )
    expect(page.locator("#preview .bubble").first).to_have_text("Hi Olena, it\u2019s spring")
    page.locator("[data-gsm7-fix]").click()
    expect(text).to_have_value("Hi {first_name}, it's spring")
    expect(counter).to_contain_text("(standard characters)")
    expect(page.locator("#compose-form")).not_to_contain_text("GSM-7")
    expect(page.locator("#compose-form")).not_to_contain_text("UCS-2")
    expect(page.locator("#preview .bubble").first).to_have_text("Hi Olena, it's spring")
    expect(page.locator("#total-recipients")).to_have_text("1")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved")
    campaign = Campaign.objects.get()
    assert campaign.text == "Hi {first_name}, it's spring"
    assert list(campaign.lists.all()) == [spring]


def test_the_schedule_button_waits_while_start_is_now(page: Page, live_server, bsg_settings):
    from campaigns import services

    marketer = get_user_model().objects.create_user(
        "marketer", password="a-long-test-password", is_superuser=True
    )
    spring = ContactList.objects.create(name="Spring")
    olena = Contact.objects.create(phone="380501111111", name="Olena")
    ListMembership.objects.create(contact_list=spring, contact=olena)
    campaign = services.campaign_save(
        campaign=Campaign(name="Spring", channel=Campaign.Channel.SMS, text="Hi", sender="Shop"),
        list_ids=[spring.pk],
        user=marketer,
    )
    services.send_plan_request(campaign_id=campaign.pk, user=marketer)

    page.goto(live_server.url + f"/accounts/login/?next=/campaigns/{campaign.pk}/edit/")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    schedule = page.locator("button[value=schedule]")
    expect(schedule).to_be_disabled()
    expect(schedule).to_have_attribute("title", "Choose “At a time” and the start time first")
    expect(page.locator("button[value=send]")).to_be_enabled()
    page.get_by_label("At a time").check()
    expect(schedule).to_be_enabled()
    page.get_by_label("Now").check()
    expect(schedule).to_be_disabled()


def test_the_counter_says_a_cyrillic_text_plainly_and_marks_only_stray_characters(
    page: Page, live_server
):
    get_user_model().objects.create_user(
        "marketer", password="a-long-test-password", is_superuser=True
    )
    page.goto(live_server.url + "/accounts/login/?next=/campaigns/new/sms/")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    text = page.locator("#id_text")
    counter = page.locator(".sms-counter").first

    text.fill("Привіт, {first_name}! Весняний розпродаж до неділі.")
    expect(counter).to_contain_text(
        "Cyrillic text: up to 70 characters per SMS part (67 when split)."
    )
    expect(counter).not_to_have_class("sms-counter ucs2")
    expect(counter.locator("mark")).to_have_count(0)
    expect(counter).not_to_contain_text("because of")

    text.fill("It\u2019s spring")
    expect(counter).to_contain_text(
        "The text has special characters because of “\u2019” curly apostrophe"
    )
    expect(counter).not_to_contain_text("U+")
    expect(counter.locator("mark")).to_have_count(1)
    expect(counter).not_to_contain_text("Cyrillic")
