# The Ukrainian is the point of some of these tests: their Cyrillic letters are meant.
# ruff: noqa: RUF001
"""What the campaign page and the home page say about a campaign's BSG batches says "batch", as
the send plan's "Batches sent to BSG" does ("SMS parts" are another thing), and names each batch
once: a reason that already names its batch ("Batch 2: BSG refused it…") is not put after
"Batch 2 (held):" again."""

import pytest
from django.urls import reverse
from django.utils import translation

from campaigns.engine import resume
from campaigns.history import campaign_history
from campaigns.models import Campaign, CampaignPart
from campaigns.stored_text import HELD_BALANCE, PART_NOT_SENT, PART_REFUSED
from tests.dashboard.conftest import campaign, part, sending

pytestmark = pytest.mark.django_db

REFUSED = PART_REFUSED.stored(number=2, refusal="Invalid sender")
BALANCE = HELD_BALANCE.stored(number=3, cost="12.50", currency="UAH", balance="1.00")


def attention_on_detail(client, made: Campaign) -> str:
    body = client.get(reverse("campaigns:detail", args=[made.pk])).content.decode()
    return body.split('id="needs-attention"', 1)[1].split("</div>", 1)[0]


def attention_on_home(client) -> str:
    body = client.get(reverse("campaigns:home")).content.decode()
    return body.split('id="attention"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
def stuck() -> Campaign:
    made = sending(name="Stuck")
    part(made, number=2, state=CampaignPart.State.HELD, error=REFUSED)
    part(made, number=3, state=CampaignPart.State.HELD, error=BALANCE)
    part(made, number=4, state=CampaignPart.State.HELD, error="Held: balance low")
    return made


def test_a_reason_that_names_its_batch_is_not_preceded_by_the_batch_again(signed_in, stuck):
    lines = attention_on_detail(signed_in, stuck)
    assert "Batch 2: BSG refused it: Invalid sender" in lines
    assert "Held: batch 3 would cost about 12.50 UAH" in lines
    assert "Batch 2 (held)" not in lines and "Batch 3 (held)" not in lines
    # A reason that names no batch still says which one it is.
    assert "Batch 4 (held): Held: balance low" in lines
    home = attention_on_home(signed_in)
    assert "Stuck</a>:" in home and "Batch 2: BSG refused it: Invalid sender" in home
    assert "batch 2:" not in home and "batch 3:" not in home
    assert "Stuck</a>, batch 4:" in home


def test_in_ukrainian_the_batch_is_named_once_too(signed_in, stuck):
    signed_in.cookies["django_language"] = "uk"
    lines = attention_on_detail(signed_in, stuck)
    assert "Пакет 2: BSG його відхилив: Invalid sender" in lines
    assert "Пакет 2 (" not in lines and "Пакет 3 (" not in lines
    assert "Пакет 4 (призупинено): Held: balance low" in lines
    home = attention_on_home(signed_in)
    assert "Пакет 2: BSG його відхилив" in home and "пакет 2:" not in home


def test_another_batchs_number_in_the_reason_does_not_count_as_naming_it(signed_in):
    made = sending(name="Odd")
    error = PART_NOT_SENT.stored(number=7, attempts=3, error="timeout")
    part(made, number=2, state=CampaignPart.State.NEEDS_ATTENTION, error=error)
    assert "Batch 2 (needs attention): Batch 7: not sent" in attention_on_detail(signed_in, made)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "no batch is held or waiting for a decision."),
        ("uk", "жоден пакет не призупинений і не чекає рішення."),
    ],
)
def test_an_empty_inbox_says_no_batch_is_held(signed_in, language, said):
    signed_in.cookies["django_language"] = language
    assert said in signed_in.get(reverse("campaigns:home")).content.decode()


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Waiting for the engine to resolve the recipients into batches…"),
        ("uk", "Чекаємо, поки система розподілить одержувачів на пакети…"),
    ],
)
def test_a_campaign_being_resolved_waits_for_its_batches(signed_in, language, said):
    signed_in.cookies["django_language"] = language
    made = campaign(status="ready")
    body = signed_in.get(reverse("campaigns:detail", args=[made.pk])).content.decode()
    assert said in body


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "big audiences go out in batches of 5,000."),
        ("uk", "великі аудиторії йдуть пакетами по 5 000."),
    ],
)
def test_the_rcs_composer_says_big_audiences_go_out_in_batches(signed_in, language, said):
    signed_in.cookies["django_language"] = language
    body = signed_in.get(reverse("campaigns:new", args=["rcs"])).content.decode()
    assert said in body


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "Batch 2: Held → Resumed"), ("uk", "Пакет 2: Призупинено → Відновлено")],
)
def test_the_history_says_a_resumed_batch_as_a_batch(boss, language, said):
    made = sending(name="Stuck")
    held = part(made, number=2, state=CampaignPart.State.HELD, error="Held: balance low")
    assert resume.part_resume(part_id=held.pk, user=boss)
    with translation.override(language):
        (entry,) = [e for e in campaign_history(campaign=made) if e.action == "part-resume"]
    # The log keeps the key it has always written ("part 2"); only its words changed.
    assert entry.lines == (said,)
