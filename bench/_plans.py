"""Query plans for BENCHMARKS.md: EXPLAIN (ANALYZE, BUFFERS) of the SQL a benchmark ran.

Not a benchmark itself: files starting with "_" are skipped by bench/run.py.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext


def plan_of(sql: str, *, as_cursor: bool = False) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement as Django sent it (its parameters bound), run
    again on the default connection: PostgreSQL's plan text, one line per node.

    `as_cursor`: the plan of the query read through a server-side cursor, as the app streams a
    large audience (config.streaming). PostgreSQL plans a cursor differently: no parallel
    workers, and a plan that returns its first rows soonest (cursor_tuple_fraction); a bare
    SELECT's plan would not be the one that runs."""
    statement = f"DECLARE bench_plan NO SCROLL CURSOR FOR {sql}" if as_cursor else sql
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}")
        return "\n".join(row[0] for row in cursor.fetchall())


def plans_of(call: Callable[[], object]) -> list[tuple[str, str]]:
    """(SQL, plan) of each SELECT that `call` makes on the default connection."""
    with CaptureQueriesContext(connection) as captured:
        call()
    return [
        (query["sql"], plan_of(query["sql"]))
        for query in captured.captured_queries
        if query["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
    ]


def plan_block(title: str, sql: str, plan: str) -> str:
    """A plan as bench scripts print it: a heading, the SQL and the plan, fenced."""
    return f"\n#### plan: {title}\n\n```\n{sql}\n\n{plan}\n```"
