"""People in each group made by campaigns/migrations/0004, and one of every object a URL names.

The groups come from the data migration; a transactional test elsewhere in the session may have
flushed them, so `groups` makes them again the same way when they are missing.
"""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from campaigns.engine import schedules
from campaigns.models import Campaign, CampaignPart, MessageTemplate, TestSend
from contacts.models import (
    Contact,
    ContactField,
    ContactImport,
    ContactList,
    DoNotContact,
    ListMembership,
)

ROLES = ("anonymous", "viewer", "author", "approver", "superuser")
GROUP_OF = {
    "viewer": "Viewers",
    "author": "Campaign authors",
    "approver": "Campaign approvers",
}
PASSWORD = "a-long-test-password"

migration = importlib.import_module("campaigns.migrations.0004_approval_permissions_groups")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Each test makes a handful of people; PBKDF2's deliberate slowness is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def groups(db):
    return make_groups()


def make_groups() -> dict:
    """{group name: Group}, made again when a flush removed them."""
    if Group.objects.filter(name__in=migration.GROUPS).count() != len(migration.GROUPS):
        migration.create_groups(global_apps, None)
    return {group.name: group for group in Group.objects.filter(name__in=migration.GROUPS)}


def make_person(role: str, groups: dict, name: str | None = None):
    """A user for `role` (None for anonymous)."""
    if role == "anonymous":
        return None
    name = name or role
    if role == "superuser":
        return get_user_model().objects.create_superuser(name, password=PASSWORD)
    user = get_user_model().objects.create_user(name, password=PASSWORD)
    user.groups.add(groups[GROUP_OF[role]])
    return user


@pytest.fixture
def people(groups):
    return {role: make_person(role, groups) for role in ROLES}


@pytest.fixture
def objects(people, tmp_path, settings):
    """One of everything a URL takes an id of, so every page has something to show."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_objects(people)


def make_objects(people: dict) -> dict:
    """The objects behind `objects`: {URL keyword argument: the id of a real object}."""
    field = ContactField.objects.create(key="first_name", label="First name")
    contact_list = ContactList.objects.create(name="Spring")
    contact = Contact.objects.create(phone="380501111111", name="Olena", fields={"first_name": "O"})
    ListMembership.objects.create(contact_list=contact_list, contact=contact)
    entry = DoNotContact.objects.create(phone="380509999999")
    contact_import = ContactImport.objects.create(original_name="people.csv")
    campaign = Campaign.objects.create(
        name="Spring sale",
        text="Hi {first_name}",
        sender="Shop",
        created_by=people["author"],
    )
    campaign.lists.set([contact_list])
    part = CampaignPart.objects.create(campaign=campaign, number=1)
    test_send = TestSend.objects.create(
        campaign=campaign, phone="380501111111", bsg_method="sms/send", error="not sent"
    )
    template = Campaign.objects.create(
        name="Weekly",
        text="Hello",
        sender="Shop",
        sms_mode=Campaign.SmsMode.INDIVIDUAL,
        start_at=timezone.now() + timedelta(days=1),
    )
    template.lists.set([contact_list])
    schedule = schedules.schedule_create(name="Weekly", template_id=template.pk)
    message_template = MessageTemplate.objects.create(name="Welcome", text="Hi {first_name}")
    return {
        "campaign_id": campaign.pk,
        "channel": "sms",
        "list_id": contact_list.pk,
        "contact_id": contact.pk,
        "field_id": field.pk,
        "entry_id": entry.pk,
        "import_id": contact_import.pk,
        "part_id": part.pk,
        "schedule_id": schedule.pk,
        "message_template_id": message_template.pk,
        "test_send_id": test_send.pk,
    }
