"""The contacts page's "About N contacts": PostgreSQL's estimate, never a count of millions,
and never "About 0" for contacts that are there."""

import pytest
from django.db import connection

from contacts import selectors
from contacts.models import Contact

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's own estimate (pg_class)"
)


def _add(start: int, count: int) -> None:
    Contact.objects.bulk_create(
        Contact(phone=f"38050{number:07d}") for number in range(start, start + count)
    )


def test_a_fresh_database_counts_what_it_holds():
    # The migrations' indexes were built on an empty table: PostgreSQL's reltuples says 0
    # until the next ANALYZE, however many contacts came since.
    _add(0, 30)
    assert selectors.contacts_total_estimate() == 30


@postgres_only
def test_after_an_analyse_the_estimate_follows_the_table_as_it_grows_without_counting(
    django_assert_num_queries,
):
    _add(0, 2_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    _add(2_000, 2_000)
    with django_assert_num_queries(1):  # the estimate alone: no count
        estimate = selectors.contacts_total_estimate()
    # PostgreSQL's own estimate of the table, made the same way (rows per page at the last
    # ANALYZE times the pages now). Not 4,000 exactly: the test database's table also holds
    # the pages earlier tests' rolled-back rows left, which only a VACUUM reclaims.
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT id FROM contacts_contact")
        planned = int(cursor.fetchone()[0].split("rows=")[1].split()[0])
    assert estimate >= 2_000  # never less than ANALYZE saw, and no count was made
    assert abs(estimate - planned) <= 1
