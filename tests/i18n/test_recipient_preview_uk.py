"""The approver's recipient preview in Ukrainian: its step buttons agree with «одержувач»
(the pager's «сторінка» is feminine, so they have a translation of their own)."""

import pytest
from django.urls import reverse

from accounts.services import account_settings_update
from campaigns import approval
from contacts.models import Contact, ContactField, ContactList, ListMembership
from tests.access.conftest import make_groups, make_person
from tests.access.test_approval import compose

pytestmark = pytest.mark.django_db


def test_the_step_buttons_say_next_recipient_not_next_page(client, bsg_settings):
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    olena = Contact.objects.create(phone="380501111111", fields={"first_name": "Olena"})
    ListMembership.objects.create(contact_list=spring, contact=olena)
    audience = {"spring": spring}
    groups = make_groups()
    author = make_person("author", groups)
    approver = make_person("approver", groups)
    campaign = compose(author, audience)
    approval.campaign_approval_request(campaign_id=campaign.pk, user=author, when=None)
    account_settings_update(user=approver, language="uk")
    client.force_login(approver)
    html = client.get(reverse("campaigns:recipient", args=[campaign.pk])).content.decode()
    assert ">← Попередній</button>" in html and ">Наступний →</button>" in html
    # The pager keeps its own words.
    list_page = client.get(reverse("campaigns:list")).content.decode()
    assert "Наступний" not in list_page
