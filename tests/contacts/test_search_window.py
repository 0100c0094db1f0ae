"""A name or text search on the contacts page walks a window of the ids first (contacts_page):
a common word fills its page there; a rare one, or one matching nothing, is paged from the
trigram indexes. Either way the pages are the ones a plain walk of every row gives, and at ten
million contacts no plan reads every row (BENCHMARKS.md, "Ten million contacts").
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import selectors
from contacts.models import Contact, ContactList, ListMembership
from contacts.selectors import ContactFilters, contacts_page

pytestmark = pytest.mark.django_db

RARE_EVERY = 30  # one contact in 30 is "Rare"


@pytest.fixture
def contacts(monkeypatch) -> list[Contact]:
    """200 contacts, one in 30 named Rare, every one with a city; small pages and windows."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    monkeypatch.setattr(selectors, "SEARCH_WALK_ROWS", 20)
    made = Contact.objects.bulk_create(
        Contact(
            phone=f"38050{i:07d}",
            name="Rare Person" if i % RARE_EVERY == 7 else f"Common {i}",
            fields={"city": "Odesa" if i % 2 else "Kyiv"},
        )
        for i in range(200)
    )
    return sorted(made, key=lambda c: c.pk, reverse=True)


def every_page(filters: ContactFilters) -> list[list[int]]:
    """Each page's ids from the first, following "next", then back again following
    "previous": the pages going back must be the same pages."""
    pages = [contacts_page(filters=filters)]
    while pages[-1].next_after is not None:
        pages.append(contacts_page(filters=filters, after=pages[-1].next_after))
    back = [pages[-1]]
    while back[-1].prev_before is not None:
        back.append(contacts_page(filters=filters, before=back[-1].prev_before))
    forward = [[c.pk for c in page.items] for page in pages]
    assert [[c.pk for c in page.items] for page in reversed(back)] == forward
    return forward


def pages_of(ids: list[int], size: int = 5) -> list[list[int]]:
    return [ids[at : at + size] for at in range(0, len(ids), size)] or [[]]


@pytest.mark.parametrize(
    ("filters", "matches"),
    [
        (ContactFilters(text="rare"), lambda c: c.name == "Rare Person"),
        (ContactFilters(name="RARE"), lambda c: c.name == "Rare Person"),
        (ContactFilters(text="common 1"), lambda c: c.name.startswith("Common 1")),
        (ContactFilters(text="odesa"), lambda c: c.fields["city"] == "Odesa"),
        (ContactFilters(text="nowhere"), lambda c: False),
        (ContactFilters(name="rare", field_key="city", field_value="Kyiv"), lambda c: False),
        (
            ContactFilters(name="rare", field_key="city", field_value="Odesa"),
            lambda c: c.name == "Rare Person",
        ),
    ],
)
def test_the_pages_are_those_of_every_match_newest_first(contacts, filters, matches):
    assert every_page(filters) == pages_of([c.pk for c in contacts if matches(c)])


def test_searches_waiting_for_the_search_indexes_are_paged_the_same(contacts):
    Contact.objects.filter(pk__in=[c.pk for c in contacts[::3]]).update(search_pending=True)
    expected = [c.pk for c in contacts if c.name == "Rare Person"]
    assert every_page(ContactFilters(text="rare")) == pages_of(expected)


def test_a_search_in_a_list_is_paged_within_the_list(contacts):
    customers = ContactList.objects.create(name="Customers")
    members = contacts[::2]
    ListMembership.objects.bulk_create(
        ListMembership(contact_list=customers, contact=c) for c in members
    )
    filters = ContactFilters(text="rare", list_id=customers.pk)
    assert every_page(filters) == pages_of([c.pk for c in members if c.name == "Rare Person"])


def test_a_common_word_is_paged_from_the_window(contacts, django_assert_num_queries):
    # The window's edge, the page walked within it, the page's lists.
    with django_assert_num_queries(3):
        page = contacts_page(filters=ContactFilters(text="common"))
    assert len(page.items) == 5 and page.next_after is not None


def test_a_rare_word_or_none_is_paged_from_the_search_indexes(contacts, django_assert_num_queries):
    # The window's edge, the walk that finds too few, the page from the search's indexes, its
    # lists; no lists to fetch for an empty page.
    with django_assert_num_queries(4):
        contacts_page(filters=ContactFilters(text="rare"))
    with django_assert_num_queries(3):
        contacts_page(filters=ContactFilters(text="nowhere"))


def test_near_the_oldest_rows_the_walk_is_all_that_remains(contacts, django_assert_num_queries):
    after = str(contacts[-10].pk)  # ten rows remain, fewer than the window's twenty
    with django_assert_num_queries(2):  # the window's edge, the walk; nothing found
        page = contacts_page(filters=ContactFilters(text="nowhere"), after=after)
    assert page.items == []


def test_other_filters_page_as_before(contacts, django_assert_num_queries):
    for filters in (
        ContactFilters(),
        ContactFilters(phone="+380 50"),
        ContactFilters(field_key="city", field_value="Odesa"),
    ):
        with django_assert_num_queries(2):  # the page, its lists
            contacts_page(filters=filters)


def _plans(filters: ContactFilters) -> list[tuple[str, str]]:
    """(SQL, plan) of the page's queries that read contacts with a search condition, the
    sequential scan forbidden (the test table is tiny) to see which indexes can serve."""
    with CaptureQueriesContext(connection) as captured:
        contacts_page(filters=filters)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            if "UPPER(" not in query["sql"]:
                continue  # the window's edge and the lists
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append((query["sql"], "\n".join(row[0] for row in cursor.fetchall())))
    return plans


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_walk_can_only_walk_the_ids_and_the_rare_page_reads_the_trigram_indexes(contacts):
    (walk, walk_plan), (_indexed, indexed_plan) = _plans(ContactFilters(text="rare"))
    # No condition of the walk is one a search index serves, whatever PostgreSQL guesses.
    assert "LIKE" not in walk and "STRPOS" in walk
    assert "Index Scan Backward using contacts_contact_pkey" in walk_plan
    assert "Index Cond: (id >= " in walk_plan
    assert "trgm" not in walk_plan and "Bitmap" not in walk_plan
    # The page of rare matches: from the trigram indexes (and the few rows waiting for them),
    # sorted, never in the order of the primary key.
    for index in ("contact_name_upper_trgm", "contact_field_values_trgm", "contact_search_pending"):
        assert index in indexed_plan
    assert "Sort Key: ((id + 0)) DESC" in indexed_plan
    (_name_walk, name_walk_plan), _name_indexed = _plans(ContactFilters(name="rare"))
    assert "contact_name_upper_trgm" not in name_walk_plan
    assert "contacts_contact_pkey" in name_walk_plan
