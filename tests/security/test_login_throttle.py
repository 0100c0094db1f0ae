"""django-axes: five wrong passwords for one user name from one address lock that pair out."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


def _attempt(client, password: str, username: str = "marketer", address: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_five_failures_lock_the_login_with_a_clear_message(client, user):
    for _ in range(4):
        response = _attempt(client, "wrong")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()

    locked = _attempt(client, "wrong")
    assert locked.status_code == 429
    html = " ".join(locked.content.decode().split())
    assert "Too many failed log-in attempts for “marketer”" in html
    assert "locked for 15 minutes" in html

    # Even the right password is refused now, and the session stays anonymous.
    refused = _attempt(client, PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_holds_only_that_user_from_that_address(client, user):
    for _ in range(5):
        _attempt(client, "wrong")
    assert _attempt(client, PASSWORD).status_code == 429
    # The owner at their own desk still gets in.
    response = _attempt(client, PASSWORD, address="10.0.0.2")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:home")


def test_a_success_before_the_limit_starts_the_count_again(client, user):
    for _ in range(4):
        _attempt(client, "wrong")
    assert _attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _attempt(client, "wrong").status_code == 200
    assert _attempt(client, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, user):
    for _ in range(5):
        _attempt(client, "wrong")
    assert _attempt(client, PASSWORD).status_code == 429
    # Fifteen minutes later (moved in the database, not waited for).
    earlier = AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=earlier)
    assert _attempt(client, PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_lock_holds_the_client_not_the_proxy(client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    def through_proxy(password: str, client_address: str):
        return client.post(
            reverse("login"),
            {"username": "marketer", "password": password},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=client_address,
        )

    for _ in range(5):
        through_proxy("wrong", "203.0.113.7")
    assert through_proxy(PASSWORD, "203.0.113.7").status_code == 429
    # Another client behind the same proxy is not locked out with the first.
    assert through_proxy(PASSWORD, "203.0.113.8").status_code == 302
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
