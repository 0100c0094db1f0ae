"""End to end in Chromium: live server, a real Celery worker, the engine's periodic tasks and the
BSG sandbox, with nothing mocked between the browser and the sandbox's HTTP port.

Three people, each in a browser context of their own: an author (group "Campaign authors"), an
approver ("Campaign approvers") and a viewer ("Viewers"). Every test runs with a BSG API key made
for this run; everything the run logs (every logger, at DEBUG: django, celery, urllib3, bsg...)
and every response the browsers receive is kept, and the key must appear in none of it (issue 7;
tests/security/test_api_key.py walks the error paths page by page with Django's test client).

The README's screenshots come from tests/browser/test_journeys_browser.py (scripts/screenshots.py).
"""

import importlib
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, Route, expect

from campaigns import approval, services
from campaigns.models import Campaign
from contacts.models import Contact, ContactField, ContactList, ListMembership
from sandbox.faults import Faults
from sandbox.server import SandboxConfig, SandboxServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The groups people belong to come from a data migration, which a transactional test that ran
# earlier in the session has flushed away; `person` makes them again the migration's way.
groups_migration = importlib.import_module("campaigns.migrations.0004_approval_permissions_groups")

# Distinctive and made for this run, so that finding it anywhere can only mean a leak.
API_KEY = f"e2eKey{secrets.token_hex(12)}DoNotLeak"
PASSWORD = "a-long-test-password"
PHONE = {"width": 375, "height": 812}
TERMINAL_STATUS = "Finished"
SEND_PATH = "/api/campaigns/sms/send"

CSV = (
    "Phone,Full name,First name,Discount\n"
    "+380 50 111 1111,Olena Kovalenko,Olena,20%\n"
    "+380 50 222 2222,Taras Melnyk,Taras,15%\n"
    "+380 50 333 3333,Iryna Bondar,Iryna,30%\n"
    "12345,Too short,Ivan,10%\n"
)


# --- the stack ---------------------------------------------------------------------------------


def sandbox_at_speed(speed: float) -> Iterator[SandboxServer]:
    config = SandboxConfig(
        api_key=API_KEY, speed=speed, seed=11, balance=Decimal("500.00"), currency="EUR"
    )
    server = SandboxServer(config, host="127.0.0.1", port=0)
    server.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def watchable_sandbox() -> Iterator[SandboxServer]:
    """BSG's own pace: a three-message campaign is dispatched over about a second and done
    a few seconds after creation, slow enough to see figures move, quick enough for a test."""
    yield from sandbox_at_speed(speed=1.0)


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[SandboxServer]:
    """A campaign stays in BSG's `creation` for a minute: there is time to press Stop."""
    yield from sandbox_at_speed(speed=1 / 60)


def point_app_at(settings, sandbox: SandboxServer) -> None:
    sandbox.reset()
    settings.BSG_API_URL = sandbox.url
    settings.BSG_API_KEY = API_KEY
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # What the engine tests use: unclear answers are settled within seconds, not minutes.
    settings.ENGINE_BACKOFF_BASE = 0.0
    settings.ENGINE_BACKOFF_MAX = 0.01
    # Per-recipient statuses are read every second while a part sends (15 s in production).
    settings.BSG_POLL_INTERVAL = 1
    cache.clear()


@pytest.fixture
def stack(request, settings, watchable_sandbox: SandboxServer) -> SandboxServer:
    point_app_at(settings, watchable_sandbox)
    # Only now the worker and beat: emptying the cache empties its Redis database, which in
    # tests is the broker's too.
    request.getfixturevalue("beat")
    return watchable_sandbox


@pytest.fixture
def bsg(settings, watchable_sandbox: SandboxServer) -> SandboxServer:
    """The sandbox without a worker, for pages that send nothing."""
    point_app_at(settings, watchable_sandbox)
    return watchable_sandbox


@pytest.fixture
def slow_stack(request, settings, slow_sandbox: SandboxServer) -> SandboxServer:
    point_app_at(settings, slow_sandbox)
    request.getfixturevalue("beat")
    return slow_sandbox


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self.loggers: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        # format() renders the message with its args and any traceback, as a log file would.
        self.lines.append(f"{self.format(record)} {record.args!r}")
        self.loggers.add(record.name)


