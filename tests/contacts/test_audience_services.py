"""Lists, fields, contacts and the do-not-contact list, through contacts.services."""

import pytest
from django.core.exceptions import ValidationError

from contacts import services
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

pytestmark = pytest.mark.django_db


def test_list_names_are_unique_whatever_their_case():
    services.contact_list_create(name="Kyiv customers")
    with pytest.raises(ValidationError) as caught:
        services.contact_list_create(name="  KYIV customers ")
    assert "already exists" in str(caught.value.message_dict["name"])


def test_renaming_archiving_and_unarchiving_a_list():
    contact_list = services.contact_list_create(name="Newsletter")
    services.contact_list_create(name="VIP")
    with pytest.raises(ValidationError):
        services.contact_list_update(list_id=contact_list.id, name="vip")
    services.contact_list_update(list_id=contact_list.id, name="Weekly news", description="x")
    services.contact_list_archive(list_id=contact_list.id)
    contact_list.refresh_from_db()
    assert contact_list.name == "Weekly news" and contact_list.is_archived
    services.contact_list_unarchive(list_id=contact_list.id)
    contact_list.refresh_from_db()
    assert not contact_list.is_archived


def test_deleting_a_list_removes_its_memberships_but_keeps_the_contacts():
    doomed = services.contact_list_create(name="Doomed")
    kept = services.contact_list_create(name="Kept")
    services.contact_create(phone="380501111111", list_ids=[doomed.id, kept.id])
    services.contact_create(phone="380502222222", list_ids=[doomed.id])

    assert services.contact_list_delete(list_id=doomed.id) == 2

    assert Contact.objects.count() == 2
    assert ListMembership.objects.count() == 1
    assert not ContactList.objects.filter(pk=doomed.id).exists()


def test_two_lists_cannot_claim_one_bsg_group():
    first = services.contact_list_create(name="First")
    second = services.contact_list_create(name="Second")
    services.contact_list_link_group(list_id=first.id, group_id=77)
    with pytest.raises(ValidationError) as caught:
        services.contact_list_link_group(list_id=second.id, group_id=77)
    assert "already linked to “First”" in caught.value.message_dict["group_id"][0]
    services.contact_list_unlink_group(list_id=first.id)
    services.contact_list_link_group(list_id=second.id, group_id=77)
    assert ContactList.objects.get(pk=second.id).bsg_group_id == 77


def test_linking_another_group_forgets_what_was_attached_to_the_old_one():
    contact_list = services.contact_list_create(name="Moving")
    contact = services.contact_create(phone="380501111111", list_ids=[contact_list.id])
    services.contact_list_link_group(list_id=contact_list.id, group_id=1)
    ListMembership.objects.update(pushed_to_bsg_at="2026-01-01T00:00:00Z")
    services.contact_list_link_group(list_id=contact_list.id, group_id=1)  # same: kept
    assert ListMembership.objects.get(contact=contact).pushed_to_bsg_at is not None
    services.contact_list_link_group(list_id=contact_list.id, group_id=2)
    assert ListMembership.objects.get(contact=contact).pushed_to_bsg_at is None


def test_a_contact_keeps_string_field_values_and_exactly_the_lists_asked_for():
    a = services.contact_list_create(name="A list")
    b = services.contact_list_create(name="B list")
    c = services.contact_list_create(name="C list")
    contact = services.contact_create(
        phone="380501111111",
        name=" Olena ",
        fields={"first_name": "Olena", "order_no": 42, "city": "  "},
        list_ids=[a.id, b.id],
    )
    assert contact.name == "Olena"
    assert contact.fields == {"first_name": "Olena", "order_no": "42"}

    services.contact_update(
        contact_id=contact.id, phone="380501111111", name="Olena", list_ids=[b.id, c.id]
    )

    assert set(contact.lists.values_list("name", flat=True)) == {"B list", "C list"}


def test_a_phone_is_one_contact():
    services.contact_create(phone="380501111111")
    other = services.contact_create(phone="380502222222")
    with pytest.raises(ValidationError) as caught:
        services.contact_create(phone="380501111111")
    assert "+380501111111 is already a contact" in caught.value.message_dict["phone"][0]
    with pytest.raises(ValidationError):
        services.contact_update(contact_id=other.id, phone="380501111111")
    assert Contact.objects.get(pk=other.id).phone == "380502222222"


def test_changing_a_phone_forgets_the_bsg_contact_of_the_old_number():
    contact_list = services.contact_list_create(name="Pushed")
    contact = services.contact_create(phone="380501111111", list_ids=[contact_list.id])
    Contact.objects.filter(pk=contact.id).update(bsg_contact_id=5)
    ListMembership.objects.update(pushed_to_bsg_at="2026-01-01T00:00:00Z")

    services.contact_update(contact_id=contact.id, phone="380502222222", list_ids=[contact_list.id])

    contact.refresh_from_db()
    assert contact.bsg_contact_id is None
    assert ListMembership.objects.get().pushed_to_bsg_at is None


def test_adding_contacts_to_a_list_skips_those_already_in_it():
    contact_list = services.contact_list_create(name="Growing")
    one = services.contact_create(phone="380501111111", list_ids=[contact_list.id])
    two = services.contact_create(phone="380502222222")
    added = services.contacts_add_to_list(
        contact_ids=[one.id, two.id, two.id], list_id=contact_list.id
    )
    assert added == 1
    assert ListMembership.objects.filter(contact_list=contact_list).count() == 2


def test_fields_have_unique_keys_and_bsg_ids():
    services.contact_field_create(key="first_name", label="First name", bsg_field_id=17)
    with pytest.raises(ValidationError) as caught:
        services.contact_field_create(key="first_name", label="Again")
    assert "key" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.contact_field_create(key="city", label="City", bsg_field_id=17)
    assert "already linked to “first_name”" in caught.value.message_dict["bsg_field_id"][0]
    with pytest.raises(ValidationError) as caught:
        services.contact_field_create(key="First Name", label="Bad key")
    assert "lowercase" in str(caught.value.message_dict["key"])


def test_deleting_a_field_removes_its_values_from_every_contact():
    city = services.contact_field_create(key="city", label="City")
    services.contact_field_create(key="first_name", label="First name")
    contact = services.contact_create(
        phone="380501111111", fields={"city": "Kyiv", "first_name": "Olena"}
    )
    services.contact_field_delete(field_id=city.id)
    contact.refresh_from_db()
    assert contact.fields == {"first_name": "Olena"}
    assert not ContactField.objects.filter(key="city").exists()


def test_editing_a_field_changes_its_label_and_bsg_link_but_not_its_key():
    field = services.contact_field_create(key="city", label="City")
    services.contact_field_update(field_id=field.id, label="Town", bsg_field_id=9)
    field.refresh_from_db()
    assert (field.key, field.label, field.bsg_field_id) == ("city", "Town", 9)


def test_an_opt_out_is_recorded_once_with_its_first_reason():
    entry, created = services.do_not_contact_add(phone="380501111111", reason="asked by phone")
    again, created_again = services.do_not_contact_add(phone="380501111111", reason="other")
    assert created and not created_again
    assert again.pk == entry.pk and again.reason == "asked by phone"
    assert entry.source == DoNotContact.Source.MANUAL
    services.do_not_contact_remove(entry_id=entry.id)
    assert not DoNotContact.objects.exists()
