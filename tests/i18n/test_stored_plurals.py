# The Ukrainian is the point of some of these tests: their Cyrillic letters are meant.
# ruff: noqa: RUF001
"""Counts in stored sentences say their own plural ("1 member", "3 members"; in Ukrainian
"1 учасник", "3 учасники", "5 учасників"), not English's "member(s)"; rows stored in the old
words are found by them and said in the new ones, in English as in Ukrainian."""

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

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# The sentences that said "(s)" (some reworded since for other reasons: a BSG batch was a "part";
# tests/i18n/test_stored_batches.py reads those old words).
REWORDED = [
    sentence for sentence in stored_text.SENTENCES if any("(s)" in f for f in sentence.formerly)
]
# The dispatch's old words held the batches' count as a bare number ("2 part(s)"); it is a
# sentence of its own now ("2 batches"), so their rows are read with other values than they were
# stored with.
DISPATCH = [sentence for sentence in REWORDED if sentence.formerly_values is not None]


def words_with_s(sentence: stored_text.StoredSentence) -> str:
    """The sentence's old words that said "(s)"."""
    [old_words] = [form for form in sentence.formerly if "(s)" in form]
    return old_words


def sample_values(sentence: stored_text.StoredSentence, count: int) -> dict[str, object]:
    """Values for each of the sentence's placeholders: `count` for its number, 2 for any other
    count, a word for the rest."""
    names = set(PLACEHOLDER.findall(sentence.singular))
    return {
        name: count if name == sentence.number else 2 if name in COUNTS else f"<{name}>"
        for name in names
    }


COUNTS = {"approved", "attempts", "cancelled", "count", "now", "number", "opted_out", "refused"}


def test_no_sentence_the_app_writes_says_a_plural_with_s_in_brackets():
    sentences = stored_text.SENTENCES
    assert [s.singular for s in sentences if "(s)" in s.singular + (s.plural or "")] == []
    # Twenty sentences said "(s)" before, four of them the dispatch's; each keeps its old words
    # to find the rows stored so.
    assert len(REWORDED) == 20
    assert len(DISPATCH) == 4


@pytest.mark.parametrize(
    "sentence", [s for s in REWORDED if s not in DISPATCH], ids=lambda s: s.singular[:40]
)
@pytest.mark.parametrize("count", [1, 3, 5])
def test_an_old_row_reads_as_the_sentence_says_it_now(sentence, count):
    values = sample_values(sentence, count)
    old_row = words_with_s(sentence) % {name: str(value) for name, value in values.items()}
    with translation.override("en"):
        assert stored_text.shown(old_row) == sentence.stored(**values)
        assert "(s)" not in stored_text.shown(old_row)
    with translation.override("uk"):
        assert stored_text.shown(old_row) == sentence.shown(**values)
        assert stored_text.shown(sentence.stored(**values)) == sentence.shown(**values)


# (old row, as English says it now, as Ukrainian says it): the dispatch's event and audit entry,
# its BSG batches said as the campaign page's table says them.
OLD_DISPATCH_ROWS = [
    (
        "1 recipients resolved into 1 BSG campaign(s).",
        "1 recipient resolved into 1 batch.",
        "Розподілено 1 отримувача: 1 пакет.",
    ),
    (
        "12,000 recipients resolved into 2 BSG campaign(s).",
        "12,000 recipients resolved into 2 batches.",
        "Розподілено 12\xa0000 отримувачів: 2 пакети.",
    ),
    (
        "3 recipients resolved into 5 BSG campaign(s). 1 left out: messaged by this schedule "
        "within its frequency cap.",
        "3 recipients resolved into 5 batches. 1 left out: messaged by this schedule within its "
        "frequency cap.",
        "Розподілено 3 отримувачів: 5 пакетів. Пропущено 1: цей розклад уже надсилав їм у межах "
        "обмеження частоти.",
    ),
    ("1 recipient(s) in 1 part(s).", "1 recipient in 1 batch.", "1 отримувач, 1 пакет."),
    ("3 recipient(s) in 2 part(s).", "3 recipients in 2 batches.", "3 отримувачі, 2 пакети."),
    (
        "5 recipient(s) in 5 part(s). Part 2: BSG refused it: no credit",
        "5 recipients in 5 batches. Batch 2: BSG refused it: no credit",
        "5 отримувачів, 5 пакетів. Пакет 2: BSG його відхилив: no credit",
    ),
]


@pytest.mark.parametrize(("old_row", "english", "ukrainian"), OLD_DISPATCH_ROWS)
def test_an_old_dispatch_row_says_its_recipients_and_batches_each_in_its_plural(
    old_row, english, ukrainian
):
    assert shown_in_english_and_ukrainian(old_row) == (english, ukrainian)


