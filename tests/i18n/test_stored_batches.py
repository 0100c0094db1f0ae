# The Ukrainian is the point of some of these tests: their Cyrillic letters are meant.
# ruff: noqa: RUF001
"""The event log and the audit entries call a campaign's BSG batches "batches", as the campaign
page's table does ("Batch 3"); rows stored when they were "parts" ("Part 3: BSG refused it") are
found by those words and said in the new ones, in English as in Ukrainian. A test send's number
reads as people read it ("+380 50 111 1111"), in old rows too."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from accounts.services import account_settings_update
from audit.services import audit_record
from campaigns import stored_text
from campaigns.engine.events import event_record
from campaigns.models import Campaign, CampaignEvent
from tests.i18n import shown_in_english_and_ukrainian

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# "part" as the old name of a batch; an SMS's parts are not a stored sentence's words.
PART = re.compile(r"\b[Pp]arts?\b")
# Reworded from "part" to "batch". The dispatch's old words held the batches' count as a bare
# number, so its rows are read with other values: tests/i18n/test_stored_plurals.py reads them.
FROM_PARTS = [
    sentence
    for sentence in stored_text.SENTENCES
    if sentence.formerly_values is None and any(PART.search(f) for f in sentence.formerly)
]
COUNTS = {"attempts", "bsg_id", "cancelled", "count", "limit", "members", "number", "refused"}


def old_rows():
    for sentence in FROM_PARTS:
        for old_words in sentence.formerly:
            if PART.search(old_words):
                yield pytest.param(sentence, old_words, id=old_words[:50])


def sample_values(sentence: stored_text.StoredSentence, count: int) -> dict[str, object]:
    names = set(PLACEHOLDER.findall(sentence.singular))
    return {
        name: count if name == sentence.number else 2 if name in COUNTS else f"<{name}>"
        for name in names
    }


def test_no_sentence_the_app_stores_calls_a_batch_a_part():
    forms = [f for s in stored_text.SENTENCES for f in (s.singular, s.plural) if f is not None]
    assert [form for form in forms if PART.search(form)] == []
    # The batches' count, the balance holds, each batch's way to BSG and back, the stop, the
    # resumes, the groups' advice: each keeps the words it was stored in before.
    assert len(FROM_PARTS) == 23


@pytest.mark.parametrize(("sentence", "old_words"), list(old_rows()))
@pytest.mark.parametrize("count", [1, 3])
def test_an_old_row_that_says_part_reads_batch(sentence, old_words, count):
    values = sample_values(sentence, count)
    old_row = old_words % {name: str(value) for name, value in values.items()}
    with translation.override("en"):
        said = stored_text.shown(old_row)
        assert said == sentence.stored(**values)
        assert not PART.search(said) and "batch" in said.lower()
    with translation.override("uk"):
        said = stored_text.shown(old_row)
        assert said == sentence.shown(**values)
        assert "частин" not in said.lower() and "пакет" in said.lower()
        # A row stored in the new words is found too, though they begin otherwise.
        assert stored_text.shown(sentence.stored(**values)) == said


@pytest.mark.parametrize(
    ("stored", "english", "ukrainian"),
    [
        (
            "Part 2: BSG refused it: no credit",
            "Batch 2: BSG refused it: no credit",
            "Пакет 2: BSG його відхилив: no credit",
        ),
        ("Every part has finished at BSG.", "Every batch has finished at BSG.", None),
        (
            "Stopped: 2 parts stopped at BSG, 0 not submitted cancelled, 1 refused by BSG.",
            "Stopped: 2 batches stopped at BSG, 0 not submitted cancelled, 1 refused by BSG.",
            "Зупинено: 2 пакети зупинено в BSG, скасовано непереданих: 0, BSG відмовив: 1.",
        ),
        (
            "Resumed: 1 held part will be sent.",
            "Resumed: 1 held batch will be sent.",
            "Відновлено: 1 призупинений пакет буде надіслано.",
        ),
        # Said in the new words by the sentence they are inside, too.
        (
            "3 recipients resolved into 2 parts.",
            "3 recipients resolved into 2 batches.",
            "Розподілено 3 отримувачів: 2 пакети.",
        ),
        (
            "Part 4: Being prepared → Finished.",
            "Batch 4: Being prepared → Finished.",
            "Пакет 4: Готується → Завершено.",
        ),
    ],
)
def test_old_rows_read_as_the_batches_table_names_them(stored, english, ukrainian):
    with translation.override("en"):
        assert stored_text.shown(stored) == english
    with translation.override("uk"):
        said = stored_text.shown(stored)
        assert said == (ukrainian or "Усі пакети завершилися в BSG.")


def test_an_sms_s_parts_are_not_batches():
    # Not a stored sentence: shown as stored, English's "parts" kept.
    text = "The text needs 3 SMS parts."
    with translation.override("en"):
        assert stored_text.shown(text) == text


@pytest.mark.parametrize(
    ("stored", "english", "ukrainian"),
    [
        (
            "Test send to +380501111111: accepted by BSG as campaign 5.",
            "Test send to +380 50 111 1111: accepted by BSG as campaign 5.",
            "Тестове надсилання на +380 50 111 1111: BSG прийняв як кампанію 5.",
        ),
        (
            "Test send to +380501111111: Sender not allowed",
            "Test send to +380 50 111 1111: Sender not allowed",
            "Тестове надсилання на +380 50 111 1111: Sender not allowed",
        ),
    ],
)
def test_a_test_sends_number_is_stored_as_bsg_knows_it_and_read_as_people_read_it(
    stored, english, ukrainian
):
    # Stored bare, so the audit log can be searched by the number.
    new_row = stored_text.TEST_SEND_AUDIT.stored(
        phone="+380501111111", outcome=stored.split(": ", 1)[1]
    )
    assert new_row == stored
    for row in (stored, new_row):
        assert shown_in_english_and_ukrainian(row) == (english, ukrainian)


@pytest.mark.parametrize(
    ("stored", "english", "ukrainian"),
    [
        (
            "Rendered as Olena (+380501111111), as chosen.",
            "Rendered as Olena (+380 50 111 1111), as chosen.",
            "Заповнено даними: Olena (+380 50 111 1111) — контакт, вибраний вами.",
        ),
        (
            "Rendered as a contact without a name (+380501111111), the first contact of the "
            "audience.",
            "Rendered as a contact without a name (+380 50 111 1111), the first contact of the "
            "audience.",
            "Заповнено даними: контакт без імені (+380 50 111 1111) — перший контакт аудиторії.",
        ),
    ],
)
def test_whose_data_filled_a_test_send_reads_their_number_as_people_read_it(
    stored, english, ukrainian
):
    assert shown_in_english_and_ukrainian(stored) == (english, ukrainian)


@pytest.mark.parametrize("text", ["Sale (spring)", "Call us (0 800 123)", "Olena (+38)"])
def test_only_a_number_in_brackets_is_read_as_a_contact(text):
    with translation.override("en"):
        assert stored_text.shown(text) == text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "en",
            [
                "Batch 2: BSG refused it: no credit",
                "Every batch has finished at BSG.",
                "Test send to +380 50 111 1111: accepted by BSG as campaign 5.",
            ],
        ),
        (
            "uk",
            [
                "Пакет 2: BSG його відхилив: no credit",
                "Усі пакети завершилися в BSG.",
                "Тестове надсилання на +380 50 111 1111: BSG прийняв як кампанію 5.",
            ],
        ),
    ],
)
def test_the_campaign_page_says_old_rows_in_the_batches_words(client, language, said):
    campaign = Campaign.objects.create(
        name="Spring sale", channel=Campaign.Channel.SMS, status=Campaign.Status.SENDING
    )
    event_record(
        campaign.pk, CampaignEvent.Kind.NEEDS_ATTENTION, "Part 2: BSG refused it: no credit"
    )
    event_record(campaign.pk, CampaignEvent.Kind.FINISHED, "Every part has finished at BSG.")
    audit_record(
        action="campaign-test-send",
        target=campaign,
        message="Test send to +380501111111: accepted by BSG as campaign 5.",
    )
    taras = get_user_model().objects.create_user("taras", password="x" * 20, is_superuser=True)
    account_settings_update(user=taras, language=language)
    client.force_login(taras)
    html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    for words in said:
        assert words in html
    assert "Part 2" not in html and "Every part" not in html and "+380501111111" not in html


def test_number_in_a_stored_sentence_is_always_a_batchs_number():
    # stored_text.batch_named reads `number` as the batch a sentence names: a sentence using
    # the name for another count would make a line hide its batch's label wrongly.
    numbered = [s for s in stored_text.SENTENCES if "%(number)s" in s.singular]
    assert numbered
    assert all("batch %(number)s" in s.singular.lower() for s in numbered)
