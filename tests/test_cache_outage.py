"""While Redis is down the app's cache misses and drops writes instead of failing pages:
sessions (cached_db in production), permission sets and shared fragments all come again from
the database."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

UNREACHABLE = {
    "default": {
        "BACKEND": "config.cache.RedisCache",
        # Port 1 on loopback: refused at once, as a stopped Redis is.
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


@override_settings(CACHES=UNREACHABLE)
def test_reads_miss_and_writes_are_dropped(log_of):
    warnings = log_of("config.cache")
    cache.set("k", "v")
    cache.set_many({"a": 1})
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["k", "a"]) == {}
    assert cache.add("lock", "1") is False  # a lock is not taken while Redis is away
    assert cache.delete("k") is False
    cache.delete_many(["k"])
    assert cache.touch("k") is False
    assert "cache get skipped: Redis unavailable (ConnectionError)" in warnings


@pytest.mark.django_db
@override_settings(CACHES=UNREACHABLE, SESSION_ENGINE="django.contrib.sessions.backends.cached_db")
def test_a_signed_in_person_still_gets_pages_with_redis_down(client, django_user_model):
    user = django_user_model.objects.create_user("olha", password="a-long-test-password")
    client.force_login(user)
    assert client.get(reverse("campaigns:list")).status_code in (200, 403)
    assert client.get(reverse("campaigns:home")).status_code in (200, 403)
    assert "_auth_user_id" in client.session
