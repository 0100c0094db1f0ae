"""The one seam that builds the BSG client from settings.

`bsg/` knows nothing of Django; this module gives it Django's cache as the token store so that
every web and worker process signs its calls with one shared bearer token.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from bsg.client import BsgClient

logger = logging.getLogger(__name__)
# What a cache backend raises while its server is down or restarting.
CACHE_OUTAGES = (RedisError, OSError)


class DjangoCacheTokenStore:
    """Keeps the BSG bearer token in Django's cache (Redis in production).

    The cache only saves sign-ins: while Redis is down the client signs in afresh for its calls,
    so Send and Stop still reach BSG instead of failing on the token's cache.
    """

    def get(self, key: str) -> str | None:
        try:
            return cache.get(key)
        except CACHE_OUTAGES as error:
            logger.warning(
                "BSG token cache unreadable (%s); signing in afresh", type(error).__name__
            )
            return None

    def set(self, key: str, value: str, timeout: float) -> None:
        try:
            cache.set(key, value, timeout=max(1, int(timeout)))
        except CACHE_OUTAGES as error:
            logger.warning("BSG token cache unwritable (%s)", type(error).__name__)

    def delete(self, key: str) -> None:
        try:
            cache.delete(key)
        except CACHE_OUTAGES as error:
            logger.warning("BSG token cache unwritable (%s)", type(error).__name__)


def bsg_client() -> BsgClient:
    """A client for the BSG account configured by `BSG_API_URL` and `BSG_API_KEY`."""
    return BsgClient(
        settings.BSG_API_URL,
        settings.BSG_API_KEY,
        token_store=DjangoCacheTokenStore(),
        time_zone=settings.BSG_TIME_ZONE,
        connect_timeout=settings.BSG_CONNECT_TIMEOUT,
        read_timeout=settings.BSG_READ_TIMEOUT,
    )