class Leaks:
    """Everything the run logged, and every response the watched browsers received."""

    def __init__(self, handler: _Capture) -> None:
        self.handler = handler
        self.responses: list[tuple[str, str]] = []
        self.abandoned: list[str] = []

    def watch(self, page: Page) -> Page:
        # Every request of the page's context passes through here and its answer is read before
        # the page gets it: nothing served escapes, not even a partial whose page moved on.
        page.context.route("**/*", self._through)
        return page

    def _through(self, route: Route) -> None:
        request = route.request
        if "multipart/form-data" in (request.headers.get("content-type") or ""):
            # Playwright cannot replay a file upload; its answer is a redirect (or the form
            # again), and the page that follows comes through here.
            route.continue_()
            return
        try:
            # Redirects go back to the browser, which follows them itself as it would.
            response = route.fetch(max_redirects=0)
            body = response.body()
            head = f"{response.status} {response.headers_array!r}"
            self.responses.append((response.url, f"{head}\n{body.decode(errors='replace')}"))
            route.fulfill(response=response, body=body)
        except PlaywrightError:
            # The page moved on (or closed) before the answer came: a poll cut short by a
            # navigation. The page never shows such an answer; counted, not silently dropped.
            self.abandoned.append(request.url)

    def html_urls(self) -> list[str]:
        return [url for url, text in self.responses if "<" in text]

    def assert_the_key_appears_nowhere(self) -> None:
        assert self.responses and self.handler.lines, "nothing captured: the check proves nothing"
        # An answer the page moved on from is unread; the same view was read another time.
        read = {urlsplit(url).path for url, _ in self.responses}
        assert [url for url in self.abandoned if urlsplit(url).path not in read] == []
        assert [url for url, text in self.responses if API_KEY in text] == []
        assert [line for line in self.handler.lines if API_KEY in line] == []


@pytest.fixture
def leaks() -> Iterator[Leaks]:
    """Every logger at DEBUG, the worst case; the handler also sits on loggers that do not
    propagate, so no record escapes it."""
    handler = _Capture()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if logger is root or not logger.propagate:
            logger.addHandler(handler)
    try:
        yield Leaks(handler)
    finally:
        for logger, level in levels.items():
            logger.setLevel(level)
            if handler in logger.handlers:
                logger.removeHandler(handler)


def person(username: str, group: str) -> AbstractUser:
    if not Group.objects.filter(name=group).exists():
        groups_migration.create_groups(global_apps, None)
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    user.groups.add(Group.objects.get(name=group))
    return user


def audience(name: str = "Spring customers") -> ContactList:
    ContactField.objects.get_or_create(key="first_name", defaults={"label": "First name"})
    spring = ContactList.objects.create(name=name)
    for phone, first in (("380501111111", "Olena"), ("380502222222", "Taras")):
        contact = Contact.objects.create(phone=phone, fields={"first_name": first})
        ListMembership.objects.create(contact_list=spring, contact=contact)
    return spring


def draft(author: AbstractUser, spring: ContactList, name: str) -> Campaign:
    campaign = Campaign.objects.create(
        name=name,
        channel=Campaign.Channel.SMS,
        sms_mode=Campaign.SmsMode.INDIVIDUAL,
        text="Hi {first_name}, summer is here!",
        sender="Shop",
        created_by=author,
    )
    campaign.lists.set([spring])
    services.send_plan_request(campaign_id=campaign.pk, user=author)
    return campaign


def number(locator: Locator) -> int:
    """The count a figure starts with ("3 (100% of recipients)" is 3)."""
    found = re.match(r"\s*(\d+)", locator.inner_text())
    assert found, locator.inner_text()
    return int(found.group(1))


def stays_on_this_page(page: Page) -> Callable[[], None]:
    """A mark in the page's JavaScript world and a navigation listener: the returned check
    fails if the page was reloaded or left since."""
    navigations: list[str] = []
    page.evaluate("window.__e2eSamePage = true")
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    def check() -> None:
        assert page.evaluate("window.__e2eSamePage === true"), "the page was reloaded"
        assert navigations == []

    return check


# --- 1. import, compose, approve, watch it go out ---------------------------------------------


