"""accounts:signed-in: the smallest signed-in page, which bench/web_load.py measures every page
against (its floor)."""

import pytest
from django.urls import reverse

from tests.access.conftest import make_groups, make_person

pytestmark = pytest.mark.django_db

SIGNED_IN = reverse("accounts:signed-in")


@pytest.mark.parametrize("role", ["viewer", "author", "approver", "superuser"])
def test_every_signed_in_person_sees_their_own_name_in_the_layout(client, role):
    person = make_person(role, make_groups(), name=f"{role}-olena")
    client.force_login(person)
    response = client.get(SIGNED_IN)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<p id="signed-in-as">You are signed in as {role}-olena.</p>' in page
    # The whole layout: the navigation with its inbox and the account menu.
    assert 'id="nav-inbox"' in page and 'class="logout"' in page


def test_a_signed_out_visitor_is_sent_to_the_login_page(client):
    response = client.get(SIGNED_IN)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_only_reads(client):
    client.force_login(make_person("viewer", make_groups()))
    assert client.post(SIGNED_IN).status_code == 405


def test_it_reads_a_fixed_number_of_queries(client, django_assert_num_queries):
    author = make_person("author", make_groups())
    client.force_login(author)
    client.get(SIGNED_IN)  # the permission set, now in the cache
    # session, user (with their language and time zone), the navigation's inbox count
    with django_assert_num_queries(3):
        client.get(SIGNED_IN)
