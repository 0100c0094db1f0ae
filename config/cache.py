"""Django's Redis cache, reusing one client object per connection pool.

django.core.cache.backends.redis builds a new `redis.Redis` for every cache call; with redis-py
8 that costs ~60 µs of CPU, and a dashboard request makes three or four calls (session,
permissions, a cached panel): about a tenth of the CPU a cached page costs
(BENCHMARKS.md "Web under load"). A `redis.Redis` is safe to share: it takes a connection
from its pool for each command, and the pool reconnects after a fork.
"""

import logging
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
# What the client raises while Redis is down or restarting.
OUTAGES = (RedisError, OSError)


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    # Everything this cache holds can be had again from the database or BSG (sessions are
    # cached_db, permission sets, shared page fragments, the BSG token): while Redis is down or
    # restarting, reads miss and writes are dropped, so pages keep working instead of 500ing.
    # `add` answers False, so a lock taken through it (the engine's poll) is simply not taken.

    def _outage(self, operation: str, error: Exception) -> None:
        logger.warning("cache %s skipped: Redis unavailable (%s)", operation, type(error).__name__)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except OUTAGES as error:
            self._outage("get", error)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict:
        try:
            return super().get_many(keys, version)
        except OUTAGES as error:
            self._outage("get_many", error)
            return {}

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except OUTAGES as error:
            self._outage("set", error)

    def set_many(
        self, data: dict, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list:
        try:
            return super().set_many(data, timeout, version)
        except OUTAGES as error:
            self._outage("set_many", error)
            return list(data)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except OUTAGES as error:
            self._outage("add", error)
            return False

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except OUTAGES as error:
            self._outage("has_key", error)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except OUTAGES as error:
            self._outage("delete", error)
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except OUTAGES as error:
            self._outage("delete_many", error)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except OUTAGES as error:
            self._outage("touch", error)
            return False
