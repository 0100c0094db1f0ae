"""config.streaming.rows_streamed: a million rows read while the caller writes and commits.

Runs on PostgreSQL in the main run and again on SQLite in the newcomer's run (`sqlite`)."""

import pytest
from django.db import connection, transaction
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