def test_an_old_dispatch_row_reads_as_the_dispatch_stores_it_now():
    in_parts = stored_text.PARTS_COUNT.stored(count=2)
    old_and_new = {
        "3 recipients resolved into 2 BSG campaign(s).": stored_text.DISPATCHED_IN_PARTS.stored(
            recipients=3, in_parts=in_parts
        ),
        "3 recipient(s) in 2 part(s). Part 1: BSG refused it: no": (
            stored_text.DISPATCH_AUDIT_IN_PARTS_REFUSED.stored(
                recipients=3,
                in_parts=in_parts,
                refusal=stored_text.PART_REFUSED.stored(number=1, refusal="no"),
            )
        ),
    }
    for old_row, new_row in old_and_new.items():
        with translation.override("en"):
            assert stored_text.shown(old_row) == new_row
        with translation.override("uk"):
            assert stored_text.shown(old_row) == stored_text.shown(new_row)


@pytest.mark.parametrize(
    ("count", "english", "ukrainian"),
    [
        (
            1,
            "1 batch stopped at BSG, 0 not submitted cancelled, 0 refused by BSG.",
            "1 пакет зупинено в BSG, скасовано непереданих: 0, BSG відмовив: 0.",
        ),
        (
            3,
            "3 batches stopped at BSG, 0 not submitted cancelled, 0 refused by BSG.",
            "3 пакети зупинено в BSG, скасовано непереданих: 0, BSG відмовив: 0.",
        ),
        (
            11,
            "11 batches stopped at BSG, 0 not submitted cancelled, 0 refused by BSG.",
            "11 пакетів зупинено в BSG, скасовано непереданих: 0, BSG відмовив: 0.",
        ),
    ],
)
def test_a_stop_says_its_batches_in_their_plural(count, english, ukrainian):
    stored = stored_text.STOPPED_PARTS_AUDIT.stored(stopped=count, cancelled=0, refused=0)
    assert stored == english
    with translation.override("uk"):
        assert stored_text.shown(stored) == ukrainian


@pytest.mark.parametrize(
    ("count", "english", "ukrainian"),
    [
        (1, "1 approved recipient is not in BSG's groups", "1 погодженого отримувача немає"),
        (4, "4 approved recipients are not in BSG's groups", "4 погоджених отримувачів немає"),
        # English says one in the singular only; Ukrainian 21 too.
        (21, "21 approved recipients are not in BSG's groups", "21 погодженого отримувача немає"),
    ],
)
def test_a_groups_difference_says_its_count_in_its_plural(count, english, ukrainian):
    stored = stored_text.GROUPS_MISSING.stored(count=count)
    assert stored == english
    with translation.override("uk"):
        assert stored_text.shown(stored) == f"{ukrainian} в групах BSG"


@pytest.fixture
def campaign_with_counts(db):
    """A campaign whose log holds a row stored in the old words and one in the new."""
    campaign = Campaign.objects.create(
        name="Spring sale", channel=Campaign.Channel.SMS, status=Campaign.Status.SENDING
    )
    event_record(campaign.pk, CampaignEvent.Kind.RESUMED, "Resumed: 3 held part(s) will be sent.")
    event_record(campaign.pk, CampaignEvent.Kind.RESUMED, stored_text.RESUMED.stored(count=1))
    event_record(
        campaign.pk,
        CampaignEvent.Kind.DISPATCHED,
        "4 recipients resolved into 1 BSG campaign(s).",
    )
    audit_record(
        action="campaign-dispatch",
        target=campaign,
        changes={"status": ["ready", "sending"]},
        message="4 recipient(s) in 1 part(s).",
    )
    audit_record(
        action="campaign-update",
        target=campaign,
        changes={"pasted_numbers": ["", "5 number(s)"]},
        message="",
    )
    return campaign


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "en",
            [
                "Resumed: 3 held batches will be sent.",
                "Resumed: 1 held batch will be sent.",
                "5 numbers",
                "4 recipients resolved into 1 batch.",
                "4 recipients in 1 batch.",
            ],
        ),
        (
            "uk",
            [
                "Відновлено: 3 призупинені пакети буде надіслано.",
                "Відновлено: 1 призупинений пакет буде надіслано.",
                "5 номерів",
                "Розподілено 4 отримувачів: 1 пакет.",
                "4 отримувачі, 1 пакет.",
            ],
        ),
    ],
)
def test_the_campaign_page_says_old_and_new_rows_in_their_plurals(
    client, campaign_with_counts, language, said
):
    taras = get_user_model().objects.create_user("taras", password="x" * 20, is_superuser=True)
    account_settings_update(user=taras, language=language)
    client.force_login(taras)
    page = client.get(reverse("campaigns:detail", args=[campaign_with_counts.pk]))
    html = page.content.decode()
    for words in said:
        assert words in html
    assert "(s)" not in html
    assert "BSG campaign" not in html
