"""One keyset pager for every paged table: campaigns, a campaign's recipients, contacts and the
do-not-contact list.

Page numbers need OFFSET (it reads every skipped row) and a COUNT(*) for the last page; at a
million rows both cost seconds. A keyset page starts just past the row a link names, so the
hundredth page costs what the first does. Each table pages in an order that is unique (its last
column is unique, or unique within the filter, like a recipient's seq within its campaign).

A cursor is the sort key of the row the link continues from, written as its values joined by
dots (a date-time as microseconds since 1970): "1767225600000000.42" for (created_at, id), "600"
for a seq or an id. Those are the links people have bookmarked; keep the format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from django import forms
from django.db import connection, models
from django.db.models import F, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext, gettext_lazy, gettext_noop

T = TypeVar("T")

# In English; forms show it in the reader's language (gettext).
BAD_PAGE_LINK = gettext_noop("That page link is not valid; start again from the first page.")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"\d{1,19}")


class BadCursor(ValueError):
    """A page link that was not made by this pager (edited by hand, or cut short)."""

    def __init__(self) -> None:
        super().__init__(BAD_PAGE_LINK)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Where the next page starts (after the last row) and the previous one ends (before the
    # first); None at either end.
    next_after: str | None
    prev_before: str | None


class Keyset:
    """The order a table pages in: `Keyset(Campaign, "-created_at", "-id")`.

    Every column goes the same way (all newest first, or all ascending), which makes "past the
    cursor" one tuple comparison. Integer and date-time columns only: those are what cursors
    can be written as.
    """

    def __init__(self, model: type[models.Model], *order: str) -> None:
        if not order or len({name.startswith("-") for name in order}) != 1:
            raise ValueError("A keyset orders by one or more columns, all in one direction.")
        self.model = model
        self.descending = order[0].startswith("-")
        self.names = tuple(name.lstrip("-") for name in order)
        self._fields = tuple(
            model._meta.pk if name == "pk" else model._meta.get_field(name) for name in self.names
        )

    def cursor_of(self, row: Any) -> str:
        return ".".join(_write(getattr(row, name)) for name in self.names)

    def parse(self, text: str) -> tuple:
        """The sort key a cursor names; BadCursor for anything this pager did not write."""
        parts = (text or "").split(".")
        if len(parts) != len(self._fields) or not all(_NUMBER.fullmatch(p) for p in parts):
            raise BadCursor
        pairs = zip(self._fields, parts, strict=True)
        return tuple(_read(field, int(part)) for field, part in pairs)

    def page(
        self,
        queryset: QuerySet,
        *,
        after: str | tuple | None = None,
        before: str | tuple | None = None,
        size: int,
        selective: bool = False,
    ) -> Page:
        """One page of `queryset`: the first, or the one after or before a cursor.

        A cursor may be given as the text of a link or as parsed by `parse`. A malformed one
        (the views refuse those first, with a reason) gives the first page, never an error.

        `selective`: the filter is likely to match few rows (a phone prefix, a name). Then
        PostgreSQL must not walk the key's index hoping to meet `size` matches soon (1.4 s at
        a million contacts for a rare name); ordering by `column + 0` makes it use the search's
        own index and sort what it found.
        """
        after, before = self._parsed(after), self._parsed(before)
        if before is not None:
            # The rows before the cursor, nearest first, then put back in page order.
            nearest_first = self._order(selective, backwards=True)
            query = queryset.filter(self._past(before, forward=False)).order_by(*nearest_first)
            found = list(query[: size + 1])
            items = list(reversed(found[:size]))
            has_previous = len(found) > size
            has_next = bool(items)
        else:
            if after is not None:
                queryset = queryset.filter(self._past(after, forward=True))
            found = list(queryset.order_by(*self._order(selective))[: size + 1])
            items = found[:size]
            has_next = len(found) > size
            has_previous = after is not None and bool(items)
        return Page(
            items=items,
            next_after=self.cursor_of(items[-1]) if has_next else None,
            prev_before=self.cursor_of(items[0]) if has_previous else None,
        )

    def window(
        self,
        queryset: QuerySet,
        *,
        after: str | tuple | None = None,
        before: str | tuple | None = None,
        rows: int,
    ) -> Q | None:
        """The next `rows` rows of `queryset` past the cursor, in the direction `page` reads
        them, as a range of the key's first column: a page read within it walks at most `rows`
        rows of the key's index (and those tied with the last of them on the first column),
        however rarely its filter matches. None when fewer rows remain (the range would be
        everything past the cursor).

        One query: a walk of `rows` entries of the key's index."""
        first = self.names[0]
        after, before = self._parsed(after), self._parsed(before)
        forward = before is None
        if after is not None:
            queryset = queryset.filter(self._past(after, forward=True))
        elif before is not None:
            queryset = queryset.filter(self._past(before, forward=False))
        descending = self.descending == forward
        ordered = queryset.order_by(
            *(F(name).desc() if descending else F(name).asc() for name in self.names)
        )
        edge = list(ordered.values_list(first, flat=True)[rows - 1 : rows])
        if not edge:
            return None
        return Q(**{f"{first}__{'gte' if descending else 'lte'}": edge[0]})

    def _parsed(self, cursor: str | tuple | None) -> tuple | None:
        if cursor is None or isinstance(cursor, tuple):
            return cursor
        try:
            return self.parse(cursor)
        except BadCursor:
            return None

    def _order(self, selective: bool, *, backwards: bool = False) -> list:
        # `+ 0` (an interval of 0 for a date-time): the same order, which no index gives.
        terms = [
            F(name) + _zero(field) if selective else F(name)
            for name, field in zip(self.names, self._fields, strict=True)
        ]
        descending = self.descending != backwards
        return [term.desc() if descending else term.asc() for term in terms]

    def _past(self, key: tuple, *, forward: bool) -> Q:
        """Rows strictly past `key` in page order (forward) or strictly before it."""
        lookup = "lt" if self.descending == forward else "gt"
        past = Q()
        for depth in range(len(self.names) - 1, -1, -1):
            equal = {name: value for name, value in zip(self.names[:depth], key, strict=False)}
            past |= Q(**equal, **{f"{self.names[depth]}__{lookup}": key[depth]})
        if len(self.names) > 1:
            # Redundant, but it lets PostgreSQL start the index scan at the cursor.
            past &= Q(**{f"{self.names[0]}__{lookup}e": key[0]})
        return past


