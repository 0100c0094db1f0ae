"""Fixtures shared by the whole suite.

The BSG sandbox is BSG for every test: a real HTTP server on loopback, started once per session
and reset before each test that uses it. pytest-socket (pyproject.toml) fails any test that tries
to reach a host other than 127.0.0.1/::1.
"""

import os
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone, translation
from pytest_socket import SocketConnectBlockedError

from sandbox.server import SandboxConfig, SandboxServer

SANDBOX_API_KEY = "test_sandbox_key_for_the_suite"
REDIS_SETTINGS = ("REDIS_URL", "CELERY_BROKER_URL")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})


def pytest_configure(config: pytest.Config) -> None:
    """`make test` runs the suite in pytest-xdist workers (Makefile, TEST_WORKERS). Each has its
    own test database (pytest-django's `_gw0`, `_gw1`, … suffix) and takes a Redis database of its
    own, counted down from REDIS_URL's (15, 14, 13, 12): one worker's `cache.clear()`, queue purge
    or Celery worker never reaches the other's. Subprocesses the tests start (benchmarks, the
    soak) inherit the same, and a DATABASE_URL named after the worker, so the databases they
    make beside it (`<name>_soak`, `<name>_bench_…`) are never another worker's. Settings are
    already loaded here (pytest-django loads them first), so they are changed in place, before
    any cache or broker connection is made."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    from django.conf import settings
    from django.core.cache import caches

    from config.celery import app

    index = int(worker.removeprefix("gw"))
    for name in REDIS_SETTINGS:
        url = _redis_database_counted_down(getattr(settings, name), index)
        os.environ[name] = url
        setattr(settings, name, url)
    os.environ["DATABASE_URL"] = _database_url_for_worker(os.environ["DATABASE_URL"], worker)
    location = settings.CACHES["default"]["LOCATION"]
    settings.CACHES["default"]["LOCATION"] = _redis_database_counted_down(location, index)
    assert "settings" not in caches.__dict__, "a cache was opened before the worker chose its own"
    app.conf.broker_url = settings.CELERY_BROKER_URL


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The soak first: it is the longest test by far and mostly waits on its own processes, so
    one worker runs it while the others take the rest of the suite. Only its place changes;
    pytest-django has already put tests that share a rolled-back database before transactional
    ones (a flush between them empties the rows migrations made), and that order stands."""
    items.sort(key=lambda item: item.get_closest_marker("soak") is None)


def _database_url_for_worker(url: str, worker: str) -> str:
    base, _, rest = url.rpartition("/")
    name, question, query = rest.partition("?")
    return f"{base}/{name}_{worker}{question}{query}"


def _redis_database_counted_down(url: str, by: int) -> str:
    base, _, database = url.rpartition("/")
    return f"{base}/{int(database or 0) - by}"


@pytest.fixture(autouse=True, scope="session")
def _refuse_name_lookups_beyond_loopback() -> Iterator[None]:
    """pytest-socket guards connect(); this also stops the DNS query a hostname would cause."""
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only_getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_NAMES:
            raise SocketConnectBlockedError(sorted(LOOPBACK_NAMES), name)
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = loopback_only_getaddrinfo
    yield
    socket.getaddrinfo = real_getaddrinfo


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On SQLite, a test database in a file beside DATABASE_URL's (`test_<name>`) instead of
    Django's in-memory default: the options `make run` relies on (WAL, the lock timeout,
    config/settings.py) then act on the tests as they act on a newcomer's db.sqlite3."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    test = database.setdefault("TEST", {})
    if database["ENGINE"] == "django.db.backends.sqlite3" and not test.get("NAME"):
        path = Path(database["NAME"])
        test["NAME"] = str(path.with_name(f"test_{path.name}"))


