"""The search indexes' catch-up after a big import.

An import writes its contacts with `search_pending` set, so they skip the GIN search indexes
(migration 0009 explains the cost that saves). This moves them into the indexes afterwards, a
batch per transaction: each batch is an UPDATE of the flag, and PostgreSQL adds the rows to
the partial indexes as it writes their new versions. The search finds the waiting contacts all
along, through their own small index (contacts.selectors: `_text_match`, `name_contains`), only
more slowly.
"""

from __future__ import annotations

import time

from django.db import transaction

from .models import Contact

# Rows a transaction: ~1 s of index work on the test machine, short enough that an import or
# a delete waiting behind one (both lock the table) hardly notices.
CATCH_UP_BATCH = 20_000


CATCH_UP_LOCK_KEY = "contacts:search-catch-up"


def search_index_catch_up(*, batch: int = CATCH_UP_BATCH, seconds: float | None = None) -> int:
    """Adds the contacts imports left waiting to the search indexes; returns how many.

    Stops when none wait, or after the batch that passes `seconds`. One run at a time, however
    many imports and beats ask (a cache lock that expires by itself): the work is the same,
    and each extra run would only hold another worker.
    """
    from django.core.cache import cache

    lock_seconds = 2 * (seconds or 300) + 60
    if not cache.add(CATCH_UP_LOCK_KEY, "1", timeout=lock_seconds):
        return 0
    try:
        return _catch_up(batch, None if seconds is None else time.monotonic() + seconds)
    finally:
        cache.delete(CATCH_UP_LOCK_KEY)


def _catch_up(batch: int, deadline: float | None) -> int:
    done = 0
    while True:
        with transaction.atomic():
            waiting = (
                Contact.objects.filter(search_pending=True)
                .order_by("id")
                .select_for_update(skip_locked=True)
                .values("id")[:batch]
            )
            moved = Contact.objects.filter(pk__in=waiting).update(search_pending=False)
        done += moved
        if moved < batch or (deadline is not None and time.monotonic() >= deadline):
            return done


def search_index_waiting() -> bool:
    """Whether imported contacts still wait for the search indexes."""
    return Contact.objects.filter(search_pending=True).exists()
