"""Lists' member counts are kept by the database (ListMemberCount, migration 0011), not counted
on each view: after every way memberships come and go the kept count equals a count of the
memberships, and the lists index and a list's page show it without counting.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import selectors, services
from contacts.models import (
    Contact,
    ContactImport,
    ContactList,
    DoNotContact,
    ListMemberCount,
    ListMembership,
)
from tests.contacts.test_import_engine import run_import, write

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def kept_counts() -> dict[str, int]:
    """Each list's kept count, by name, after checking it against a count of its memberships."""
    kept = {}
    for contact_list in ContactList.objects.order_by("name"):
        counted = ListMembership.objects.filter(contact_list=contact_list).count()
        assert selectors.contact_list_member_count(list_id=contact_list.pk) == counted
        kept[contact_list.name] = counted
    assert ListMemberCount.objects.count() == ContactList.objects.count()
    return kept


def _contacts(count: int, start: int = 0) -> list[Contact]:
    return Contact.objects.bulk_create(
        Contact(phone=f"38050{i:07d}", name=f"Person {i}") for i in range(start, start + count)
    )


def test_a_new_list_counts_none():
    services.contact_list_create(name="VIP")
    assert kept_counts() == {"VIP": 0}


def test_contacts_made_edited_added_and_deleted_one_by_one_keep_the_counts():
    vip = services.contact_list_create(name="VIP")
    news = services.contact_list_create(name="News")
    olena = services.contact_create(phone="380501112233", list_ids=[vip.pk, news.pk])
    taras = services.contact_create(phone="380501112234", list_ids=[vip.pk])
    assert kept_counts() == {"News": 1, "VIP": 2}
    services.contact_update(contact_id=olena.pk, phone="380501112235", list_ids=[news.pk])
    assert kept_counts() == {"News": 1, "VIP": 1}
    assert services.contacts_add_to_list(contact_ids=[olena.pk, taras.pk], list_id=vip.pk) == 1
    assert services.contacts_add_to_list(contact_ids=[olena.pk, taras.pk], list_id=vip.pk) == 0
    assert kept_counts() == {"News": 1, "VIP": 2}
    services.contact_delete(contact_id=taras.pk)
    assert kept_counts() == {"News": 1, "VIP": 1}


def test_deleting_contacts_in_bulk_or_a_list_keeps_the_others_counts(admin_client):
    vip = services.contact_list_create(name="VIP")
    news = services.contact_list_create(name="News")
    contacts = _contacts(30)
    services.contacts_add_to_list(contact_ids=[c.pk for c in contacts], list_id=vip.pk)
    services.contacts_add_to_list(contact_ids=[c.pk for c in contacts[:10]], list_id=news.pk)
    Contact.objects.filter(pk__in=[c.pk for c in contacts[:5]]).delete()  # e.g. the admin
    assert kept_counts() == {"News": 5, "VIP": 25}
    response = admin_client.post(reverse("contacts:list-delete", args=[news.pk]))
    assert response.status_code == 302
    assert kept_counts() == {"VIP": 25}
    assert not ListMemberCount.objects.filter(contact_list_id=news.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement triggers")
def test_raw_sql_and_truncate_keep_the_counts_too():
    vip = services.contact_list_create(name="VIP")
    gone = services.contact_list_create(name="Gone")
    contacts = _contacts(20)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_listmembership (contact_list_id, contact_id, added_at) "
            "SELECT l.id, c.id, now() FROM contacts_contact c, contacts_contactlist l",
        )
        assert kept_counts() == {"Gone": 20, "VIP": 20}
        cursor.execute("DELETE FROM contacts_contact WHERE id = %s", [contacts[0].pk])
        assert kept_counts() == {"Gone": 19, "VIP": 19}
        cursor.execute("DELETE FROM contacts_contactlist WHERE id = %s", [gone.pk])
        assert kept_counts() == {"VIP": 19}
        cursor.execute("TRUNCATE contacts_listmembership")
        assert kept_counts() == {"VIP": 0}
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the audit's deferred checks
        cursor.execute("TRUNCATE contacts_contactlist CASCADE")
    assert not ListMemberCount.objects.exists()
    assert services.contact_list_create(name="Again").pk != vip.pk
    assert kept_counts() == {"Again": 0}


