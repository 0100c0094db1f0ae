"""Pages in each language: a person who chose Ukrainian gets Ukrainian pages, dates and numbers,
on every page and whatever their browser says; the switcher takes them back to English; a
signed-out visitor gets the log-in page in their browser's language."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import AccountSettings
from accounts.services import account_settings_update
from audit.models import AuditEntry
from campaigns.models import Campaign
from config.numbers import money_text
from contacts.models import Contact
from tests.dashboard.conftest import part, sending

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
HOME = reverse("campaigns:home")
LIST = reverse("campaigns:list")
COMPOSER = reverse("campaigns:new", args=["sms"])
CONTACTS = reverse("contacts:contact-index")
LOGIN = reverse("login")
SWITCH = reverse("accounts:language")


@pytest.fixture
def olena(db):
    user = get_user_model().objects.create_superuser("olena", password="a-long-test-password")
    account_settings_update(user=user, language="uk")
    return user


@pytest.fixture
def as_olena(olena) -> Client:
    client = Client()
    client.force_login(olena)
    return client


def page(client: Client, url: str, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_the_home_page_speaks_ukrainian(as_olena):
    body = page(as_olena, HOME)
    assert '<html lang="uk"' in body
    assert "<h1>Огляд</h1>" in body
    assert "Ваші справи" in body and "Надіслано через BSG" in body
    assert "Your inbox" not in body


def test_the_campaigns_page_speaks_ukrainian_with_its_dates_and_numbers(as_olena, olena):
    made = sending(recipients=12_000, sent=11_500, created_by=olena)
    Campaign.objects.filter(pk=made.pk).update(created_at=datetime(2026, 3, 9, 14, 5, tzinfo=UTC))
    body = page(as_olena, LIST)
    assert '<html lang="uk"' in body
    assert "<h1>Кампанії</h1>" in body and "Показати кампанії" in body
    # Grouped with a no-break space.
    assert f'<td class="num" data-label="Одержувачі">12{NBSP}000</td>' in body
    assert "<td>09.03.2026 14:05 " in body  # day.month.year
    assert "автор: olena" in body


def test_the_sms_composer_speaks_ukrainian_and_loads_the_counters_words(as_olena):
    body = page(as_olena, COMPOSER)
    assert '<html lang="uk"' in body
    assert "Нова SMS-кампанія" in body and "Зберегти чернетку" in body
    catalogue = reverse("javascript-catalog")
    assert f'<script src="{catalogue}"></script>' in body
    script = page(as_olena, catalogue)  # JSON inside: non-ASCII letters as \u escapes
    assert json.dumps("частина SMS")[1:-1] in script
    assert json.dumps("символів: %(count)s")[1:-1] in script


def test_the_contacts_page_speaks_ukrainian(as_olena):
    Contact.objects.create(phone="380501234567", name="Олена")
    body = page(as_olena, CONTACTS)
    assert '<html lang="uk"' in body
    assert "<h1>Контакти</h1>" in body and "Шукати" in body and "Олена" in body


def test_the_detail_page_writes_money_and_percentages_the_ukrainian_way(as_olena):
    made = sending(recipients=12_000, sent=11_500, delivered=11_000)
    part(made, number=2, recipients=345, sent=1, price=Decimal("1234.5"), currency="EUR")
    body = page(as_olena, reverse("campaigns:detail", args=[made.pk]))
    assert f'id="figure-recipients">12{NBSP}345<' in body
    assert f"<td>1{NBSP}234,50 EUR</td>" in body
    assert "% надісланих" in body  # the delivery rate, 95,6% of sent
    assert "95,6%" in body


def test_money_and_dates_follow_the_active_language():
    with translation.override("uk"):
        assert money_text(Decimal("12345.678"), "EUR") == f"12{NBSP}345,68 EUR"
    with translation.override("en"):
        assert money_text(Decimal("12345.678"), "EUR") == "12,345.68 EUR"


def test_switching_to_english_through_the_switcher_gives_english_pages(as_olena, olena):
    assert '<html lang="uk"' in page(as_olena, LIST)
    response = as_olena.post(SWITCH, {"language": "en", "next": LIST})
    assert response.status_code == 302 and response["Location"] == LIST
    body = page(as_olena, LIST)
    assert '<html lang="en"' in body and "<h1>Campaigns</h1>" in body
    assert "Кампанії" not in body
    olena.refresh_from_db()
    assert AccountSettings.objects.get(user=olena).language == "en"
    entry = AuditEntry.objects.filter(action="account-settings-update").latest("created_at")
    assert entry.changes == {"language": ["uk", "en"]} and entry.actor == olena


def test_the_choice_is_kept_on_the_account_not_the_browser(olena):
    # A new browser (no cookie) asking for English still gets the account's Ukrainian.
    elsewhere = Client()
    elsewhere.force_login(olena)
    assert '<html lang="uk"' in page(elsewhere, HOME, accept_language="en-GB,en;q=0.9")


def test_someone_who_never_chose_gets_their_browsers_language(db):
    user = get_user_model().objects.create_superuser("taras", password="a-long-test-password")
    client = Client()
    client.force_login(user)
    assert '<html lang="uk"' in page(client, HOME, accept_language="uk-UA,uk;q=0.9")
    assert '<html lang="en"' in page(client, HOME)
    assert not AccountSettings.objects.filter(user=user).exists()


def test_a_signed_out_visitor_gets_the_log_in_page_in_their_browsers_language(client):
    body = page(client, LOGIN, accept_language="uk")
    assert '<html lang="uk"' in body
    assert "<h1>Увійти</h1>" in body and "Ім\u2019я користувача" in body
    english = page(Client(), LOGIN)
    assert '<html lang="en"' in english and "<h1>Log in</h1>" in english


def test_a_signed_out_visitor_can_choose_the_language_on_the_log_in_page(client):
    body = page(client, LOGIN)
    assert f'action="{SWITCH}"' in body and 'value="uk"' in body
    response = client.post(SWITCH, {"language": "uk", "next": LOGIN})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert response.cookies["django_language"].value == "uk"
    assert "<h1>Увійти</h1>" in page(client, LOGIN)


def test_the_language_costs_no_query_of_its_own(as_olena):
    page(as_olena, LIST)  # permissions and the like now in the cache
    with CaptureQueriesContext(connection) as queries:
        page(as_olena, LIST)
    choice_table = AccountSettings._meta.db_table
    reading_it = [q["sql"] for q in queries.captured_queries if choice_table in q["sql"]]
    assert len(reading_it) == 1 and '"auth_user"' in reading_it[0]  # joined to the user's row


def test_shared_cached_panels_are_kept_apart_by_language(settings, as_olena, olena):
    settings.CAMPAIGN_LIST_CACHE_SECONDS = 60
    sending(recipients=10, created_by=olena)
    english = Client()
    english.force_login(get_user_model().objects.create_superuser("boss", password="x-long-pw-1"))
    assert "by olena" in page(english, LIST)
    assert "автор: olena" in page(as_olena, LIST)
    assert "by olena" in page(english, LIST)


def test_the_hand_off_email_is_translated():
    from django.template.loader import render_to_string

    context = {"lead": "Lead.", "reason": "", "link": "http://x/1"}
    with translation.override("uk"):
        body = render_to_string("campaigns/mail/handoff.txt", context)
    assert "Вітаємо!" in body and "Відкрити: http://x/1" in body