def test_an_author_composes_from_an_import_and_an_approver_sends_it_while_the_page_updates(
    stack, leaks, new_page, sign_in, live_server, tmp_path
):
    person("olha", "Campaign authors")
    person("petro", "Campaign approvers")
    ContactList.objects.create(name="Spring customers")
    upload = tmp_path / "spring.csv"
    upload.write_text(CSV, encoding="utf-8")

    # The author imports a CSV with a column that becomes a new custom field.
    author = leaks.watch(new_page())
    sign_in(author, "olha", "/contacts/imports/new/")
    author.get_by_label("CSV or XLSX file").set_input_files(str(upload))
    author.get_by_label("Contact list", exact=True).select_option(label="Spring customers")
    author.get_by_role("button", name="Upload and map columns").click()
    expect(author.get_by_label("Phone", exact=True)).to_have_value("phone")
    author.get_by_label("Full name").select_option("name")
    author.get_by_label("First name").select_option(label="New field: first_name")
    author.get_by_label("Discount").select_option(label="New field: discount")
    author.get_by_role("button", name="Dry run").click()
    dry_run = author.locator("#dry-run")
    expect(dry_run).to_be_visible(timeout=20_000)
    expect(dry_run.get_by_role("row", name="New")).to_contain_text("3")
    expect(dry_run.get_by_role("row", name="Invalid")).to_contain_text("too short")
    author.get_by_role("button", name="Import", exact=True).click()
    expect(author.locator("#import-percent")).to_have_text("100%", timeout=20_000)
    expect(author.locator("#import-report")).to_contain_text("Created")
    assert Contact.objects.get(phone="380502222222").fields == {
        "first_name": "Taras",
        "discount": "15%",
    }

    # ...composes a personalized SMS to that list, and asks for approval.
    author.goto(live_server.url + "/campaigns/new/sms/")
    author.get_by_label("Name", exact=True).fill("Spring sale")
    author.get_by_label("Spring customers").check()
    author.get_by_label("Sender").fill("Shop")
    author.locator("#id_text").fill("Hi {first_name}, {discount} off all spring!")
    expect(author.locator("#preview .bubble").first).to_have_text("Hi Olena, 20% off all spring!")
    expect(author.locator("#total-recipients")).to_have_text("3")
    author.get_by_role("button", name="Save and compute send plan").click()
    expect(author.locator("#plan-recipients")).to_have_text("3")
    author.get_by_role("button", name="Ask for approval to send now").click()
    campaign = Campaign.objects.get()
    expect(author).to_have_url(f"{live_server.url}/campaigns/{campaign.pk}/")
    expect(author.locator("#campaign-status")).to_have_text("Waiting for approval")
    # Four eyes: the author has no way to approve it.
    expect(author.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)

    # The approver, in a browser of their own, reads what they approve (never approved before:
    # the whole message, not a diff) and approves it.
    approver = leaks.watch(new_page())
    sign_in(approver, "petro", f"/campaigns/{campaign.pk}/")
    expect(approver.locator("#approval")).to_contain_text("Never approved before")
    expect(approver.locator("#content .bubble")).to_have_text(
        "Hi {first_name}, {discount} off all spring!"
    )
    approver.get_by_role("button", name="Approve and send").click()
    expect(approver.locator(".messages")).to_contain_text("Approved")

    # From here on the page is never reloaded: the live panel moves by itself. BSG takes a few
    # seconds over the campaign, so the page first shows it on its way and nothing delivered.
    same_page = stays_on_this_page(approver)
    status = approver.locator("#engine-panel .status")
    sent, delivered = approver.locator("#figure-sent"), approver.locator("#figure-delivered")
    assert status.inner_text() in ("Ready to send", "Sending")
    assert number(delivered) == 0
    stop_offered = approver.get_by_role("link", name="Stop…")
    expect(stop_offered).to_be_visible()
    expect(status).to_have_text(TERMINAL_STATUS, timeout=30_000)
    expect(sent).to_contain_text("3 (100% of recipients)")
    assert number(delivered) >= 1  # the sandbox delivers ~95 %: of three, at least one
    # The heading and the buttons follow: a finished campaign offers no Stop.
    expect(approver.locator("#campaign-status")).to_have_text(TERMINAL_STATUS)
    expect(stop_offered).to_have_count(0)
    same_page()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED
    assert campaign.approved_by.username == "petro"
    approver.reload()  # now the chart, drawn from the poll snapshots, has its points
    expect(approver.locator("#chart svg polyline.line-delivered")).to_have_count(1)

    # The recipients tab: each recipient's own text, as personalized from the imported fields.
    approver.get_by_role("link", name="Recipients", exact=True).click()
    for text in ("Hi Olena, 20% off all spring!", "Hi Iryna, 30% off all spring!"):
        expect(approver.get_by_role("cell", name=text)).to_be_visible()

    for path in (
        reverse("campaigns:home"),
        reverse("campaigns:list"),
        reverse("contacts:contact-index"),
    ):
        approver.goto(live_server.url + path)
        approver.wait_for_load_state("networkidle")
        # A template comment that spans lines ({# only takes one) would show up as text.
        for leftover in ("{#", "#}", "{%", "{{"):
            expect(approver.locator("main")).not_to_contain_text(leftover)
    phone = leaks.watch(new_page(viewport=PHONE, is_mobile=True))
    sign_in(phone, "petro", f"/campaigns/{campaign.pk}/")
    expect(phone.locator("#campaign-status")).to_have_text(TERMINAL_STATUS)

    # The capture saw the whole stack: worker, engine, BSG client, pages and htmx partials.
    assert {"celery.app.trace", "bsg.client"} <= leaks.handler.loggers
    assert any(name.startswith("campaigns.engine.") for name in leaks.handler.loggers)
    assert any("/parts/" in url for url in leaks.html_urls())
    leaks.assert_the_key_appears_nowhere()


