import pytest
from django.contrib.auth import get_user_model

from campaigns.models import Campaign
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        # Every page needs a permission (config/access.py): this one may do everything.
        "marketer",
        password="a-long-test-password",
        is_superuser=True,
    )


@pytest.fixture
def fields(db):
    first = ContactField.objects.create(key="first_name", label="First name", bsg_field_id=17)
    order = ContactField.objects.create(key="order_no", label="Order")
    return {"first_name": first, "order_no": order}


@pytest.fixture
def audience(db, fields):
    """Two lists sharing one contact, one opted-out contact; the first list is linked to BSG."""
    return build_audience(third_first_name="")


def build_audience(*, third_first_name: str) -> dict:
    """Spring (linked to BSG group 901) with four people, VIP with the first of them, and the
    fourth on the do-not-contact list. Needs the first_name field to exist."""
    spring = ContactList.objects.create(name="Spring", bsg_group_id=901)
    vip = ContactList.objects.create(name="VIP")
    people = [
        Contact.objects.create(phone="380501111111", name="Olena", fields={"first_name": "Olena"}),
        Contact.objects.create(phone="380502222222", name="Ivan", fields={"first_name": "Ivan"}),
        Contact.objects.create(
            phone="380503333333", name="", fields={"first_name": third_first_name}
        ),
        Contact.objects.create(phone="380504444444", name="Opted", fields={"first_name": "Op"}),
    ]
    for person in people:
        ListMembership.objects.create(contact_list=spring, contact=person)
    ListMembership.objects.create(contact_list=vip, contact=people[0])
    DoNotContact.objects.create(phone="380504444444")
    return {"spring": spring, "vip": vip, "people": people}


def make_campaign(**overrides) -> Campaign:
    values = {
        "name": "Spring sale",
        "channel": Campaign.Channel.SMS,
        "sms_mode": Campaign.SmsMode.INDIVIDUAL,
        "text": "Hi {first_name}, 20% off today",
        "sender": "Shop",
    }
    values.update(overrides)
    return Campaign(**values)