def _zero(field: models.Field) -> Any:
    return timedelta(0) if isinstance(field, models.DateTimeField) else 0


def _write(value: Any) -> str:
    if isinstance(value, datetime):
        return str((value - _EPOCH) // timedelta(microseconds=1))
    return str(int(value))


def _read(field: models.Field, number: int) -> Any:
    if isinstance(field, models.DateTimeField):
        try:
            return _EPOCH + timedelta(microseconds=number)
        except OverflowError:
            raise BadCursor from None
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    if (low is not None and number < low) or (high is not None and number > high):
        raise BadCursor
    return number


class CursorField(forms.CharField):
    """A hidden page-link field: its cleaned value is the sort key, or None on the first page."""

    widget = forms.HiddenInput
    default_error_messages = {"invalid": gettext_lazy(BAD_PAGE_LINK)}

    def __init__(self, keyset: Keyset, **kwargs: Any) -> None:
        self.keyset = keyset
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> tuple | None:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return self.keyset.parse(text)
        except BadCursor:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class PagedForm(forms.Form):
    """A page's GET form with its two page links; subclasses add the filters.

    Subclasses set `after` and `before` as CursorFields of their keyset."""

    def clean(self) -> dict:
        data = super().clean()
        if data.get("after") is not None and data.get("before") is not None:
            self.add_error("before", forms.ValidationError(gettext(BAD_PAGE_LINK), code="invalid"))
        return data

    def cursors(self) -> tuple[tuple | None, tuple | None]:
        """The page asked for as (after, before); the first page when a link is bad (its error
        is on the form) or the form is unbound."""
        if not self.is_bound or self.errors.keys() & {"after", "before"}:
            return None, None
        return self.cleaned_data.get("after"), self.cleaned_data.get("before")

    def filters_are_valid(self) -> bool:
        """Every field but the page links is valid: a bad link does not drop the filters."""
        return self.is_bound and not (self.errors.keys() - {"after", "before"})


def page_links(
    query: Mapping[str, Any] | Sequence[tuple[str, Any]], page: Page | None
) -> dict[str, str]:
    """The query strings of a page's previous and next links: `query` (the filters as asked, a
    QueryDict, a dict or pairs) without its cursor, and `before` or `after` added; "" at an
    end, and at both when there is no page (a refused filter). For templates/_pager.html."""
    if isinstance(query, QueryDict):
        pairs = [(key, value) for key, values in query.lists() for value in values]
    elif isinstance(query, Mapping):
        pairs = list(query.items())
    else:
        pairs = list(query)
    kept = [(key, value) for key, value in pairs if key not in ("after", "before")]

    def link(direction: str, cursor: str | None) -> str:
        return "" if cursor is None else urlencode([*kept, (direction, cursor)])

    return {
        "previous_query": link("before", page.prev_before if page else None),
        "next_query": link("after", page.next_after if page else None),
    }
