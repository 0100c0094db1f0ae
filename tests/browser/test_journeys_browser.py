"""Two new people's first day, in Chromium, on a desktop and on a phone (issue 15).

An author (group "Campaign authors") and an approver ("Campaign approvers"), each in a browser
context of their own, neither of whom has used the app before. Everything goes through the
pages as a person uses them: links in the navigation (under "Menu" on a phone; the Contacts
section is a dropdown), forms filled by their labels, buttons pressed by their names. Only the
first page is opened by its address. Behind the live server: a real Celery worker, the engine's
periodic tasks and the BSG sandbox at a pace a person can watch.

1. The author imports a messy CSV (a BOM, semicolons, Ukrainian headers, phones written five
   ways, a Cyrillic name and an apostrophe, trailing spaces, an empty city, a bad number and a
   duplicate) into a new list made on the import page: mapping, dry run, import, report.
2. ...composes a personalised SMS to that list with the "Insert field" picker, a fallback
   (`{city|your city}`) and a choice for whoever lacks a value, steps through the recipients'
   texts, computes the send plan and asks for approval.
3. ...pushes the list to BSG's contact book and composes an RCS carousel to that BSG group with
   an SMS fallback, and asks for approval.
4. The approver finds both in the inbox on the home page and approves each from there.
5. The author's page follows the SMS campaign to "Finished" by itself; the RCS one ends too.
6. The author duplicates the finished SMS campaign and archives the draft it makes.

`SCREENSHOTS=1` saves the moments a person looks at to docs/screenshots/ (the README shows them;
scripts/screenshots.py runs this test for both widths): plain names on the desktop, `phone-` on
the phone.
"""

# Cyrillic letters here are meant: the file and the names in it are Ukrainian.
# ruff: noqa: RUF001
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from campaigns import dashboard
from campaigns.models import Campaign
from contacts.models import Contact, ContactList
from sandbox.server import SandboxServer

from .test_e2e import number, person, point_app_at, sandbox_at_speed, stays_on_this_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
LIST_NAME = "Odesa spring customers"
SMS_NAME = "Spring sale"
RCS_NAME = "Spring collection"

# What a spreadsheet exported by hand looks like: a BOM, semicolons, headers in Ukrainian,
# phones with spaces, brackets, dashes, a trunk zero and Excel's text-marking apostrophe,
# cells with trailing spaces, an empty city, a number too short and the first number again.
MESSY_CSV = (
    "\ufeffТелефон;Ім'я;Місто;Discount\n"
    "+38 (067) 132-04-96;Ольга;Одеса;20%\n"
    "067 132 0497 ;O'Brien  ;Zürich ;15%\n"
    "0671320498;Taras;;10%\n"
    "'380501112233;Iryna;Kyiv;\n"
    "12345;Too short;Lviv;5%\n"
    "067 132 0496;Olha again;Odesa;25%\n"
)


@pytest.fixture(scope="module")
def journey_sandbox() -> Iterator[SandboxServer]:
    """Fast, but a person still sees a campaign on its way: a few messages are done about two
    seconds after BSG gets them."""
    yield from sandbox_at_speed(speed=2.5)


@pytest.fixture
def journey_stack(request, settings, monkeypatch, journey_sandbox) -> SandboxServer:
    point_app_at(settings, journey_sandbox)
    # The live panels' pace: every 5 s while sending, 15 s while waiting for an approver. The
    # pages follow the campaign the same way at any pace; a test need not wait for a person's.
    monkeypatch.setattr(dashboard, "LIVE_POLL", "1s")
    monkeypatch.setattr(dashboard, "WAITING_POLL", "1s")
    request.getfixturevalue("beat")  # after point_app_at, which empties the broker's Redis
    return journey_sandbox


