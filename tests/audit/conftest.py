import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("marketer", password="a-long-test-password")


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(
        "root", "root@example.com", "a-long-test-password"
    )


@pytest.fixture
def admin_client_in(client, superuser):
    client.force_login(superuser)
    return client
