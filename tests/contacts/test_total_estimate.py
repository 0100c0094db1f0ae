"""The contacts page's total: counted while the contacts are few (CONTACTS_COUNTED_BELOW), so a
table of exactly 200 says "200 contacts", not "About 200"; PostgreSQL's estimate above that,
never a count of millions, and never "About 0" for contacts that are there."""

import pytest
from django.db import connection
from django.urls import reverse

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


def _analyse() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")


def test_a_fresh_database_counts_what_it_holds():
    # The migrations' indexes were built on an empty table: PostgreSQL's reltuples says 0
    # until the next ANALYZE, however many contacts came since.
    _add(0, 30)
    assert selectors.contacts_total_estimate() == selectors.ContactsTotal(number=30, exact=True)


@postgres_only
def test_a_small_table_is_counted_exactly_even_after_an_analyse(admin_client):
    _add(0, 200)
    _analyse()
    _add(200, 1)
    assert selectors.contacts_total_estimate() == selectors.ContactsTotal(number=201, exact=True)
    html = admin_client.get(reverse("contacts:contact-index")).content.decode()
    said = html.split('id="contacts-total">', 1)[1].split("</p>", 1)[0]
    assert said == "201 contacts."
    Contact.objects.exclude(phone="380500000000").delete()
    html = admin_client.get(reverse("contacts:contact-index")).content.decode()
    assert html.split('id="contacts-total">', 1)[1].split("</p>", 1)[0] == "1 contact."


@postgres_only
def test_above_the_threshold_the_estimate_follows_the_table_as_it_grows_without_counting(
    django_assert_num_queries, monkeypatch, admin_client
):
    # 2,000 stand for the 100,000 above which a count would cost the page: the rule is the
    # same, and the test need not write 100,000 rows.
    monkeypatch.setattr(selectors, "CONTACTS_COUNTED_BELOW", 2_000)
    _add(0, 2_000)
    _analyse()
    _add(2_000, 2_000)
    with django_assert_num_queries(1):  # the estimate alone: no count
        total = selectors.contacts_total_estimate()
    # PostgreSQL's own estimate of the table, made the same way (rows per page at the last
    # ANALYZE times the pages now). Not 4,000 exactly: the test database's table also holds
    # the pages earlier tests' rolled-back rows left, which only a VACUUM reclaims.
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT id FROM contacts_contact")
        planned = int(cursor.fetchone()[0].split("rows=")[1].split()[0])
    assert not total.exact
    assert total.number >= 2_000  # never less than ANALYZE saw, and no count was made
    assert abs(total.number - planned) <= 1
    html = admin_client.get(reverse("contacts:contact-index")).content.decode()
    assert html.split('id="contacts-total">', 1)[1].split("</p>", 1)[0].startswith("About ")