class Person:
    """Someone at their own browser, getting about by the navigation as they would."""

    def __init__(self, page: Page, *, width: str) -> None:
        self.page = page
        self.on_phone = width == "phone"

    @property
    def nav(self) -> Locator:
        return self.page.get_by_role("navigation", name="Main")

    def go(self, link: str | re.Pattern[str], *, contacts: bool = False) -> None:
        """Follow a link of the main navigation: on a phone it is under "Menu"; on a desktop
        the Contacts section's links are in its dropdown."""
        self.open_menu()
        if contacts and not self.on_phone:
            self.nav.locator("summary", has_text="Contacts").click()
        self.nav.get_by_role("link", name=link, exact=isinstance(link, str)).click()

    def open_menu(self) -> Locator:
        """The main navigation, its links in view: on a phone, "Menu" opened (once)."""
        if self.on_phone and not self.page.locator("#menu").evaluate("menu => menu.open"):
            self.nav.locator("summary", has_text="Menu").click()
        return self.nav

    def close_menu(self) -> None:
        """On a phone the opened menu lies over the page: "Menu" again folds it away."""
        if self.on_phone:
            self.nav.locator("summary", has_text="Menu").click()
            expect(self.page.locator("#nav-inbox")).to_be_hidden()

    def shot(self, name: str, *, focus: Locator | None = None) -> None:
        """The page as the person sees it now: all of it on a desktop, on a phone the screen
        they are looking at (scrolled to `focus`)."""
        if not os.environ.get("SCREENSHOTS"):
            return
        # The header's balance arrives after the page; a picture of "BSG balance…" says little.
        expect(self.page.locator("#bsg-account")).to_contain_text("EUR")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if self.on_phone:
            if focus is not None:
                focus.evaluate("element => element.scrollIntoView({block: 'start'})")
            self.page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"))
        else:
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_new_author_and_a_new_approver_from_a_messy_csv_to_two_finished_campaigns(
    width, journey_stack, new_page, sign_in, live_server, tmp_path
):
    person("olha", "Campaign authors")
    person("petro", "Campaign approvers")
    upload = tmp_path / "customers export.csv"
    upload.write_text(MESSY_CSV, encoding="utf-8")

    author = Person(new_page(**WIDTHS[width]), width=width)
    page = author.page
    sign_in(page, "olha")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#inbox")).to_contain_text("Nothing needs you")

    # --- 1. the messy CSV into a new list ---------------------------------------------------
    author.go("Import", contacts=True)
    page.get_by_role("link", name="Import a file").click()
    page.get_by_label("CSV or XLSX file").set_input_files(str(upload))
    page.get_by_label("…or create a new list named").fill(LIST_NAME)
    page.get_by_role("button", name="Upload and map columns").click()

    # The worker reads the file; the page shows each column with its first values and where
    # it goes, guessed from the Ukrainian headers.
    mapping = page.locator("#mapping")
    expect(mapping).to_be_visible(timeout=20_000)
    # What the worker found, offered for a second reading should names look garbled.
    expect(page.get_by_label("Encoding")).to_have_value("utf-8")
    expect(page.get_by_label("Delimiter")).to_have_value(";")
    expect(page.get_by_label("Телефон")).to_have_value("phone")
    expect(page.get_by_label("Ім'я")).to_have_value("name")
    expect(page.get_by_label("Місто")).to_have_value("new:city")
    expect(page.get_by_label("Discount")).to_have_value("new:discount")
    expect(mapping.get_by_role("row", name=re.compile("^Ім'я"))).to_contain_text("Ольга")
    page.get_by_role("button", name="Dry run").click()

    dry_run = page.locator("#dry-run")
    expect(dry_run).to_be_visible(timeout=20_000)
    expect(page.locator("#import-panel")).to_contain_text("Dry run of 6 rows")
    expect(dry_run.get_by_role("row", name=re.compile("^New"))).to_contain_text("4")
    duplicate = dry_run.get_by_role("row", name=re.compile("^Duplicate within the file"))
    expect(duplicate).to_contain_text("row 7: +380 67 132 0496")
    invalid = dry_run.get_by_role("row", name=re.compile("^Invalid"))
    expect(invalid).to_contain_text("row 6")
    expect(invalid).to_contain_text("“12345” is too short")
    assert Contact.objects.count() == 0  # a dry run writes nothing
    author.shot("import-dry-run", focus=page.locator("#import-panel"))
    page.get_by_role("button", name="Import", exact=True).click()

    report = page.locator("#import-report")
    expect(report).to_be_visible(timeout=20_000)
    terms, values = report.locator("dt").all_inner_texts(), report.locator("dd").all_inner_texts()
    figures = dict(zip(terms, values, strict=True))
    assert figures == {
        "Rows read": "6",
        "Created": "4",
        "Updated": "0",
        "Unchanged": "0",
        "Added to the list": "4",
        "Duplicates in the file": "1",
        "Invalid": "1",
    }
    expect(page.get_by_role("link", name="Download the rejected rows (CSV)")).to_be_visible()
    author.shot("import-report", focus=page.locator("#import-panel"))
    imported = {c.phone: (c.name, c.fields) for c in Contact.objects.all()}
    assert imported == {
        "380671320496": ("Ольга", {"city": "Одеса", "discount": "20%"}),
        "380671320497": ("O'Brien", {"city": "Zürich", "discount": "15%"}),
        "380671320498": ("Taras", {"discount": "10%"}),
        "380501112233": ("Iryna", {"city": "Kyiv"}),
    }

    # --- 2. a personalised SMS to the new list ----------------------------------------------
    author.go("New SMS")
    expect(page.get_by_role("heading", name="New SMS campaign")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(SMS_NAME)
    page.get_by_label("To contact lists, personalised here").check()
    page.get_by_label(LIST_NAME, exact=True).check()
    text = page.get_by_label("Text", exact=True)
    text.fill("Hi ")
    page.get_by_label("Insert field").select_option(label="Name {name}")
    page.get_by_role("button", name="Insert", exact=True).click()
    expect(text).to_have_value("Hi {name}")
    # The picker left the cursor after {name}; the rest is typed there.
    page.keyboard.insert_text(", {discount} off in {city|your city} this week!")
    expect(text).to_have_value("Hi {name}, {discount} off in {city|your city} this week!")
    page.get_by_label("Leave them out").check()
    page.get_by_label("Sender", exact=True).fill("Shop")

    # The counter counts the text as typed; beside it, the worst case over the real audience.
    expect(page.locator(".sms-counter-line").first).to_contain_text(
        "(standard characters) · 1 SMS part"
    )
    expect(page.locator("#text-live")).to_contain_text("Special characters · 1 SMS part")
    expect(page.locator("#text-live")).to_contain_text(
        "Texts get special characters because of Name “Ольга”"
    )
    preview = page.locator("#preview")
    expect(preview).to_contain_text("1 recipient left out for a missing value.")
    expect(preview.locator(".bubble").first).to_have_text("Hi Ольга, 20% off in Одеса this week!")

    # One recipient's text at a time, in the order they were added: Iryna, left out for her
    # missing discount, then the next ones (Taras has no city: the fallback fills it).
    one = page.locator("#recipient-preview")
    bubble = one.locator(".bubble")
    expect(bubble).to_have_text("Hi Iryna,  off in Kyiv this week!")
    expect(one.locator("#recipient-left-out")).to_have_text(
        "Left out of this campaign: no value for Discount."
    )
    for expected in (
        "Hi Ольга, 20% off in Одеса this week!",
        "Hi O'Brien, 15% off in Zürich this week!",
        "Hi Taras, 10% off in your city this week!",
    ):
        one.get_by_role("button", name="Next →").click()
        expect(bubble).to_have_text(expected)
    expect(one).to_contain_text("Fallback used: Місто")  # the field's name, its column's
    expect(one.locator("#recipient-left-out")).to_have_count(0)
    one.get_by_role("button", name="← Previous").click()
    expect(bubble).to_have_text("Hi O'Brien, 15% off in Zürich this week!")
    author.shot("composer", focus=preview)

    page.get_by_role("button", name="Save and compute send plan").click()
    plan = page.locator("#send-plan")
    expect(plan.locator("#plan-recipients")).to_have_text("3", timeout=20_000)
    expect(plan.locator("#plan-parts")).to_have_text("3")
    expect(plan.locator("#plan-price")).to_contain_text("EUR")
    expect(plan).to_contain_text("left out: no value for Discount {discount}")
    expect(plan).to_contain_text("they get “your city”")
    # The page settles: the live checks fill in above the buttons (and move them).
    expect(page.locator("#text-live")).to_contain_text("Special characters · 1 SMS part")
    expect(page.locator("#missing-values-live")).to_contain_text("they are left out")
    expect(preview.locator(".bubble").first).to_have_text("Hi Ольга, 20% off in Одеса this week!")
    author.shot("send-plan", focus=plan)
    page.get_by_role("button", name="Ask for approval to send now").click()
    expect(page.locator(".messages")).to_contain_text("Sent for approval")
    expect(page.locator("#campaign-status")).to_have_text("Waiting for approval")
    expect(page.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)

    # --- 3. the list into BSG's contact book, and an RCS carousel to that group -------------
    author.go("Lists", contacts=True)
    page.get_by_role("link", name=LIST_NAME).click()
    expect(page.locator("main")).to_contain_text("4 members")
    bsg = page.locator("#bsg-panel")
    expect(bsg).to_contain_text("Not linked")
    bsg.get_by_role("button", name="Push this list to BSG").click()
    expect(bsg).to_contain_text("4 contacts sent up this time", timeout=20_000)
    expect(bsg).to_contain_text("Linked to BSG contact book")
    expect(bsg).not_to_contain_text("Not linked")

    author.go("New RCS")
    expect(page.get_by_role("heading", name="New RCS campaign")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(RCS_NAME)
    page.get_by_label("RCS agent name").fill("Shop")
    page.get_by_label("To BSG contact-book groups").check()
    page.get_by_label(f"{LIST_NAME} · BSG group", exact=True).check()
    cards = page.locator("[data-card]")
    cards.nth(0).get_by_label("Title", exact=True).fill("Linen shirts")
    cards.nth(0).get_by_label("Text", exact=True).fill("Light and cool, from 25 EUR.")
    page.get_by_role("button", name="Add card").click()
    expect(cards).to_have_count(2)
    cards.nth(1).get_by_label("Title", exact=True).fill("Sandals")
    cards.nth(1).get_by_label("Text", exact=True).fill("Made in Odesa, 20% off.")
    page.get_by_label("Send an SMS when the RCS message cannot be delivered").check()
    fallback = page.get_by_label("SMS fallback text")
    # BSG fills no placeholders in what it sends to a group: the page says so as it is typed.
    fallback.fill("Hi {name}, the spring collection is in: shop.example/spring")
    expect(page.locator("#errors-fallback_text")).to_contain_text("fills no placeholders")
    fallback.fill("The spring collection is in: shop.example/spring")
    expect(page.locator("#errors-fallback_text")).to_be_empty()
    page.get_by_label("SMS fallback sender").fill("Shop")
    carousel = page.locator("#preview .rcs-carousel").first
    expect(carousel.locator(".rcs-title")).to_have_text(["Linen shirts", "Sandals"])
    expect(page.locator("#preview")).to_contain_text("2 cards: a carousel the recipient swipes.")
    author.shot("rcs-composer", focus=page.locator("#preview"))

    page.get_by_role("button", name="Save and compute send plan").click()
    expect(page.locator("#plan-recipients")).to_have_text("4", timeout=20_000)
    expect(page.locator("#plan-fallback-price")).to_contain_text("EUR")
    expect(carousel.locator(".rcs-title")).to_have_text(["Linen shirts", "Sandals"])
    page.get_by_role("button", name="Ask for approval to send now").click()
    expect(page.locator("#campaign-status")).to_have_text("Waiting for approval")

    # The author opens the SMS campaign and leaves the page as it is.
    author.go("Campaigns")
    page.get_by_role("link", name=SMS_NAME, exact=True).click()
    expect(page.locator("#campaign-status")).to_have_text("Waiting for approval")
    same_page = stays_on_this_page(page)

    # --- 4. the approver, from the inbox ----------------------------------------------------
    approver = Person(new_page(**WIDTHS[width]), width=width)
    desk = approver.page
    sign_in(desk, "petro")
    inbox = desk.locator("#inbox-approvals")
    expect(inbox).to_contain_text("Waiting for your approval 2")
    expect(inbox.get_by_role("link")).to_have_text([SMS_NAME, RCS_NAME])  # oldest first
    if approver.on_phone:  # the links are folded away, and "Menu" says something waits
        expect(desk.locator("#menu-inbox .badge")).to_be_visible()
        expect(desk.locator("#menu-inbox .badge")).to_have_text("2")
    approver.shot("inbox")
    expect(approver.open_menu().locator("#nav-inbox")).to_have_accessible_name(
        "Inbox: 2 waiting for you"
    )
    approver.close_menu()
    for name, left in ((SMS_NAME, 1), (RCS_NAME, 0)):
        inbox.get_by_role("link", name=name, exact=True).click()
        expect(desk.locator("#approval-first")).to_contain_text("Never approved before")
        expect(desk.locator("#send-plan")).to_contain_text("Price (BSG estimate)")
        desk.get_by_role("button", name="Approve and send").click()
        expect(desk.locator(".messages")).to_contain_text("Approved")
        if left:
            approver.go(f"Inbox: {left} waiting for you")
            expect(desk.locator("#nav-inbox")).to_have_text(f"Inbox {left}")
    expect(desk.locator("#nav-inbox")).to_have_text("Inbox")
    approver.go("Home")
    expect(desk.locator("#inbox")).to_contain_text("Nothing needs you")

    # --- 5. the author's page follows the SMS campaign to its end by itself -----------------
    expect(page.locator("#campaign-status")).to_have_text("Finished", timeout=30_000)
    expect(page.locator("#figure-sent")).to_contain_text("3 (100% of recipients)")
    assert number(page.locator("#figure-delivered")) >= 1  # the sandbox delivers ~95 %
    expect(page.locator("#figure-price")).to_contain_text("EUR")
    expect(page.locator("#events")).to_contain_text("petro")
    same_page()
    author.shot("campaign-detail")

    # --- 6. duplicate it, and archive the draft that makes ----------------------------------
    page.get_by_role("button", name="Duplicate into a new draft").click()
    copy_name = f"Copy of {SMS_NAME}"
    expect(page.locator(".messages")).to_contain_text(f"“{copy_name}” is a new draft.")
    expect(page.get_by_label("Name", exact=True)).to_have_value(copy_name)
    expect(page.get_by_label("Text", exact=True)).to_have_value(
        "Hi {name}, {discount} off in {city|your city} this week!"
    )
    author.go("Campaigns")
    page.get_by_role("link", name=copy_name, exact=True).click()
    expect(page.locator("#campaign-status")).to_have_text("Draft")
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("is archived")
    author.go("Campaigns")
    rows = page.locator("#campaigns tbody tr")
    expect(rows.get_by_role("link")).to_have_text([RCS_NAME, SMS_NAME])
    page.get_by_label("Show archived").check()
    page.get_by_role("button", name="Show campaigns").click()
    expect(rows.filter(has_text=copy_name)).to_contain_text("archived")

    # The RCS campaign went to the BSG group and ended there too.
    author.go("Campaigns")
    page.get_by_role("link", name=RCS_NAME, exact=True).click()
    expect(page.locator("#campaign-status")).to_have_text("Finished", timeout=30_000)
    expect(page.locator("#figure-sent")).to_contain_text("4 (100% of recipients)")

    sms, rcs = Campaign.objects.get(name=SMS_NAME), Campaign.objects.get(name=RCS_NAME)
    assert (sms.status, rcs.status) == (Campaign.Status.FINISHED, Campaign.Status.FINISHED)
    assert sms.approved_by.username == rcs.approved_by.username == "petro"
    assert Campaign.objects.get(name=copy_name).archived_at is not None
    at_bsg = {(c["endpoint"], c["message_count"]) for c in journey_stack.state.campaigns}
    assert at_bsg == {
        ("/api/campaigns/sms/send-individual", 3),
        ("/api/campaigns/rcs/send-groups", 4),
    }
    assert ContactList.objects.get(name=LIST_NAME).bsg_group_id is not None
