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
    _add(2_000, 2_000)  # twice as many pages as ANALYZE saw
    with django_assert_num_queries(1):  # the estimate alone: no count
        estimate = selectors.contacts_total_estimate()
    assert 3_600 <= estimate <= 4_400
