"""The WSGI application gunicorn serves (`gunicorn config.wsgi:application`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _start_up_frozen() -> None:
    """Imports every view now, then puts everything the process holds so far out of the garbage
    collector's sight (gc.freeze).

    Why: a full collection walks every object the process holds, and a web process holds ~100,000
    once Django, the URLconf and the views are loaded. Under bench/web_load.py each full
    collection took 80-480 ms of a worker (a few a minute), a stall for every request queued
    behind it. What is loaded at start-up lives as long as the process, so the collector has
    nothing to find there; frozen, its full collections walk only what requests left behind
    (~30,000 objects, measured the same way). Importing the views first (they are otherwise
    imported by the first request) puts them among the frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the property imports the URLconf and every view
    gc.freeze()


_start_up_frozen()