# --- 2. schedule for later and stop; stop while sending ---------------------------------------


def test_a_scheduled_campaign_is_cancelled_and_a_sending_one_stopped_at_bsg(
    slow_stack, leaks, new_page, sign_in, live_server
):
    author = person("olha", "Campaign authors")
    approver_user = person("petro", "Campaign approvers")
    spring = audience()

    # The author schedules a campaign for tomorrow morning and asks for approval.
    summer = draft(author, spring, "Summer preview")
    page = leaks.watch(new_page())
    sign_in(page, "olha", f"/campaigns/{summer.pk}/edit/")
    page.get_by_label("At a time").check()
    tomorrow = timezone.localtime() + timedelta(days=1)
    page.get_by_label("Start time").fill(tomorrow.strftime("%Y-%m-%dT09:30"))
    page.get_by_role("button", name="Save and compute send plan").click()
    expect(page.locator("#plan-recipients")).to_have_text("2")
    page.get_by_role("button", name="Ask for approval to schedule").click()
    expect(page.locator("#campaign-status")).to_have_text("Waiting for approval")

    approver = leaks.watch(new_page())
    sign_in(approver, "petro", f"/campaigns/{summer.pk}/")
    approver.get_by_role("button", name=re.compile("^Approve and (schedule|send)")).click()
    expect(approver.locator("#campaign-status")).to_have_text("Scheduled")
    # Two ways out of a scheduled campaign, each for the person who may take it: its author
    # may take it back to draft, an approver may stop (cancel) it.
    page.reload()
    expect(page.get_by_role("button", name="Back to draft")).to_be_visible()
    expect(page.get_by_role("link", name="Stop…")).to_have_count(0)
    expect(approver.get_by_role("button", name="Back to draft")).to_have_count(0)
    stop(approver)
    expect(approver.locator(".messages")).to_contain_text("BSG was not called")
    expect(approver.locator("#campaign-status")).to_have_text("Cancelled")
    assert slow_stack.state.find_requests(path_prefix=SEND_PATH, method="POST") == []

    # A campaign already sending: Stop reaches BSG.
    autumn = draft(author, spring, "Autumn sale")
    approval.campaign_approval_request(campaign_id=autumn.pk, user=author, when=None)
    approval.campaign_approve(campaign_id=autumn.pk, user=approver_user)
    approver.goto(f"{live_server.url}/campaigns/{autumn.pk}/")
    expect(approver.locator("#parts")).to_contain_text("Being prepared", timeout=20_000)
    # Looked at afresh while sending: Stop is offered, and it is too late to go back to draft,
    # even for its author.
    approver.reload()
    expect(approver.locator("#campaign-status")).to_have_text("Sending")
    page.goto(f"{live_server.url}/campaigns/{autumn.pk}/")
    expect(page.locator("#campaign-status")).to_have_text("Sending")
    expect(page.get_by_role("button", name="Back to draft")).to_have_count(0)
    stop(approver)
    expect(approver.locator(".messages")).to_contain_text("1 batch stopped at BSG")
    expect(approver.locator("#campaign-status")).to_have_text("Stopped")
    autumn.refresh_from_db()
    assert autumn.status == Campaign.Status.STOPPED
    assert autumn.stopped_by == approver_user
    part = autumn.parts.get()
    assert part.bsg_status == "stopped"
    # BSG itself stopped it; the scheduled campaign never reached BSG at all.
    (at_bsg,) = slow_stack.state.campaigns
    assert (at_bsg["id"], at_bsg["status"]) == (part.bsg_campaign_id, "stopped")
    summer.refresh_from_db()
    assert summer.status == Campaign.Status.CANCELLED
    leaks.assert_the_key_appears_nowhere()


def stop(page: Page) -> None:
    """Stop asks first, saying what it will do, and is pressed a second time to confirm."""
    page.get_by_role("link", name="Stop…").click()
    expect(page.locator("#stop-confirm")).to_be_visible()
    page.get_by_role("button", name="Yes, stop it").click()


# --- 3. a viewer reads, and is refused everything else ----------------------------------------


