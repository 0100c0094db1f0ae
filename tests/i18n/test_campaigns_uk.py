# The Ukrainian is the point of these tests: their Cyrillic letters are meant.
# ruff: noqa: RUF001
"""Issue 15, "Languages": what campaigns/ says to a marketer reads in Ukrainian when they chose
it, and exactly as before in English.

Refusals made while someone waits (the composer's checks, a schedule's timing) are said in the
reader's language; texts the app stores (the event log, the audit messages shown as the
campaign's history, why the engine sent a campaign back) are stored in English and said in the
reader's language when a page shows them (campaigns.stored_text)."""

import re
from datetime import time

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.services import account_settings_update
from audit.models import AuditEntry
from campaigns import schedule_timing, services, stored_text
from campaigns.checks import campaign_draft_check
from campaigns.engine.events import event_record
from campaigns.forms import ScheduleForm
from campaigns.history import campaign_history
from campaigns.models import Campaign, CampaignEvent

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# A sentence with no words of its own ("%(name)s (%(phone)s)") has nothing to translate.
WORDS = re.compile(r"[^\W\d_]")


def draft(**overrides) -> Campaign:
    values = {"name": "Spring sale", "channel": Campaign.Channel.SMS, "text": "", "sender": "Shop"}
    return Campaign(**{**values, **overrides})


def test_the_draft_check_refuses_an_empty_text_in_ukrainian():
    with translation.override("uk"):
        problems = campaign_draft_check(campaign=draft(), list_ids=[])
    assert problems.errors["text"] == ["Напишіть текст SMS."]
    assert problems.errors["lists"] == ["Виберіть хоча б один список контактів."]


def test_the_same_check_reads_as_before_in_english():
    with translation.override("en"):
        problems = campaign_draft_check(campaign=draft(), list_ids=[])
    assert problems.errors["text"] == ["Write the text of the SMS."]
    assert problems.errors["lists"] == ["Choose at least one contact list."]


def test_a_schedule_preset_without_a_time_is_refused_in_ukrainian():
    form = ScheduleForm(
        {"name": "Щопонеділка", "template": "1", "repeat": schedule_timing.WEEKLY, "weekday": "1"},
        templates=[],
    )
    with translation.override("uk"):
        form.is_valid()
        assert form.errors["at"] == ["Виберіть час запуску, наприклад 09:00."]
        assert schedule_timing.cron_field_error("hour", "25") == (
            "Година має бути від 0 до 23, а не 25."
        )
        assert schedule_timing.cron_describe(
            schedule_timing.preset_cron(preset=schedule_timing.WEEKLY, at=time(9), weekday="1")
        ) == ("Щопонеділка о 09:00")


def test_the_history_says_what_happened_in_ukrainian(django_user_model):
    author = django_user_model.objects.create_user("olena", password="a-long-test-password")
    with translation.override("uk"):
        campaign = services.campaign_save(campaign=draft(), list_ids=[], user=author)
        duplicate = services.campaign_duplicate(campaign_id=campaign.pk, user=author)
        [created] = campaign_history(campaign=campaign)
        [copied] = campaign_history(campaign=duplicate)
    assert created.what == "Створено"
    assert "Відправник: Shop" in created.lines
    assert copied.what == "Створено як копію"
    assert copied.message == f"Скопійовано з «Spring sale» (#{campaign.pk})."
    # Stored in English, whoever wrote it in whichever language; English reads it as stored.
    entry = AuditEntry.objects.get(action="campaign-duplicate")
    assert entry.message == f"Duplicated from “Spring sale” (#{campaign.pk})."
    with translation.override("en"):
        assert campaign_history(campaign=duplicate)[0].message == entry.message


def test_an_engine_reason_is_stored_in_english_and_shown_in_the_readers_language():
    campaign = draft()
    campaign.save()
    reason = stored_text.SENT_BACK_FOR_APPROVAL.stored(
        reason=stored_text.AUDIENCE_CHANGED.stored(approved=5, now=3) + "."
    )
    event_record(campaign.pk, CampaignEvent.Kind.APPROVAL_VOID, reason)
    event = CampaignEvent.objects.get(campaign=campaign)
    assert event.message == (
        "Sent back for approval, nothing sent: its recipients or their details changed after it "
        "was approved (5 recipients approved, 3 now)."
    )
    with translation.override("en"):
        assert event.message_shown == event.message
    with translation.override("uk"):
        assert event.message_shown == (
            "Повернуто на погодження, нічого не надіслано: після погодження змінилися її "
            "отримувачі або їхні дані (погоджено 5 отримувачів, зараз 3)."
        )
        assert event.get_kind_display() == "Погодження скасовано"


def test_a_persons_own_words_are_shown_as_they_wrote_them():
    with translation.override("uk"):
        assert stored_text.shown("Too loud; say which stores.") == "Too loud; say which stores."


@pytest.mark.parametrize(
    ("count", "words"),
    [(1, "1 номер"), (3, "3 номери"), (5, "5 номерів"), (11, "11 номерів"), (21, "21 номер")],
)
def test_a_count_takes_the_ukrainian_form_for_its_number(count, words):
    with translation.override("uk"):
        assert stored_text.PASTED_NUMBERS.shown(count=count) == words
        assert stored_text.shown(stored_text.PASTED_NUMBERS.stored(count=count)) == words
    with translation.override("en"):
        english = f"{count} number" if count == 1 else f"{count} numbers"
        assert stored_text.PASTED_NUMBERS.stored(count=count) == english
        assert stored_text.PASTED_NUMBERS.shown(count=count) == english
        # A row stored in the old words is said in the new ones, in either language.
        assert stored_text.shown(f"{count} number(s)") == english
    with translation.override("uk"):
        assert stored_text.shown(f"{count} number(s)") == words


def test_every_stored_sentence_has_its_ukrainian():
    with translation.override("uk"):
        # A plural sentence is found in the catalogue by its singular, with its plural beside.
        untranslated = [
            sentence.singular
            for sentence in stored_text.SENTENCES
            if WORDS.search(PLACEHOLDER.sub("", sentence.singular))
            and (
                translation.gettext(sentence.singular) == sentence.singular
                if sentence.plural is None
                else translation.ngettext(sentence.singular, sentence.plural, 5) == sentence.plural
            )
        ]
    assert untranslated == []


def test_the_detail_page_shows_the_engines_words_in_the_readers_language(client, django_user_model):
    taras = django_user_model.objects.create_user("taras", password="x" * 20, is_superuser=True)
    client.force_login(taras)
    campaign = draft(status=Campaign.Status.SENDING)
    campaign.save()
    # Stored when a BSG batch was called a "part": said as the batches table says it now.
    event_record(campaign.pk, CampaignEvent.Kind.NEEDS_ATTENTION, "Part 1: BSG refused it: nope")
    Campaign.objects.filter(pk=campaign.pk).update(
        dispatch_error=stored_text.DISPATCH_FAILED.stored(error="ValueError: bad list")
    )
    # The page's language is the one the person chose for their account.
    account_settings_update(user=taras, language="uk")
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Пакет 1: BSG його відхилив: nope" in page
    assert "Не вдалося визначити отримувачів (ValueError: bad list)." in page
    account_settings_update(user=taras, language="en")
    english = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Batch 1: BSG refused it: nope" in english
