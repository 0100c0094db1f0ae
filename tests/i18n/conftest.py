"""One person in no group, signed in: choosing one's own language and time zone (the switcher,
"Your settings") needs no permission."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture
def person(db):
    return get_user_model().objects.create_user("ivan", password="a-long-test-password")


@pytest.fixture
def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client
