"""config/paging.py: the one keyset pager behind the campaigns, recipients, contacts and
do-not-contact tables."""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict

from campaigns.models import Campaign, Recipient
from config.paging import (
    BAD_PAGE_LINK,
    BadCursor,
    CursorField,
    Keyset,
    Page,
    PagedForm,
    page_links,
)
from contacts.models import Contact

NEWEST_FIRST = Keyset(Campaign, "-created_at", "-id")
BY_ID = Keyset(Contact, "-id")


def walk(keyset: Keyset, queryset, *, size: int, **options) -> list[Page]:
    """Every page from the first, following "next"."""
    pages = [keyset.page(queryset, size=size, **options)]
    while pages[-1].next_after is not None:
        pages.append(keyset.page(queryset, size=size, after=pages[-1].next_after, **options))
    return pages


def ids(page: Page) -> list[int]:
    return [row.pk for row in page.items]


@pytest.fixture
def contacts(db) -> list[Contact]:
    made = Contact.objects.bulk_create(Contact(phone=f"38050{n:07d}") for n in range(23))
    return sorted(made, key=lambda c: c.pk, reverse=True)


def test_first_next_previous_and_last_pages(contacts):
    newest_first = [c.pk for c in contacts]
    everything = Contact.objects.all()
    first = BY_ID.page(everything, size=10)
    assert ids(first) == newest_first[:10] and first.prev_before is None
    second = BY_ID.page(everything, size=10, after=first.next_after)
    assert ids(second) == newest_first[10:20]
    last = BY_ID.page(everything, size=10, after=second.next_after)
    assert ids(last) == newest_first[20:] and last.next_after is None
    assert ids(BY_ID.page(everything, size=10, before=last.prev_before)) == newest_first[10:20]
    back = BY_ID.page(everything, size=10, before=second.prev_before)
    # Back at the first page: nothing before it.
    assert ids(back) == newest_first[:10] and back.prev_before is None
    assert back.next_after == first.next_after


def test_an_exact_multiple_of_the_page_size_has_no_empty_last_page(contacts):
    pages = walk(BY_ID, Contact.objects.all(), size=23)
    assert len(pages) == 1 and pages[0].next_after is None
    assert [len(p.items) for p in walk(BY_ID, Contact.objects.all(), size=1)] == [1] * 23


def test_an_empty_table_is_one_empty_page(db):
    page = BY_ID.page(Contact.objects.all(), size=10)
    assert page.items == [] and page.next_after is None and page.prev_before is None


@pytest.mark.parametrize(
    "cursor", ["", "x", "-1", "1.2", "12abc", " 5", "9" * 20, "99999999999999999999"]
)
def test_a_malformed_cursor_gives_the_first_page_never_an_error(contacts, cursor):
    first = BY_ID.page(Contact.objects.all(), size=10)
    assert ids(BY_ID.page(Contact.objects.all(), size=10, after=cursor)) == ids(first)
    assert ids(BY_ID.page(Contact.objects.all(), size=10, before=cursor)) == ids(first)
    with pytest.raises(BadCursor):
        BY_ID.parse(cursor)


def test_a_cursor_past_the_columns_range_or_the_calendar_is_malformed(db):
    with pytest.raises(BadCursor):
        BY_ID.parse(str(2**63))  # beyond a bigint id
    with pytest.raises(BadCursor):
        Keyset(Recipient, "seq").parse(str(2**31))  # beyond an integer column
    with pytest.raises(BadCursor):
        NEWEST_FIRST.parse("9" * 19 + ".1")  # microseconds past year 9999


def test_cursors_read_as_the_links_people_bookmarked(db):
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    made = Campaign.objects.create(name="x")
    Campaign.objects.filter(pk=made.pk).update(created_at=moment)
    made.refresh_from_db()
    assert NEWEST_FIRST.cursor_of(made) == f"1767225600000000.{made.pk}"
    assert NEWEST_FIRST.parse(f"1767225600000000.{made.pk}") == (moment, made.pk)
    assert BY_ID.parse("600") == (600,)


