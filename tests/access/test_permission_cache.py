"""config.access.CachedPermissionBackend: each user's permissions from the cache, dropped the
moment their groups or permissions, or a group's permissions, change."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.access.conftest import make_person

pytestmark = pytest.mark.django_db

LIST = reverse("campaigns:list")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_permission_queries_are_made_once_then_read_from_the_cache(groups):
    viewer = make_person("viewer", groups)
    client = signed_in(viewer)
    home = reverse("campaigns:home")
    with CaptureQueriesContext(connection) as first:
        client.get(home)
    with CaptureQueriesContext(connection) as again:
        client.get(home)
    asked = [q["sql"] for q in first.captured_queries if "auth_permission" in q["sql"]]
    assert len(asked) == 2  # the user's own permissions, and their groups'
    assert len(again.captured_queries) == len(first.captured_queries) - 2
    assert not any("auth_permission" in q["sql"] for q in again.captured_queries)


def test_leaving_a_group_takes_effect_on_the_next_request(groups):
    viewer = make_person("viewer", groups)
    client = signed_in(viewer)
    assert client.get(LIST).status_code == 200
    viewer.groups.remove(groups["Viewers"])
    assert client.get(LIST).status_code == 403


def test_clearing_a_groups_members_takes_effect_at_once(groups):
    viewer = make_person("viewer", groups)
    client = signed_in(viewer)
    assert client.get(LIST).status_code == 200
    groups["Viewers"].user_set.clear()
    assert client.get(LIST).status_code == 403


def test_a_group_losing_a_permission_takes_effect_at_once(groups):
    viewer = make_person("viewer", groups)
    client = signed_in(viewer)
    assert client.get(LIST).status_code == 200
    view = Permission.objects.get(codename="view_campaign")
    groups["Viewers"].permissions.remove(view)
    assert client.get(LIST).status_code == 403
    view.group_set.add(groups["Viewers"])
    assert client.get(LIST).status_code == 200


def test_a_permission_given_to_the_user_takes_effect_at_once(groups):
    viewer = make_person("viewer", groups)
    client = signed_in(viewer)
    assert client.get(reverse("campaigns:new", args=["sms"])).status_code == 403
    viewer.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    assert client.get(reverse("campaigns:new", args=["sms"])).status_code == 200


def test_deleting_a_group_takes_effect_at_once(groups):
    viewer = make_person("viewer", groups)
    client = signed_in(viewer)
    assert client.get(LIST).status_code == 200
    groups["Viewers"].delete()
    assert client.get(LIST).status_code == 403
