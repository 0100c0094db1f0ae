"""Each object page shows its audit log: campaigns, lists and the do-not-contact list."""

import pytest
from django.urls import reverse

from audit.services import audit_record
from campaigns.models import Campaign
from contacts import services as contacts
from contacts.models import ContactList

pytestmark = pytest.mark.django_db


def test_the_campaign_page_shows_its_history(admin_client_in, superuser):
    campaign = Campaign.objects.create(name="Spring sale", text="Hi", sender="Shop")
    audit_record(
        action="campaign-update", target=campaign, actor=superuser, changes={"text": ["Yo", "Hi"]}
    )
    html = admin_client_in.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    # In words (campaigns.history): what was done and what changed, not the log's raw keys.
    assert 'id="audit-log-title"' in html and "Edited" in html and "Text changed" in html
    assert "campaign-update" not in html


def test_the_list_page_shows_its_history(admin_client_in):
    spring = contacts.contact_list_create(name="Spring")
    html = admin_client_in.get(reverse("contacts:list-detail", args=[spring.pk])).content.decode()
    assert "List created" in html and "root" in html and "list-create" not in html


def test_the_do_not_contact_page_shows_adds_removes_and_imports(admin_client_in):
    entry, _ = contacts.do_not_contact_add(phone="380501234567", reason="asked")
    contacts.do_not_contact_remove(entry_id=entry.pk)
    audit_record(
        action="do-not-contact-import",
        target=ContactList.objects.create(name="Opt-outs"),
        message="Import of “optouts.csv” applied: 2 created.",
    )
    html = admin_client_in.get(reverse("contacts:dnc-index")).content.decode()
    assert "Number added to the do-not-contact list" in html
    assert "Number removed from the do-not-contact list" in html
    assert "do-not-contact-add" not in html
    assert "optouts.csv" in html and "+380501234567" in html


def test_an_object_without_history_says_so(admin_client_in):
    campaign = Campaign.objects.create(name="Quiet")
    html = admin_client_in.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Nothing recorded yet." in html
