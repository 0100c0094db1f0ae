"""A person's settings (accounts.AccountSettings): one row, changed by one service, read by one
selector."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from accounts.models import AccountSettings
from accounts.selectors import AccountChoices, account_choices_of
from accounts.services import account_settings_update
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    return get_user_model().objects.create_user("oksana", password="a-long-test-password")


def updates() -> list[dict]:
    entries = AuditEntry.objects.filter(action="account-settings-update").order_by("id")
    return [entry.changes for entry in entries]


def test_a_field_left_out_is_left_as_it_is(person):
    account_settings_update(user=person, language="uk")
    account_settings_update(user=person, time_zone="Europe/Kyiv")
    chosen = AccountSettings.objects.get(user=person)
    assert (chosen.language, chosen.time_zone) == ("uk", "Europe/Kyiv")
    assert updates() == [{"language": [None, "uk"]}, {"time_zone": [None, "Europe/Kyiv"]}]


def test_choosing_what_is_already_chosen_writes_no_audit_entry(person):
    account_settings_update(user=person, language="uk", time_zone="Europe/Kyiv")
    account_settings_update(user=person, language="uk", time_zone="Europe/Kyiv")
    account_settings_update(user=person, language="en", time_zone="Europe/Kyiv")
    assert updates() == [
        {"language": [None, "uk"], "time_zone": [None, "Europe/Kyiv"]},
        {"language": ["uk", "en"]},
    ]


@pytest.mark.parametrize(
    "wrong",
    [
        {"language": "xx"},
        {"language": ""},
        {"time_zone": "Nowhere/Land"},
        {"time_zone": ""},
        {"time_zone": "../../etc/passwd"},
        {"language": "uk", "time_zone": "europe/kyiv"},
    ],
)
def test_it_refuses_what_is_not_offered_and_keeps_nothing(person, wrong):
    with pytest.raises(ValueError):
        account_settings_update(user=person, **wrong)
    assert not AccountSettings.objects.exists()
    assert updates() == []


def test_the_users_object_carries_what_was_just_chosen(person):
    account_settings_update(user=person, language="uk", time_zone="Asia/Tbilisi")
    assert account_choices_of(user=person) == AccountChoices("uk", "Asia/Tbilisi")


def test_nothing_chosen_reads_as_the_defaults(person):
    assert account_choices_of(user=person) == AccountChoices(None, None)
    assert account_choices_of(user=AnonymousUser()) == AccountChoices(None, None)
    account_settings_update(user=person, time_zone="Europe/Kyiv")
    fresh = get_user_model().objects.select_related("account_settings").get(pk=person.pk)
    assert account_choices_of(user=fresh) == AccountChoices(None, "Europe/Kyiv")


def test_a_choice_no_longer_offered_reads_as_never_chosen(person):
    # A language taken out of settings.LANGUAGES, a zone the zone database dropped.
    AccountSettings.objects.create(user=person, language="ru", time_zone="Europe/Atlantis")
    fresh = get_user_model().objects.select_related("account_settings").get(pk=person.pk)
    assert account_choices_of(user=fresh) == AccountChoices(None, None)
