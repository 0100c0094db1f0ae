"""The database a benchmark runs in: its own, beside the one DATABASE_URL names.

A benchmark loads up to a million rows and may delete what it finds, so it never works in the
database it was pointed at (someone's demo or working data), and it needs nothing made first:
on a fresh machine `make bench` creates, migrates and drops what it uses. Call after
`django.setup()`. The benchmarks whose app runs in other processes (web_load's gunicorn,
worker_memory's and the soak's Celery worker) need theirs by URL, so they make it the same way
under the same naming (`<name>_web_…`, `<name>_wmem`, `<name>_soak`) in bench/web_load.py and
bench/_stack.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def own_database(suffix: str, *, keep: bool = False) -> Iterator[str]:
    """Creates and migrates `<DATABASE_URL's name>_<suffix>` and points Django's connection at
    it; drops it at the end unless `keep` (then a later run reuses it as it is). Yields its
    name."""
    from django.db import connection

    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_{suffix}"
    name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keep, serialize=False)
    try:
        yield name
    finally:
        if not keep:
            creation.destroy_test_db(old_name, verbosity=0)
