"""With Redis down, the BSG client still works: it signs in afresh instead of failing on the
token cache (found by the system soak: Send and Stop answered 500 during a Redis restart)."""

import pytest
from django.test import override_settings

from config.bsg import DjangoCacheTokenStore, bsg_client

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "config.cache.RedisCache",
        # Port 1 on loopback: refused at once, as a stopped Redis is.
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


@pytest.fixture
def redis_down():
    with override_settings(CACHES=UNREACHABLE_REDIS):
        yield


def test_the_token_store_reads_nothing_and_writes_nothing_while_redis_is_down(redis_down, log_of):
    warnings = log_of("config.cache")
    store = DjangoCacheTokenStore()
    assert store.get("bsg:token") is None
    store.set("bsg:token", "secret-token", 60)
    store.delete("bsg:token")
    assert any("Redis unavailable" in message for message in warnings)
    assert not any("secret-token" in message for message in warnings)


def test_the_client_signs_in_and_answers_while_redis_is_down(bsg_settings, redis_down):
    with bsg_client() as client:
        balance = client.balance()
    assert balance.currency == "EUR"