def test_a_viewer_sees_no_send_stop_or_approve_and_is_refused_when_posting_directly(
    bsg, settings, leaks, new_page, sign_in, live_server
):
    author = person("olha", "Campaign authors")
    person("vira", "Viewers")
    spring = audience()
    waiting = draft(author, spring, "Waiting for someone")
    approval.campaign_approval_request(campaign_id=waiting.pk, user=author, when=None)
    scheduled = draft(author, spring, "Later")
    Campaign.objects.filter(pk=scheduled.pk).update(
        status=Campaign.Status.SCHEDULED, start_at=timezone.now() + timedelta(days=2)
    )

    viewer = leaks.watch(new_page())
    sign_in(viewer, "vira", "/campaigns/")
    actions = re.compile(
        r"^(Send now|Schedule|Stop.*|Yes, stop it|Approve.*|Ask for approval.*|Send back"
        r"|Back to draft|Withdraw.*)$"
    )
    for campaign in (waiting, scheduled):
        viewer.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
        expect(viewer.get_by_role("heading", name=campaign.name, exact=True)).to_be_visible()
        expect(viewer.get_by_role("button", name=actions)).to_have_count(0)
        expect(viewer.get_by_role("link", name=actions)).to_have_count(0)

    token = viewer.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    posts = {
        reverse("campaigns:stop", args=[scheduled.pk]): {},
        reverse("campaigns:unschedule", args=[scheduled.pk]): {},
        reverse("campaigns:approve", args=[waiting.pk]): {},
        reverse("campaigns:reject", args=[waiting.pk]): {"reason": "no"},
        reverse("campaigns:approval-request", args=[waiting.pk]): {},
        reverse("campaigns:new", args=["sms"]): {"name": "Mine", "action": "save"},
    }
    for path, form in posts.items():
        for headers in ({}, {"HX-Request": "true"}):
            answer = viewer.request.post(
                live_server.url + path,
                form={"csrfmiddlewaretoken": token, **form},
                headers={"X-CSRFToken": token, **headers},
                max_redirects=0,
            )
            leaks.responses.append((path, answer.text()))
            assert answer.status == 403, (path, headers, answer.status)
            assert "may not do this" in answer.text()
    waiting.refresh_from_db()
    scheduled.refresh_from_db()
    assert (waiting.status, scheduled.status) == (
        Campaign.Status.AWAITING_APPROVAL,
        Campaign.Status.SCHEDULED,
    )
    assert Campaign.objects.count() == 2

    # BSG failing, then refusing the key: the header says so, still without the key.
    bsg.set_faults(Faults(error_5xx=1.0))
    cache.clear()
    viewer.reload()
    expect(viewer.locator("#bsg-account")).to_contain_text("BSG cannot be reached right now.")
    bsg.set_faults(Faults())
    settings.BSG_API_KEY = API_KEY + "Revoked"
    cache.clear()
    viewer.reload()
    expect(viewer.locator("#bsg-account")).to_contain_text("BSG refused our API key.")
    leaks.assert_the_key_appears_nowhere()

    # Hiding is cosmetic (the server refuses, above), but a button that can only answer 403 is
    # a trap: nor is a viewer offered the composer, an edit or a duplicate.
    offered = re.compile(r"^(Edit|Duplicate.*)$")
    expect(viewer.get_by_role("button", name=offered)).to_have_count(0)
    expect(viewer.get_by_role("link", name=offered)).to_have_count(0)
    viewer.goto(f"{live_server.url}/campaigns/")
    expect(viewer.get_by_role("link", name="Later")).to_be_visible()
    expect(viewer.locator("a[href*='/campaigns/new/']")).to_have_count(0)


# --- 4. a phone screen --------------------------------------------------------------------------


def test_the_main_pages_fit_a_375px_phone_screen(bsg, leaks, new_page, sign_in, live_server):
    """Nothing makes a phone scroll sideways: wide tables scroll inside their own box."""
    author = person("olha", "Campaign authors")
    spring = audience()
    waiting = draft(author, spring, "Spring sale")
    approval.campaign_approval_request(campaign_id=waiting.pk, user=author, when=None)

    phone = leaks.watch(new_page(viewport=PHONE, is_mobile=True))
    sign_in(phone, "olha")
    too_wide = {}
    for path in (
        reverse("campaigns:home"),
        reverse("campaigns:list"),
        reverse("campaigns:detail", args=[waiting.pk]),
        reverse("campaigns:recipients", args=[waiting.pk]),
        reverse("campaigns:new", args=["sms"]),
        reverse("contacts:contact-index"),
        reverse("contacts:list-detail", args=[spring.pk]),
    ):
        phone.goto(live_server.url + path)
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = width
    assert too_wide == {}
    leaks.assert_the_key_appears_nowhere()
