"""The composer's summary of an audience's values (campaigns.audience_values), read by the
database: its character classes must say what bsg.smstext says, escaped for PostgreSQL's
regular expressions as much as for Python's."""

import pytest

from campaigns import audience_values, rendering
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

pytestmark = pytest.mark.django_db


def test_the_summary_finds_missing_longest_ucs2_and_two_septet_values():
    city = ContactField.objects.create(key="city", label="City")
    spring = ContactList.objects.create(name="Spring")
    for phone, name, value in [
        ("380501111111", "Olena", "Kyiv"),
        ("380502222222", "Ivan", "Ivano-Frankivsk [west]"),
        ("380503333333", "", "L\u2019viv"),  # a typographic apostrophe: UCS-2
        ("380504444444", "Oksana", "Odesa €"),
        ("380505555555", "Petro", ""),
        ("380506666666", "Opted", "Дніпропетровська область"),  # opted out: not counted
    ]:
        contact = Contact.objects.create(phone=phone, name=name, fields={"city": value})
        ListMembership.objects.create(contact_list=spring, contact=contact)
    Contact.objects.create(phone="380507777777", fields={"city": "Elsewhere, not in the list"})
    DoNotContact.objects.create(phone="380506666666")
    compiled = rendering.compile_text(
        "{name|friend}, sale in {city}", fields={"city": city}, mode=rendering.MODE_INDIVIDUAL
    )
    found = audience_values.audience_values(list_ids=[spring.pk], compiled=compiled)
    assert found.recipients == 5
    assert found.unfilled == 1  # Petro has no city; the nameless one has a fallback
    facts = found.fields["city"]
    assert facts.missing == 1
    assert facts.longest == "Ivano-Frankivsk [west]"
    assert facts.longest_not_gsm7 == "L\u2019viv"
    assert facts.longest_with_extension == "Ivano-Frankivsk [west]"
    assert found.fields["name"].missing == 1
    assert found.candidates(compiled)["name"][-1] == "friend"
