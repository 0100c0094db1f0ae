"""Contacts a marketer can find again: a messy file's names and cities land in Name and the
existing City field, the search box finds a contact by name, phone or any field value, each
list offers an import into itself, and an export (phones as +380…) imports back as it was."""

# Cyrillic letters here are meant: the files come in Ukrainian.
# ruff: noqa: RUF001, RUF003
import csv
import io
import re

import pytest
from django.urls import reverse

from contacts.importing import services
from contacts.models import Contact, ContactField, ContactImport, ContactList
from tests.contacts.test_import_views import post_upload

pytestmark = pytest.mark.django_db

# A BOM, semicolons, a Latin "i" typed inside "Мiсто", numbers written three ways.
MESSY_CSV = (
    "\ufeffТелефон;Ім’я;Мiсто;Order No.\n"
    "+380 50 123 45 67;Ольга;Київ;A-1\n"
    "050-765-43-21;Taras;Lviv;A-2\n"
    "(067) 111 22 33;Олена Шевченко;Одеса;A-3\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client(client, django_user_model):
    marketer = django_user_model.objects.create_user(
        "marketer", password="x" * 20, is_superuser=True
    )
    client.force_login(marketer)
    return client


def import_through_the_pages(client, content: str, **upload) -> ContactImport:
    """Upload, confirm the guessed mapping as the page shows it, dry run, start: the user's
    clicks through HTTP, the worker's steps (inspect, analyse, apply) called as it would."""
    response = post_upload(client, content=content, **upload)
    assert response.status_code == 302, response.content.decode()
    contact_import = ContactImport.objects.latest("pk")
    page = client.get(response["Location"]).content.decode()
    chosen = dict(re.findall(r'name="(column_\d+)".*?<option value="([^"]*)" selected', page, re.S))
    assert len(chosen) == len(contact_import.headers), page
    response = client.post(reverse("contacts:import-mapping", args=[contact_import.pk]), chosen)
    assert response.status_code == 302, response.content.decode()
    services.contact_import_analyse(import_id=contact_import.pk)
    response = client.post(reverse("contacts:import-start", args=[contact_import.pk]))
    assert response.status_code == 302
    services.contact_import_apply(import_id=contact_import.pk)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE, contact_import.error
    return contact_import


def found(client, **params) -> list[str]:
    page = client.get(reverse("contacts:contact-index"), params)
    assert page.status_code == 200
    return [contact.phone for contact in page.context["page"].items]


# --- import mapping ------------------------------------------------------------------------


def test_a_messy_file_fills_the_name_and_the_existing_city_field(client):
    ContactField.objects.create(key="city", label="City")
    customers = ContactList.objects.create(name="Customers")

    import_through_the_pages(client, MESSY_CSV, contact_list=customers.pk)

    olha = Contact.objects.get(phone="380501234567")
    assert olha.name == "Ольга"
    assert olha.fields == {"city": "Київ", "order_no": "A-1"}
    assert Contact.objects.get(phone="380671112233").name == "Олена Шевченко"
    assert Contact.objects.get(phone="380507654321").fields["city"] == "Lviv"
    # One new field for the one column nothing knew; no `misto` beside `city`.
    assert sorted(ContactField.objects.values_list("key", flat=True)) == ["city", "order_no"]
    assert customers.contacts.count() == 3


def test_the_mapping_page_offers_name_and_city_before_a_new_field(client):
    ContactField.objects.create(key="city", label="Місто")
    customers = ContactList.objects.create(name="Customers")
    content = "Phone,First name,Город\n380501234567,Ольга,Київ\n"
    response = post_upload(client, content=content, contact_list=customers.pk)
    page = client.get(response["Location"]).content.decode()
    assert re.search(r'name="column_1".*?<option value="name" selected', page, re.S)
    assert re.search(r'name="column_2".*?<option value="field:city" selected', page, re.S)


# --- search --------------------------------------------------------------------------------


@pytest.fixture
def people():
    ContactField.objects.create(key="city", label="City")
    return {
        "olha": Contact.objects.create(
            phone="380501234567", name="Ольга Коваль", fields={"city": "Київ", "order_no": "A-17"}
        ),
        "taras": Contact.objects.create(
            phone="380671112233",
            name="Taras",
            fields={"city": "Kyiv", "note": "VIP Ольга's friend"},
        ),
        "iryna": Contact.objects.create(
            phone="380939998877", name="Iryna", fields={"city": "Lviv"}
        ),
    }


@pytest.mark.sqlite
def test_the_search_box_finds_by_name_phone_or_any_field_value(client, people):
    olha, taras, iryna = people["olha"].phone, people["taras"].phone, people["iryna"].phone
    assert found(client, q="Ольга") == [taras, olha]  # her name, and his note
    assert found(client, q="Коваль") == [olha]
    assert found(client, q="Київ") == [olha]  # a field value
    assert found(client, q="kyiv") == [taras]  # any case
    assert found(client, q="A-17") == [olha]
    assert found(client, q="+380 93 999") == [iryna]  # a phone prefix, typed any way
    assert found(client, q="093 999") == [iryna]
    assert found(client, q="nowhere") == []
    # Keys are not values: "city" is in every contact's fields, but in no value.
    assert found(client, q="city") == []


def test_the_search_box_ignores_the_case_of_cyrillic_too(client, people):
    assert found(client, q="ольга коваль") == [people["olha"].phone]
    assert found(client, q="КИЇВ") == [people["olha"].phone]


@pytest.mark.sqlite
def test_the_search_box_narrows_the_other_filters_and_keeps_them_on_the_page(client, people):
    vip = ContactList.objects.create(name="VIP")
    people["taras"].lists.add(vip)
    assert found(client, q="Ольга", list_id=vip.pk) == [people["taras"].phone]
    assert found(client, q="Ольга", name="Taras") == [people["taras"].phone]
    page = client.get(reverse("contacts:contact-index"), {"q": "Ольга"}).content.decode()
    assert 'name="q" value="Ольга"' in page
    export = client.get(reverse("contacts:contact-index"), {"q": "Ольга"}).context["export_url"]
    assert "q=" in export


def test_a_search_for_a_name_in_a_freshly_imported_file_finds_it(client):
    customers = ContactList.objects.create(name="Customers")
    import_through_the_pages(client, MESSY_CSV, contact_list=customers.pk)
    assert found(client, name="ольга") == ["380501234567"]
    assert found(client, q="одеса") == ["380671112233"]


# --- import into a list --------------------------------------------------------------------


def test_a_list_page_offers_an_import_into_that_list(client):
    customers = ContactList.objects.create(name="Customers")
    ContactList.objects.create(name="Another")
    page = client.get(reverse("contacts:list-detail", args=[customers.pk])).content.decode()
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*id="import-into-list"', page)
    assert link, page
    url = link[1].replace("&amp;", "&")
    assert url == reverse("contacts:import-upload") + f"?list={customers.pk}"

    upload = client.get(url).content.decode()
    assert f'<option value="{customers.pk}" selected>Customers</option>' in upload
    assert re.search(r'value="contacts" [^>]*checked', upload)


def test_an_archived_list_offers_no_import_and_a_bad_link_chooses_nothing(client):
    old = ContactList.objects.create(name="Old")
    client.post(reverse("contacts:list-archive", args=[old.pk]))
    page = client.get(reverse("contacts:list-detail", args=[old.pk])).content.decode()
    assert 'id="import-into-list"' not in page
    for query in ("?list=nonsense", "?list=999999", "?target=evil"):
        response = client.get(reverse("contacts:import-upload") + query)
        assert response.status_code == 200
        assert not re.search(r'<option value="\d+" selected', response.content.decode())
    opt_outs = client.get(reverse("contacts:import-upload") + "?target=do_not_contact")
    assert re.search(r'value="do_not_contact" [^>]*checked', opt_outs.content.decode())


def test_the_contacts_and_opt_out_pages_link_to_their_imports(client):
    page = client.get(reverse("contacts:contact-index")).content.decode()
    assert reverse("contacts:import-upload") + "?target=contacts" in page
    page = client.get(reverse("contacts:dnc-index")).content.decode()
    assert reverse("contacts:import-upload") + "?target=do_not_contact" in page


# --- export --------------------------------------------------------------------------------


def _rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_exported_phones_start_with_plus_and_the_export_imports_back(client, people):
    Contact.objects.create(phone="380661234567", name='=HYPERLINK("x")', fields={"city": "@x"})
    before = {c.phone: (c.name, c.fields) for c in Contact.objects.all()}
    exported_text = b"".join(
        client.get(reverse("contacts:contact-export")).streaming_content
    ).decode("utf-8")
    rows = list(csv.reader(io.StringIO(exported_text.removeprefix("\ufeff"))))
    assert rows[0] == ["phone", "name", "city"]  # the header the import maps by itself
    assert sorted(row[0] for row in rows[1:]) == sorted("+" + phone for phone in before)
    assert ["+380661234567", '\'=HYPERLINK("x")', "'@x"] in rows  # still neutralised

    Contact.objects.all().delete()
    again = ContactList.objects.create(name="Again")
    import_through_the_pages(
        client, exported_text, name="contacts-export.csv", contact_list=again.pk
    )

    after = {c.phone: (c.name, c.fields) for c in Contact.objects.all()}
    assert after.keys() == before.keys()
    for phone, (name, fields) in before.items():
        city_only = {k: v for k, v in fields.items() if k == "city"}  # only `city` is a field
        if name.startswith("="):
            # The neutralising quote comes back with the text: nothing is lost or run.
            assert after[phone] == ("'" + name, {"city": "'" + city_only["city"]})
        else:
            assert after[phone] == (name, city_only)


def test_opt_out_and_list_exports_write_plus_phones_too(client, people):
    vip = ContactList.objects.create(name="VIP")
    people["iryna"].lists.add(vip)
    rows = _rows(client.get(reverse("contacts:list-export", args=[vip.pk])))
    assert rows[1][0] == "+380939998877"
    client.post(reverse("contacts:dnc-index"), {"phone": "+380 50 123 45 67", "reason": "asked"})
    rows = _rows(client.get(reverse("contacts:dnc-export")))
    assert rows[1][:2] == ["+380501234567", "asked"]
