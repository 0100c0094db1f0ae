"""Seeding a benchmark's contacts with SQL, at any size up to tens of millions.

The rows are made by PostgreSQL (`INSERT … SELECT … FROM generate_series`), so this process
holds none of them: ten million contacts cost it no more memory than a hundred. They are
written the way a deployment ends up holding them, not the way an import first writes them:
`search_pending` false (in the GIN search indexes, as after the search catch-up), every index
of the real schema present, the tables vacuumed and analysed.

Maintaining the trigram indexes row by row was most of the cost of a million inserts
(contacts/migrations/0009 measured ~35 s of ~50 s), so the indexes that back no constraint are
dropped first and built again after the rows are in: a GIN index built in one pass is many times
faster than ten million insertions into it, and ends the same. The constraints' own indexes
(primary keys, the unique phone) stay, so the rows are checked as the application's would be.

Not a benchmark itself: files starting with "_" are skipped by bench/run.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# Rows a statement: each prints its progress, and none holds the table for minutes.
SEED_CHUNK = 1_000_000
# For the index builds; Debian's default (64 MB) makes a 10M-row GIN build spill to disk.
BUILD_MEMORY = "512MB"


def _say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def indexes_rebuilt_after(tables: Sequence[str]) -> Iterator[None]:
    """Drops the indexes of `tables` that back no constraint, runs the body, and builds them
    again from their own definitions (also when the body fails, so a kept database never lacks
    one); then vacuums and analyses the tables (only analyses inside a transaction, where
    VACUUM cannot run: a test's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY 1",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    try:
        yield
    finally:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                # A test's transaction: PostgreSQL builds no index on a table with foreign-key
                # checks still pending (Django defers them to the commit), so run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"SET maintenance_work_mem = '{BUILD_MEMORY}'")
            for _name, definition in indexes:
                cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")
            if connection.in_atomic_block:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys' own mode
        _say(f"  seed: {len(indexes)} indexes built in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in tables:
            # A deployment's autovacuum has set the visibility map (index-only scans rely on it)
            # and the hint bits; ANALYZE gives the planner the statistics it would have.
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            cursor.execute(f"{verb} {table}")
    _say(f"  seed: tables vacuumed and analysed in {time.perf_counter() - started:.1f} s")


def rows_insert(*, count: int, statement: str, params: dict[str, object], what: str) -> None:
    """Runs `statement` (an INSERT … SELECT … FROM generate_series(%(start)s, %(stop)s) AS i,
    its other parameters named in `params`) for i in [0, count), a chunk at a time, printing
    progress."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(0, count, SEED_CHUNK):
            stop = min(count, start + SEED_CHUNK) - 1
            cursor.execute(statement, {**params, "start": start, "stop": stop})
            if count > SEED_CHUNK:
                _say(
                    f"  seed: {stop + 1:,} of {count:,} {what} "
                    f"({time.perf_counter() - started:.1f} s)"
                )
