"""config.streaming.rows_streamed: a million rows read while the caller writes and commits.

Runs on PostgreSQL in the main run and again on SQLite in the newcomer's run (`sqlite`)."""

import time

import pytest
from django.db import DataError, connection, transaction
from django.db.models import IntegerField
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext

from config.streaming import rows_streamed
from contacts.models import Contact, ContactList

pytestmark = pytest.mark.sqlite


@pytest.fixture
def contacts(transactional_db) -> list[int]:
    made = Contact.objects.bulk_create(Contact(phone=f"38067{2000000 + i}") for i in range(7))
    return [contact.pk for contact in made]


def test_rows_come_in_key_order_while_the_caller_commits_writes(contacts):
    seen = []
    for contact_id, phone in rows_streamed(
        Contact.objects.values_list("id", "phone"), key="id", chunk_size=3
    ):
        seen.append(contact_id)
        # A write committed between two reads: SQLite refused it beside an open statement, and
        # PostgreSQL closes an ordinary cursor at commit.
        with transaction.atomic():
            ContactList.objects.create(name=f"written after {phone}")
    assert seen == sorted(contacts)
    assert ContactList.objects.count() == 7


def test_sqlite_reads_whole_keyset_chunks(contacts, monkeypatch):
    """The SQLite half, checked on either database: chunks read whole, each after the last."""
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with CaptureQueriesContext(connection) as reads:
        seen = [
            row[0]
            for row in rows_streamed(Contact.objects.values_list("id"), key="id", chunk_size=3)
        ]
    assert seen == sorted(contacts)
    selects = [q["sql"] for q in reads.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 3 and all("LIMIT 3" in sql for sql in selects)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's reader reads ahead in a thread"
)


def _readers(*, settled_at: int | None = None) -> int:
    """Connections to this database other than ours; with `settled_at`, once they are that
    many (a server process outlives its client's close by a moment), or after 5 s."""
    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            found = cursor.fetchone()[0]
        if settled_at is None or found == settled_at or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@postgresql_only
def test_a_caller_that_stops_early_leaves_no_reader_behind(contacts):
    before = _readers()
    streamed = rows_streamed(Contact.objects.values_list("id"), key="id", chunk_size=2)
    assert next(streamed) == (contacts[0],)
    assert _readers() == before + 1
    streamed.close()
    assert _readers(settled_at=before) == before


@postgresql_only
def test_an_error_on_the_server_reaches_the_caller_after_the_rows_before_it(contacts):
    Contact.objects.filter(pk=contacts[4]).update(name="not a number")
    Contact.objects.exclude(pk=contacts[4]).update(name="12")
    numbers = Contact.objects.annotate(number=Cast("name", IntegerField())).values_list(
        "id", "number"
    )
    before = _readers()
    seen = []
    with pytest.raises(DataError):
        for row in rows_streamed(numbers, key="id", chunk_size=2):
            seen.append(row[0])
    # The chunks read before the failing one arrived, and nothing after.
    assert seen == contacts[:4]
    assert _readers(settled_at=before) == before
