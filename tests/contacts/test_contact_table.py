"""The contacts table and its search, as a person reads them: fields under the labels people gave
them (the key only as a hint), a search that finds nothing says what was searched, and neither
costs a query a row."""

# ruff: noqa: RUF001

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import account_settings_update
from contacts import services
from contacts.models import Contact, ContactField

pytestmark = pytest.mark.django_db

INDEX = reverse("contacts:contact-index")


@pytest.fixture
def fields() -> None:
    services.contact_field_create(key="city", label="City")
    services.contact_field_create(key="first_name", label="First name")


def _contacts(count: int) -> None:
    values = {"first_name": "Olena", "city": "Kyiv"}
    Contact.objects.bulk_create(
        Contact(phone=f"38050{i:07d}", name=f"Person {i}", fields=values) for i in range(count)
    )


def test_the_filter_and_the_table_name_fields_by_their_labels(admin_client, fields):
    _contacts(1)
    html = admin_client.get(INDEX).content.decode()
    assert '<option value="city">City</option>' in html
    assert '<option value="first_name">First name</option>' in html
    # In the fields' own order (by key), each under its label with its key as a hint.
    assert (
        '<span class="tag" title="city">City: Kyiv</span> '
        '<span class="tag" title="first_name">First name: Olena</span>'
    ) in html
    assert "city: Kyiv" not in html and "first_name: Olena" not in html


def test_two_fields_with_one_label_are_told_apart_by_their_keys(admin_client):
    services.contact_field_create(key="city", label="City")
    services.contact_field_create(key="city_old", label="City")
    html = admin_client.get(INDEX).content.decode()
    assert '<option value="city">City (city)</option>' in html
    assert '<option value="city_old">City (city_old)</option>' in html


def test_a_value_whose_field_was_deleted_keeps_its_key(admin_client, fields):
    _contacts(1)
    ContactField.objects.filter(key="city").delete()
    html = admin_client.get(INDEX).content.decode()
    assert '<span class="tag" title="city">city: Kyiv</span>' in html
    assert '<span class="tag" title="first_name">First name: Olena</span>' in html


def _queries(client, **query) -> int:
    client.get(INDEX, query)  # the permission cache and session, warmed alike
    with CaptureQueriesContext(connection) as captured:
        assert client.get(INDEX, query).status_code == 200
    return len(captured)


def test_the_labels_cost_no_query_whatever_the_rows(admin_client, fields):
    """The labels come from the fields the filter has already read: a page of fifty labelled
    rows costs what one row does, filtered or not."""
    _contacts(1)
    one = (_queries(admin_client), _queries(admin_client, name="Person"))
    Contact.objects.all().delete()
    _contacts(60)
    fifty = (_queries(admin_client), _queries(admin_client, name="Person"))
    assert one == fifty


def test_a_search_that_finds_nothing_says_what_was_searched_escaped(admin_client):
    _contacts(3)
    html = admin_client.get(INDEX, {"q": "<b>Zoryana</b>"}).content.decode()
    assert "No contacts match “&lt;b&gt;Zoryana&lt;/b&gt;”." in html
    assert "<b>Zoryana</b>" not in html
    # Narrowed by other filters too, it says so; filters alone read as before.
    vip = services.contact_list_create(name="VIP")
    html = admin_client.get(INDEX, {"q": "Zoryana", "list_id": vip.pk}).content.decode()
    assert "No contacts match “Zoryana” with these filters." in html
    html = admin_client.get(INDEX, {"list_id": vip.pk}).content.decode()
    assert "No contacts match these filters." in html


def test_the_live_search_answers_with_the_same_words(admin_client):
    html = admin_client.get(
        INDEX, {"q": '"Petro" & co'}, headers={"HX-Request": "true", "HX-Target": "contact-table"}
    ).content.decode()
    assert html.lstrip().startswith('<div id="contact-table">')
    assert "No contacts match “&quot;Petro&quot; &amp; co”." in html


def test_the_table_speaks_ukrainian(admin_client, admin_user, fields):
    account_settings_update(user=admin_user, language="uk")
    _contacts(1)
    html = admin_client.get(INDEX).content.decode()
    assert '<option value="city">City</option>' in html  # the label as the person wrote it
    assert 'data-label="Поля"' in html
    html = admin_client.get(INDEX, {"q": "<i>Зоряна</i>"}).content.decode()
    assert "За запитом «&lt;i&gt;Зоряна&lt;/i&gt;» контактів не знайдено." in html
    vip = services.contact_list_create(name="VIP")
    html = admin_client.get(INDEX, {"q": "Зоряна", "list_id": vip.pk}).content.decode()
    assert "За запитом «Зоряна» з цими фільтрами контактів не знайдено." in html


def test_on_a_phone_each_cell_names_its_column(admin_client, fields):
    """The narrow-screen cards (static/css/app.css, `.table.stack`) label each value with its
    column's name from data-label: the contacts and the imports."""
    _contacts(1)
    html = admin_client.get(INDEX).content.decode()
    assert '<table class="table stack" id="contacts">' in html
    for label in ("Phone", "Name", "Fields", "Lists"):
        assert f'data-label="{label}"' in html
    imports = admin_client.get(reverse("contacts:import-index")).content.decode()
    assert '<table class="table stack" id="imports">' in imports


def test_a_lists_members_are_the_same_table_with_the_same_labels(admin_client, fields):
    """The list's page includes the contacts table (contacts.html#contact-table): its members
    show, their fields under their labels, for the same queries whatever the members."""
    vip = services.contact_list_create(name="VIP")
    page = reverse("contacts:list-detail", args=[vip.pk])

    def members(count: int) -> int:
        Contact.objects.all().delete()
        _contacts(count)
        services.contacts_add_to_list(
            contact_ids=list(Contact.objects.values_list("pk", flat=True)), list_id=vip.pk
        )
        admin_client.get(page)
        with CaptureQueriesContext(connection) as captured:
            html = admin_client.get(page).content.decode()
        assert html.count('<span class="tag" title="city">City: Kyiv</span>') == min(count, 50)
        assert "No contacts." not in html
        return len(captured)

    assert members(1) == members(60)