def test_ties_on_the_first_column_are_broken_by_the_second_both_ways(db):
    # Forty campaigns in four instants: each page boundary falls inside a tie.
    start = datetime(2026, 3, 1, tzinfo=UTC)
    made = Campaign.objects.bulk_create(Campaign(name=f"c{n}") for n in range(40))
    for n, campaign in enumerate(made):
        Campaign.objects.filter(pk=campaign.pk).update(
            created_at=start + timedelta(seconds=n // 10)
        )
    expected = list(Campaign.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    pages = walk(NEWEST_FIRST, Campaign.objects.all(), size=7)
    assert [pk for page in pages for pk in ids(page)] == expected
    # And back from the last page to the first, through every tie.
    backwards = [pages[-1]]
    while backwards[-1].prev_before is not None:
        backwards.append(
            NEWEST_FIRST.page(Campaign.objects.all(), size=7, before=backwards[-1].prev_before)
        )
    assert [ids(p) for p in reversed(backwards)] == [ids(p) for p in pages]


def test_an_ascending_keyset_pages_from_the_smallest(contacts):
    oldest_first = Keyset(Contact, "id")
    pages = walk(oldest_first, Contact.objects.all(), size=10)
    assert [pk for page in pages for pk in ids(page)] == sorted(c.pk for c in contacts)
    back = oldest_first.page(Contact.objects.all(), size=10, before=pages[-1].prev_before)
    assert ids(back) == ids(pages[1])


def test_a_selective_page_is_the_same_page_sorted_another_way(contacts):
    plain = walk(BY_ID, Contact.objects.all(), size=10)
    selective = walk(BY_ID, Contact.objects.all(), size=10, selective=True)
    assert [ids(p) for p in plain] == [ids(p) for p in selective]


def test_a_window_of_a_two_column_key_is_a_range_of_its_first_column(db):
    # Forty campaigns in eight instants: the window's last row is tied with four others.
    start = datetime(2026, 3, 1, tzinfo=UTC)
    made = Campaign.objects.bulk_create(Campaign(name=f"c{n}") for n in range(40))
    for n, campaign in enumerate(made):
        Campaign.objects.filter(pk=campaign.pk).update(created_at=start + timedelta(seconds=n // 5))
    everything = Campaign.objects.all()
    newest_first = list(everything.order_by("-created_at", "-id").values_list("pk", flat=True))
    window = NEWEST_FIRST.window(everything, rows=7)
    # The seventh row and every row tied with it on created_at: two instants of five.
    assert (
        list(everything.filter(window).order_by("-created_at", "-id").values_list("pk", flat=True))
        == newest_first[:10]
    )
    second = NEWEST_FIRST.page(everything, size=3)
    window = NEWEST_FIRST.window(everything, after=second.next_after, rows=7)
    past = NEWEST_FIRST.page(everything.filter(window), size=40, after=second.next_after)
    assert ids(past) == newest_first[3:10]
    oldest = everything.order_by("created_at", "id").first()
    window = NEWEST_FIRST.window(everything, before=NEWEST_FIRST.cursor_of(oldest), rows=7)
    nearest = NEWEST_FIRST.page(
        everything.filter(window), size=40, before=NEWEST_FIRST.cursor_of(oldest)
    )
    # The seven newer than the oldest, and the rest of the instant the seventh shares.
    assert ids(nearest) == newest_first[-10:-1]
    assert NEWEST_FIRST.window(everything, rows=41) is None


def test_a_selective_page_of_a_date_time_key_is_the_same_page_sorted_another_way(db):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    made = Campaign.objects.bulk_create(Campaign(name=f"c{n}") for n in range(23))
    for n, campaign in enumerate(made):
        Campaign.objects.filter(pk=campaign.pk).update(created_at=start + timedelta(seconds=n // 4))
    plain = walk(NEWEST_FIRST, Campaign.objects.all(), size=5)
    selective = walk(NEWEST_FIRST, Campaign.objects.all(), size=5, selective=True)
    assert [ids(p) for p in plain] == [ids(p) for p in selective]
    back = NEWEST_FIRST.page(
        Campaign.objects.all(), size=5, before=selective[-1].prev_before, selective=True
    )
    assert ids(back) == ids(plain[-2])


def test_a_keyset_goes_one_way():
    with pytest.raises(ValueError):
        Keyset(Campaign, "-created_at", "id")


def test_page_links_keep_the_filters_and_replace_the_cursor():
    page = Page(items=[1], next_after="40", prev_before="60")
    asked = QueryDict("status=delivered&after=50&list=1&list=2")
    links = page_links(asked, page)
    assert links == {
        "previous_query": "status=delivered&list=1&list=2&before=60",
        "next_query": "status=delivered&list=1&list=2&after=40",
    }
    assert page_links({}, Page(items=[], next_after=None, prev_before=None)) == {
        "previous_query": "",
        "next_query": "",
    }
    assert page_links({"q": "x"}, None) == {"previous_query": "", "next_query": ""}


class ContactPages(PagedForm):
    after = CursorField(BY_ID)
    before = CursorField(BY_ID)


@pytest.mark.parametrize(
    "asked, cursors, valid",
    [
        ({}, (None, None), True),
        ({"after": "40"}, ((40,), None), True),
        ({"before": "60"}, (None, (60,)), True),
        ({"after": "yesterday"}, (None, None), False),
        ({"after": "40", "before": "60"}, (None, None), False),
    ],
)
def test_the_page_link_fields_refuse_a_bad_link_with_a_reason(asked, cursors, valid):
    form = ContactPages(asked)
    assert form.is_valid() is valid
    assert form.cursors() == cursors
    if not valid:
        assert BAD_PAGE_LINK in str(form.errors)


def test_a_window_is_the_next_rows_past_the_cursor_either_way(contacts):
    newest_first = [c.pk for c in contacts]
    everything = Contact.objects.all()
    window = BY_ID.window(everything, rows=5)
    assert (
        list(everything.filter(window).order_by("-id").values_list("pk", flat=True))
        == (newest_first[:5])
    )
    window = BY_ID.window(everything, after=str(newest_first[9]), rows=5)
    assert set(everything.filter(window, pk__lt=newest_first[9]).values_list("pk", flat=True)) == (
        set(newest_first[10:15])
    )
    window = BY_ID.window(everything, before=str(newest_first[9]), rows=5)
    assert set(everything.filter(window, pk__gt=newest_first[9]).values_list("pk", flat=True)) == (
        set(newest_first[4:9])
    )
    # Fewer rows than the window remain past the cursor: no range, everything past it is in.
    assert BY_ID.window(everything, after=str(newest_first[19]), rows=5) is None
    assert BY_ID.window(everything, rows=23) is not None
    assert BY_ID.window(everything, rows=24) is None
