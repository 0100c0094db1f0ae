"""Django's Redis cache, reusing one client object per connection pool.

django.core.cache.backends.redis builds a new `redis.Redis` for every cache call; with redis-py
8 that costs ~60 µs of CPU, and a dashboard request makes three or four calls (session,
permissions, a cached panel): about a tenth of the CPU a cached page costs
(BENCHMARKS.md "Web under load"). A `redis.Redis` is safe to share: it takes a connection
from its pool for each command, and the pool reconnects after a fork.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


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
