import pytest
from django.core.management import call_command

from contacts import selectors
from contacts.management.commands.demo_contacts_load import demo_contacts_load
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership
from contacts.phones import normalize_phone

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (ContactList, ContactField, Contact, ListMembership, DoNotContact)
    )


def test_the_demo_audience_loads_once_with_valid_numbers():
    first = demo_contacts_load()
    assert (first.lists, first.fields, first.contacts, first.opt_outs) == (3, 3, 200, 4)
    counts = _counts()

    second = demo_contacts_load()

    assert (second.lists, second.fields, second.contacts, second.opt_outs) == (0, 0, 0, 0)
    assert _counts() == counts
    for phone in Contact.objects.values_list("phone", flat=True):
        assert normalize_phone("+" + phone) == phone
    assert set(ContactList.objects.values_list("name", flat=True)) == {
        "Kyiv customers",
        "Newsletter",
        "VIP",
    }
    kyiv = ContactList.objects.get(name="Kyiv customers")
    summary = selectors.audience_summary(list_ids=[kyiv.id])
    assert summary.members > 50 and summary.excluded >= 1


def test_demo_setup_loads_the_demo_audience_and_a_second_run_duplicates_nothing():
    call_command("demo_setup", stdout=open("/dev/null", "w"))  # noqa: SIM115
    counts = _counts()
    call_command("demo_setup", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _counts() == counts and counts[2] == 200
