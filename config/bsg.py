"""The one seam that builds the BSG client from settings.

`bsg/` knows nothing of Django; this module gives it Django's cache as the token store so that
every web and worker process signs its calls with one shared bearer token.
"""

from django.conf import settings
from django.core.cache import cache

from bsg.client import BsgClient


class DjangoCacheTokenStore:
    """Keeps the BSG bearer token in Django's cache (Redis in production).

    The cache backend (config/cache.py) misses reads and drops writes while Redis is down, so
    the client then signs in afresh and Send and Stop still reach BSG.
    """

    def get(self, key: str) -> str | None:
        return cache.get(key)

    def set(self, key: str, value: str, timeout: float) -> None:
        cache.set(key, value, timeout=max(1, int(timeout)))

    def delete(self, key: str) -> None:
        cache.delete(key)


def bsg_client() -> BsgClient:
    """A client for the BSG account configured by `BSG_API_URL` and `BSG_API_KEY`.

    Always used as `with bsg_client() as client:` so its connection pool is closed when the
    block ends (tests/test_bsg_seam.py finds any other use)."""
    return BsgClient(
        settings.BSG_API_URL,
        settings.BSG_API_KEY,
        token_store=DjangoCacheTokenStore(),
        time_zone=settings.BSG_TIME_ZONE,
        connect_timeout=settings.BSG_CONNECT_TIMEOUT,
        read_timeout=settings.BSG_READ_TIMEOUT,
    )
