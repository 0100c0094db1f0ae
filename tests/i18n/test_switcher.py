"""The language switcher: what it accepts, where it sends people back, and what it refuses."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccountSettings
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

SWITCH = reverse("accounts:language")
HOME = reverse("campaigns:home")


def test_every_page_offers_the_switcher(signed_in):
    body = signed_in.get(reverse("password_change")).content.decode()
    assert f'<form method="post" action="{SWITCH}" class="language-switch"' in body
    assert '<button type="submit" name="language" value="uk" lang="uk"' in body
    assert 'value="en" lang="en" class="link" aria-current="true" disabled>English' in body


def test_a_person_in_no_group_may_choose_their_language(signed_in, person):
    response = signed_in.post(SWITCH, {"language": "uk", "next": "/accounts/password_change/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/"
    assert AccountSettings.objects.get(user=person).language == "uk"


def test_choosing_the_same_language_again_writes_no_audit_entry(signed_in, person):
    signed_in.post(SWITCH, {"language": "uk"})
    signed_in.post(SWITCH, {"language": "uk"})
    entries = AuditEntry.objects.filter(action="account-settings-update")
    assert [e.changes for e in entries] == [{"language": [None, "uk"]}]


@pytest.mark.parametrize("language", ["xx", "ru", "EN", "", "uk; DROP TABLE", "u" * 5000])
def test_an_unknown_language_is_refused_with_a_clear_error(signed_in, person, language):
    response = signed_in.post(SWITCH, {"language": language, "next": HOME})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="language-refused"' in body
    if language:
        assert "is not offered in" in body and "English, Українська" in body
    else:
        assert "Choose a language." in body
    assert not AccountSettings.objects.filter(user=person).exists()
    assert "django_language" not in response.cookies


def test_a_signed_out_visitor_is_refused_the_same_way(client):
    response = client.post(SWITCH, {"language": "xx"})
    assert response.status_code == 400 and "is not offered in" in response.content.decode()


def test_it_takes_only_posts(signed_in):
    assert signed_in.get(SWITCH, {"language": "uk"}).status_code == 405


def test_it_never_sends_people_to_another_site(signed_in):
    for elsewhere in ["https://evil.example/", "//evil.example/", "/\\evil.example/", "x", "9999"]:
        response = signed_in.post(SWITCH, {"language": "uk", "next": elsewhere})
        assert response.status_code == 302 and response["Location"] == HOME


def test_a_post_without_the_csrf_token_is_refused(person):
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    assert client.post(SWITCH, {"language": "uk"}).status_code == 403
    assert not AccountSettings.objects.filter(user=person).exists()


def test_the_choice_is_in_admin(admin_client, person):
    AccountSettings.objects.create(user=person, language="uk", time_zone="Europe/Kyiv")
    body = admin_client.get(reverse("admin:accounts_accountsettings_changelist")).content
    assert b"ivan" in body and b"Europe/Kyiv" in body
