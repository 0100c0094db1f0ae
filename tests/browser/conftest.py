"""Playwright driving Debian's Chromium (`playwright install` cannot download browsers here),
and the moving parts a person's session needs behind the live server: a real Celery worker and
the engine's periodic tasks enqueued the way beat enqueues them.

Every page the `page` and `new_page` fixtures open is watched: an error written to the browser's
console (a CSP violation, a failed request, htmx reporting an aborted or failed request) or an
uncaught exception fails the test when it ends, listing each one. A test that provokes one on
purpose names it with `@pytest.mark.console_errors_expected(pattern, reason=...)`."""

import os
import re
import threading
from collections.abc import Callable, Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    WebError,
    expect,
    sync_playwright,
)

from config.celery import app

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium keeps trying to reach Google's hosts, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class ConsoleErrors:
    """What the browser contexts of one test wrote to the console as errors, and the exceptions
    their pages did not catch: a person never sees these, so only a test can notice them."""

    def __init__(self, expected: list[re.Pattern[str]]) -> None:
        self.expected = expected
        self.seen: list[str] = []

    def watch(self, context: BrowserContext) -> BrowserContext:
        # On the context, not the page: a page it opens (a link with target=_blank) counts too.
        context.on("console", self._console)
        context.on("weberror", self._page_error)
        return context

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url") or (message.page.url if message.page else "")
            self._record(f"console error at {where}: {message.text}")

    def _page_error(self, error: WebError) -> None:
        where = error.page.url if error.page else ""
        self._record(f"uncaught exception at {where}: {error.error.message}")

    def _record(self, line: str) -> None:
        if not any(pattern.search(line) for pattern in self.expected):
            self.seen.append(line)

    def check(self) -> None:
        if self.seen:
            pytest.fail(
                "the browser reported errors:\n" + "\n".join(f"  {line}" for line in self.seen),
                pytrace=False,
            )


@pytest.fixture
def console_errors(request) -> Iterator[ConsoleErrors]:
    """Fails the test at teardown if a watched page logged a console error or threw. Patterns in
    `@pytest.mark.console_errors_expected(pattern, ..., reason="why it is provoked")` are let
    through; the reason is required, so every exception says why it is one."""
    expected = []
    for marker in request.node.iter_markers("console_errors_expected"):
        if not marker.kwargs.get("reason"):
            pytest.fail("console_errors_expected needs a reason=", pytrace=False)
        expected += [re.compile(pattern) for pattern in marker.args]
    errors = ConsoleErrors(expected)
    yield errors
    errors.check()


@pytest.fixture
def page(browser: Browser, console_errors: ConsoleErrors) -> Iterator[Page]:
    context = console_errors.watch(browser.new_context(viewport=DESKTOP))
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def new_page(browser: Browser, console_errors: ConsoleErrors) -> Iterator[Callable[..., Page]]:
    """Pages in browser contexts of their own: two people, two cookie jars, side by side."""
    contexts: list[BrowserContext] = []

    def make(**context_options) -> Page:
        context = browser.new_context(**{"viewport": DESKTOP, **context_options})
        contexts.append(console_errors.watch(context))
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(live_server) -> Callable[..., None]:
    """Log a page in through the real login form, starting from `path`."""

    def go(page: Page, username: str, path: str = "/", password: str = PASSWORD) -> None:
        page.goto(live_server.url + path)
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_label("User name")).to_have_count(0)

    return go


def _close_worker_connections(**_kwargs) -> None:
    # The worker thread opens its own database connections; the test database can only be
    # flushed and dropped once they are closed.
    connections.close_all()


@pytest.fixture
def celery_worker(settings, tmp_path) -> Iterator[None]:
    """A real Celery worker (a thread of this process) on the test Redis broker, so pages poll
    while tasks run exactly as they do in production."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Tasks left in the broker by an interrupted earlier run name rows that no longer exist.
    app.control.purge()
    task_postrun.connect(_close_worker_connections)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            yield
    finally:
        task_postrun.disconnect(_close_worker_connections)


@pytest.fixture
def beat(celery_worker) -> Iterator[None]:
    """The engine's periodic tasks (sweep and poll) enqueued every half second, as beat does
    every ENGINE_SWEEP_INTERVAL / BSG_POLL_INTERVAL in production: through the broker, to the
    worker above, never called in this thread."""
    from campaigns import tasks

    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.5):
            tasks.engine_sweep.apply_async()
            tasks.engine_poll.apply_async()

    thread = threading.Thread(target=tick, name="test-beat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
