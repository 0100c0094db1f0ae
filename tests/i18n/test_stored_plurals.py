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

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Declared before the counts had their plurals, and no longer written: kept so rows already
# stored are still found (their successors say the parts' count as a sentence of its own).
NO_LONGER_WRITTEN = {
    stored_text.DISPATCHED,
    stored_text.DISPATCHED_CAPPED,
    stored_text.DISPATCH_AUDIT,
    stored_text.DISPATCH_AUDIT_REFUSED,
}
REWORDED = [sentence for sentence in stored_text.SENTENCES if sentence.formerly]


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
    written = [s for s in stored_text.SENTENCES if s not in NO_LONGER_WRITTEN]
    assert [s.singular for s in written if "(s)" in s.singular + (s.plural or "")] == []
    # Sixteen sentences said "(s)" before; each keeps its old words to find the rows stored so.
    assert len(REWORDED) == 16
    assert all("(s)" in form for sentence in REWORDED for form in sentence.formerly)


@pytest.mark.parametrize("sentence", REWORDED, ids=lambda s: s.singular[:40])
@pytest.mark.parametrize("count", [1, 3, 5])
def test_an_old_row_reads_as_the_sentence_says_it_now(sentence, count):
    values = sample_values(sentence, count)
    [old_words] = sentence.formerly
    old_row = old_words % {name: str(value) for name, value in values.items()}
    with translation.override("en"):
        assert stored_text.shown(old_row) == sentence.stored(**values)
        assert "(s)" not in stored_text.shown(old_row)
    with translation.override("uk"):
        assert stored_text.shown(old_row) == sentence.shown(**values)
        assert stored_text.shown(sentence.stored(**values)) == sentence.shown(**values)


@pytest.mark.parametrize(
    ("count", "english", "ukrainian"),
    [
        (
            1,
            "1 part stopped at BSG, 0 not submitted cancelled, 0 refused by BSG.",
            "1 частину зупинено в BSG, скасовано непереданих: 0, BSG відмовив: 0.",
        ),
        (
            3,
            "3 parts stopped at BSG, 0 not submitted cancelled, 0 refused by BSG.",
            "3 частини зупинено в BSG, скасовано непереданих: 0, BSG відмовив: 0.",
        ),
        (
            11,
            "11 parts stopped at BSG, 0 not submitted cancelled, 0 refused by BSG.",
            "11 частин зупинено в BSG, скасовано непереданих: 0, BSG відмовив: 0.",
        ),
    ],
)
def test_a_stop_says_its_parts_in_their_plural(count, english, ukrainian):
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
                "Resumed: 3 held parts will be sent.",
                "Resumed: 1 held part will be sent.",
                "5 numbers",
            ],
        ),
        (
            "uk",
            [
                "Відновлено: 3 призупинені частини буде надіслано.",
                "Відновлено: 1 призупинену частину буде надіслано.",
                "5 номерів",
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