def test_imports_into_a_list_or_a_new_one_keep_the_counts(tmp_path):
    customers = services.contact_list_create(name="Customers")
    known = services.contact_create(phone="380501112233", list_ids=[customers.pk])
    services.contact_create(phone="380501112234")
    rows = "phone,name\n380501112233,A\n380501112234,B\n380501112235,C\n380501112236,D\n"
    path = write(tmp_path, "people.csv", rows)
    done = run_import(path, list_id=customers.pk)
    assert (done.status, done.rows_added_to_list) == (ContactImport.Status.DONE, 3)
    assert kept_counts() == {"Customers": 4}
    again = run_import(path, list_id=None, new_list_name="Fresh")
    assert again.status == ContactImport.Status.DONE
    updated = run_import(path, list_id=customers.pk, on_existing=ContactImport.OnExisting.UPDATE)
    assert updated.status == ContactImport.Status.DONE
    assert kept_counts() == {"Customers": 4, "Fresh": 4}
    services.contact_delete(contact_id=known.pk)
    assert kept_counts() == {"Customers": 3, "Fresh": 3}


def test_the_recount_corrects_a_count_changed_around_the_triggers(capsys):
    vip = services.contact_list_create(name="VIP")
    news = services.contact_list_create(name="News")
    services.contacts_add_to_list(contact_ids=[c.pk for c in _contacts(3)], list_id=vip.pk)
    assert services.contact_list_members_recount() == {}
    ListMemberCount.objects.filter(contact_list=vip).update(members=42)
    ListMemberCount.objects.filter(contact_list=news).delete()
    call_command("contacts_recount_lists")
    assert f"list {vip.pk}: kept 42, counted 3: corrected" in capsys.readouterr().out
    assert kept_counts() == {"News": 0, "VIP": 3}
    ListMemberCount.objects.filter(contact_list=vip).update(members=0)
    assert services.contact_list_members_recount(list_id=vip.pk) == {vip.pk: (0, 3)}


def test_the_list_pages_show_the_kept_count_and_the_opt_outs_without_counting_members(
    admin_client, django_assert_num_queries
):
    vip = services.contact_list_create(name="VIP")
    services.contact_list_create(name="News")
    contacts = _contacts(12)
    services.contacts_add_to_list(contact_ids=[c.pk for c in contacts], list_id=vip.pk)
    services.do_not_contact_add(phone=contacts[0].phone)
    services.do_not_contact_add(phone=contacts[1].phone, source=DoNotContact.Source.BSG_STOP_LIST)
    services.do_not_contact_add(phone="380999999999")  # not a member: not counted
    # The count is the kept one: a wrong kept count shows (the recount's reason to exist).
    ListMemberCount.objects.filter(contact_list=vip).update(members=1000)
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(reverse("contacts:list-detail", args=[vip.pk]))
    html = page.content.decode()
    assert "<strong>1,000</strong> members; a send reaches <strong>998</strong>" in html
    assert "leaving out 2 on the do-not-contact list" in html
    assert "added by hand: 1" in html and "bsg stop list: 1" in html
    member_counts = [
        query["sql"]
        for query in captured.captured_queries
        if "COUNT(" in query["sql"]
        and "contacts_listmembership" in query["sql"]
        and "contacts_donotcontact" not in query["sql"]
    ]
    assert member_counts == []
    index = admin_client.get(reverse("contacts:list-index")).content.decode()
    assert "<td>1000</td>" in index and "<td>0</td>" in index
    services.contact_list_members_recount(list_id=vip.pk)
    services.do_not_contact_remove(entry_id=DoNotContact.objects.get(phone=contacts[0].phone).pk)
    html = admin_client.get(reverse("contacts:list-detail", args=[vip.pk])).content.decode()
    assert "<strong>12</strong> members; a send reaches <strong>11</strong>" in html
    assert "leaving out 1 on the do-not-contact list" in html
    with django_assert_num_queries(5):
        assert [(x.name, x.member_count) for x in selectors.contact_lists_overview()] == [
            ("News", 0),
            ("VIP", 12),
        ]
        selectors.contact_list_audience(list_id=vip.pk)
        assert selectors.contact_list_member_count(list_id=vip.pk) == 12
        assert selectors.contact_list_member_count(list_id=vip.pk + 100) == 0
