"""One person in no group, signed in: choosing one's own language and time zone (the switcher,
"Your settings") needs no permission."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation


@pytest.fixture(autouse=True)
def _default_language_after() -> Iterator[None]:
    """A request for someone who chose Ukrainian leaves it active in this thread (the
    middleware activates it, as LocaleMiddleware does, and the next request activates its own);
    the next test here starts in the default language whatever the last one served."""
    yield
    translation.deactivate()


@pytest.fixture
def person(db):
    return get_user_model().objects.create_user("ivan", password="a-long-test-password")


@pytest.fixture
def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client