@pytest.fixture(autouse=True, scope="session")
def _test_flush_passes_the_audit_logs_truncate_guard() -> Iterator[None]:
    """Transactional tests end with Django's flush: one TRUNCATE of every table, the audit log
    included, which its trigger refuses to anyone (audit/migrations/0002). The flush alone runs
    with `session_replication_role = replica`, PostgreSQL's switch for skipping ordinary
    triggers (pg_restore's), which only a superuser may set: the suite connects as one, the app
    in production must not (audit/models.py). SET LOCAL: it ends with the flush's transaction."""
    from django.db import transaction
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def flush_past_the_guard(self, sql_list):
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            flush(self, sql_list)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", flush_past_the_guard)
        yield


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    # A fast pace so that campaigns go from creation to done in well under a second.
    config = SandboxConfig(
        api_key=SANDBOX_API_KEY,
        speed=50.0,
        seed=7,
        time_zone="UTC",
        balance=Decimal("1000.00"),
        currency="EUR",
    )
    server = SandboxServer(config, host="127.0.0.1", port=0)
    server.start()
    yield server
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The sandbox, emptied of campaigns, requests and faults from earlier tests."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def bsg_settings(settings, sandbox: SandboxServer):
    """Django settings pointing the app's BSG client at the sandbox."""
    settings.BSG_API_URL = sandbox.url
    settings.BSG_API_KEY = SANDBOX_API_KEY
    cache.clear()
    return settings


@pytest.fixture
def team_test_phone(db):
    """+380 50 999 9999 on the team's list of test phones (Admin -> Test phones): test sends go
    only to those."""
    from campaigns.models import TestPhone

    return TestPhone.objects.create(phone="380509999999", label="Team phone")


@pytest.fixture(autouse=True)
def _clear_cache_between_tests():
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language_and_zone() -> Iterator[None]:
    """Each test starts and ends in settings.LANGUAGE_CODE and settings.TIME_ZONE. A page
    request leaves its language active in the test's thread: LocaleMiddleware activates the
    cookie's or the browser's language and never deactivates it, and
    accounts.middleware.AccountLanguageMiddleware activates a person's chosen one the same way
    (a streamed response is written after the middleware returns, in that language). In a
    server the next request activates its own; in the suite the test's own code after a
    Ukrainian person's request, and the next test run in this thread, would read Ukrainian."""
    translation.deactivate()
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _fresh_content_type_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests flush the database, and the content types come back under new ids,
    while ContentType's in-process cache (shared with live-server and worker threads) keeps the
    old ones: the audit log's foreign key to a stale id would fail in the next test. Cleared
    before and after each test.

    A transactional test also gets every model's content type and permission made, and the
    content types cached, before it starts:
    a content type still missing (a flush inside another test's rolled-back transaction removes
    them) would be created by the first thread that needs one, inside that thread's transaction,
    and cached for every thread at once; another thread's audit entry then names a row that may
    never commit (tests/engine/test_faults.py: a dispatch rolled back by an injected fault). In
    production `migrate` made them all long before any worker ran."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    if _uses_a_transactional_database(request):
        request.getfixturevalue("transactional_db")
        # What `migrate` leaves behind it (post_migrate): every content type and permission.
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        ContentType.objects.get_for_models(*apps.get_models())
    yield
    ContentType.objects.clear_cache()


def _uses_a_transactional_database(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture
def log_of() -> Iterator:
    """`log_of("config.cache")` → the messages that logger writes during the test, caught on
    the logger itself: a test elsewhere that reconfigures logging (dictConfig disables the
    loggers it does not name) cannot hide them the way it hides them from caplog."""
    import logging

    attached: list[tuple[logging.Logger, logging.Handler, bool, int]] = []

    def catch(name: str) -> list[str]:
        logger = logging.getLogger(name)
        messages: list[str] = []
        handler = logging.Handler(level=logging.DEBUG)
        handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
        attached.append((logger, handler, logger.disabled, logger.level))
        logger.disabled = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        return messages

    yield catch
    for logger, handler, disabled, level in attached:
        logger.removeHandler(handler)
        logger.disabled, logger.level = disabled, level
