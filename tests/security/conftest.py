import pytest
from django.contrib.auth import get_user_model

from contacts.models import Contact, ContactField, ContactList, ListMembership


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The throttling tests log in a dozen times; PBKDF2's deliberate slowness is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        # Every page needs a permission (config/access.py): this one may do everything.
        "marketer",
        password="a-long-test-password",
        is_superuser=True,
    )


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def audience(db):
    """One field, one list and one contact: enough for every page to show real rows."""
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    olena = Contact.objects.create(phone="380501111111", name="Olena", fields={"first_name": "O"})
    ListMembership.objects.create(contact_list=spring, contact=olena)
    return {"list": spring, "contact": olena}
