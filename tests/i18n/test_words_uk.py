"""A newcomer's report: words a marketer should not see on Ukrainian pages.

Audit keys ("import-applied", "list-create"), field names ("archived_at") and ISO moments
with microseconds ("2026-12-06T20:15:24.256033+00:00") were shown as they are stored; BSG's
statuses ("done", "creation") and counters ("not rcs user 0") as the API spells them.
"""

# Ukrainian text is what these tests check.
# ruff: noqa: RUF001, RUF003
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.services import language_choose
from audit.services import audit_record
from campaigns import archive
from campaigns.models import Campaign
from contacts import services as contacts

pytestmark = pytest.mark.django_db

ISO_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture
def taras(db):
    return get_user_model().objects.create_superuser(
        "taras", "taras@example.com", "a-long-test-password"
    )


@pytest.fixture
def in_ukrainian(taras) -> Client:
    language_choose(user=taras, language="uk")
    client = Client()
    client.force_login(taras)
    return client


def _history(html: str) -> str:
    return html[html.index('id="audit-log-title"') :]


def test_a_lists_history_says_its_actions_and_fields_in_ukrainian(in_ukrainian):
    spring = contacts.contact_list_create(name="Spring")
    contacts.contact_list_update(list_id=spring.pk, name="Summer")
    contacts.contact_list_archive(list_id=spring.pk)
    audit_record(action="import-applied", target=spring, message="")
    history = _history(
        in_ukrainian.get(reverse("contacts:list-detail", args=[spring.pk])).content.decode()
    )
    assert "Список створено" in history and "Імпорт застосовано" in history
    assert "Назва: Spring → Summer" in history
    for raw in ("list-create", "import-applied", "list-archive", "name:", "Name"):
        assert raw not in history


def test_an_archived_campaigns_history_says_when_in_the_readers_format(in_ukrainian, taras):
    campaign = Campaign.objects.create(name="Spring sale", text="Hi", sender="Shop")
    archive.campaign_archive(campaign_id=campaign.pk, user=taras)
    history = _history(
        in_ukrainian.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    )
    assert "Перенесено в архів" in history
    assert re.search(r"В архіві: — → \d\d\.\d\d\.\d{4} \d\d:\d\d", history)
    assert not ISO_MOMENT.search(re.sub(r'datetime="[^"]*"', "", history))
    assert "Archive" not in history
