"""The audience seam the composer sends through: lists in, opted-out numbers out."""

import pytest

from contacts import selectors
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

pytestmark = pytest.mark.django_db


def _list(name: str, *phones: str) -> ContactList:
    contact_list = ContactList.objects.create(name=name)
    for phone in phones:
        contact, _ = Contact.objects.get_or_create(phone=phone)
        ListMembership.objects.create(contact_list=contact_list, contact=contact)
    return contact_list


def test_a_contact_in_two_lists_is_one_recipient_and_opt_outs_are_left_out():
    kyiv = _list("Kyiv", "380501111111", "380502222222", "380503333333")
    vip = _list("VIP", "380503333333", "380504444444")
    _list("Other", "380505555555")
    DoNotContact.objects.create(phone="380502222222", source=DoNotContact.Source.MANUAL)
    DoNotContact.objects.create(phone="380504444444", source=DoNotContact.Source.BSG_STOP_LIST)
    DoNotContact.objects.create(phone="380505555555", source=DoNotContact.Source.MANUAL)

    phones = selectors.audience_contacts(list_ids=[kyiv.id, vip.id]).values_list("phone", flat=True)

    assert sorted(phones) == ["380501111111", "380503333333"]


@pytest.mark.parametrize("opted_out_by", [None, "now"])
def test_a_slice_of_the_audience_is_its_key_range_and_looks_each_number_up(opted_out_by):
    from django.db import connection
    from django.utils import timezone

    kyiv = _list("Kyiv", "380501111111", "380502222222", "380503333333", "380504444444")
    DoNotContact.objects.create(phone="380502222222", source=DoNotContact.Source.MANUAL)
    by = timezone.now() if opted_out_by else None
    DoNotContact.objects.create(phone="380503333333", source=DoNotContact.Source.MANUAL)
    ids = sorted(
        ListMembership.objects.filter(contact_list=kyiv).values_list("contact_id", flat=True)
    )

    def read(**keys):
        found = selectors.audience_contacts(list_ids=[kyiv.id], opted_out_by=by, **keys)
        return found.order_by("id")

    everyone = ["380501111111"] + (["380503333333"] if by else []) + ["380504444444"]
    assert list(read().values_list("phone", flat=True)) == everyone
    # The middle two contacts: 2222 opted out, 3333 only after the approver's moment.
    middle = {"first_key": ids[1], "end_key": ids[3]}
    assert list(read(**middle).values_list("phone", flat=True)) == (["380503333333"] if by else [])
    assert list(read(first_key=ids[1]).values_list("phone", flat=True)) == everyone[1:]
    assert list(read(end_key=ids[1]).values_list("phone", flat=True)) == ["380501111111"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql, params = read(**middle).query.sql_with_params()
            # Whatever the planner would prefer: a hash of the whole do-not-contact list made
            # each dispatch slice of ten million contacts six times dearer.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "SubPlan" in plan and "contacts_donotcontact" in plan
        assert "Anti Join" not in plan
        # The memberships are read within the slice's range of their index too.
        assert f"(contact_id >= {ids[1]}) AND (contact_id < {ids[3]})" in plan


def test_no_lists_means_no_audience():
    _list("Kyiv", "380501111111")
    assert list(selectors.audience_contacts(list_ids=[])) == []
    assert selectors.audience_summary(list_ids=[]).recipients == 0


def test_the_summary_counts_members_once_and_exclusions_by_source():
    kyiv = _list("Kyiv", "380501111111", "380502222222", "380503333333", "380506666666")
    vip = _list("VIP", "380503333333", "380504444444")
    DoNotContact.objects.create(phone="380502222222", source=DoNotContact.Source.MANUAL)
    DoNotContact.objects.create(phone="380506666666", source=DoNotContact.Source.MANUAL)
    DoNotContact.objects.create(phone="380504444444", source=DoNotContact.Source.BSG_STOP_LIST)
    DoNotContact.objects.create(phone="380509999999", source=DoNotContact.Source.IMPORT)

    summary = selectors.audience_summary(list_ids=[kyiv.id, vip.id])

    assert summary.members == 5
    assert summary.excluded_by_source == {"manual": 2, "bsg_stop_list": 1}
    assert summary.excluded == 3
    assert summary.recipients == 2
    assert summary.recipients == selectors.audience_contacts(list_ids=[kyiv.id, vip.id]).count()
    assert summary.excluded_by_label == [("Added by hand", 2), ("BSG stop list", 1)]


def test_the_audience_is_one_query_whatever_the_number_of_lists(django_assert_num_queries):
    lists = [_list(f"L{i}", f"38050{i:07d}") for i in range(5)]
    with django_assert_num_queries(1):
        assert len(list(selectors.audience_contacts(list_ids=[x.id for x in lists]))) == 5


def test_do_not_contact_phones_answers_for_pasted_numbers_in_batches(
    monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(selectors, "PHONE_BATCH", 2)
    DoNotContact.objects.create(phone="380501111111")
    DoNotContact.objects.create(phone="380503333333")
    pasted = (p for p in ["380501111111", "380502222222", "380503333333", "380504444444", "1"])
    with django_assert_num_queries(3):
        assert selectors.do_not_contact_phones(phones=pasted) == {"380501111111", "380503333333"}
    assert selectors.do_not_contact_phones(phones=[]) == set()


def test_a_field_is_found_by_its_key_or_its_bsg_field_id():
    first_name = ContactField.objects.create(key="first_name", label="First name", bsg_field_id=17)
    city = ContactField.objects.create(key="city", label="City")

    lookup = selectors.fields_by_reference()

    assert lookup["first_name"] == lookup["17"] == first_name
    assert lookup["city"] == city
    assert set(lookup) == {"first_name", "17", "city"}
