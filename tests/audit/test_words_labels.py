"""A changed field's label depends on what changed: a contact's name is a person's (Ім'я),
a list's is a title («Назва»)."""

import pytest
from django.utils import translation

from audit.models import AuditEntry
from audit.services import audit_record
from audit.words import entries_in_words
from contacts.models import Contact, ContactList

pytestmark = pytest.mark.django_db


def test_a_contacts_name_is_a_persons_name_and_a_lists_a_title():
    olena = Contact.objects.create(phone="380501111111", name="Olena")
    spring = ContactList.objects.create(name="Spring")
    audit_record(action="contact-update", target=olena, changes={"name": ["Olena", "Olha"]})
    audit_record(action="list-update", target=spring, changes={"name": ["Spring", "Summer"]})
    with translation.override("uk"):
        contact, contact_list = entries_in_words(AuditEntry.objects.order_by("id"))
    assert contact.lines == ("Ім\u2019я: Olena → Olha",)
    assert contact_list.lines == ("Назва: Spring → Summer",)
