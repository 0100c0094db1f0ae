"""A newcomer's report: words a marketer should not see on Ukrainian pages.

Audit keys ("import-applied", "list-create"), field names ("archived_at") and ISO moments
with microseconds ("2026-12-06T20:15:24.256033+00:00") were shown as they are stored; BSG's
statuses ("done", "creation") and counters ("not rcs user 0") as the API spells them.
"""

# Ukrainian text is what these tests check.
# ruff: noqa: RUF001
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.services import account_settings_update
from audit.services import audit_record
from campaigns import archive, services
from campaigns.models import Campaign, CampaignPart
from campaigns.selectors import _approval_shown
from campaigns.stored_text import (
    DISPATCH_AUDIT_IN_PARTS,
    PART_STATUS_CHANGED_WORDS,
    PARTS_COUNT,
    shown,
)
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
    account_settings_update(user=taras, language="uk")
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


def _finished_rcs_campaign() -> Campaign:
    campaign = Campaign.objects.create(
        name="Spring RCS",
        channel=Campaign.Channel.RCS,
        status=Campaign.Status.FINISHED,
        fallback_enabled=True,
        fallback_sender="Shop",
    )
    CampaignPart.objects.create(
        campaign=campaign,
        number=1,
        state=CampaignPart.State.SUBMITTED,
        bsg_campaign_id=53703401,
        bsg_status="done",
        recipients=4,
        sent=4,
        delivered=3,
        breakdown={
            "delivered": 3,
            "read": 2,
            "not_rcs_user": 1,
            "brand_new_status": 5,
            "fallback_sms_delivered": 1,
            "fallback_sms_not_viber_user": 1,
        },
    )
    return campaign


def test_bsgs_statuses_are_said_in_words(in_ukrainian, taras):
    campaign = _finished_rcs_campaign()
    url = reverse("campaigns:detail", args=[campaign.pk])
    html = in_ukrainian.get(url).content.decode()
    parts = html[html.index('id="parts"') :]
    assert "<td>Завершено</td>" in parts and "<td>done</td>" not in parts
    assert '<th scope="col">Пакет</th>' in parts  # a batch sent to BSG, as the plan says
    assert "Пакети, якими кампанію надіслано до BSG" in parts
    breakdown = html[html.index('id="breakdown"') : html.index('id="parts"')]
    assert "Доставлено" in breakdown and "Без RCS" in breakdown
    assert ">not rcs user<" not in breakdown
    # A status BSG adds tomorrow is shown as BSG spells it.
    assert "brand new status" in breakdown
    fallback = html[html.index('id="figure-fallback-sms"') :]
    assert "not viber user" not in fallback[:300] and "Без Viber" in fallback[:300]

    account_settings_update(user=taras, language="en")
    english = in_ukrainian.get(url).content.decode()
    assert "<td>Finished</td>" in english
    assert '<th scope="col">Batch</th>' in english
    assert "Not RCS users" in english[english.index('id="breakdown"') :]


def test_a_parts_status_change_is_stored_in_words_and_shown_in_ukrainian():
    stored = PART_STATUS_CHANGED_WORDS.stored(number=1, before="Being prepared", after="Finished")
    assert stored == "Batch 1: Being prepared → Finished."
    with translation.override("uk"):
        assert shown(stored) == "Пакет 1: Готується → Завершено."


def test_the_test_phones_are_named_as_the_ukrainian_admin_names_them(in_ukrainian):
    campaign = Campaign.objects.create(name="Spring sale", text="Hi", sender="Shop")
    html = in_ukrainian.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    said = html[html.index('id="no-test-phones"') :]
    assert "Адміністрування → Тестові телефони" in said[:400]
    admin = in_ukrainian.get(reverse("admin:index")).content.decode()
    assert "Тестові телефони" in admin and "Кампанії" in admin


def test_a_draft_without_a_name_is_named_in_its_authors_format(taras):
    with translation.override("uk"):
        draft = services.campaign_save(campaign=Campaign(), list_ids=[], user=taras)
    assert re.fullmatch(r"Чернетка від \d\d\.\d\d\.\d{4} \d\d:\d\d", draft.name), draft.name
    with translation.override("en"):
        draft = services.campaign_save(campaign=Campaign(), list_ids=[], user=taras)
    assert re.fullmatch(r"Draft of \d{4}-\d\d-\d\d \d\d:\d\d", draft.name), draft.name


def test_rcs_cards_in_the_history_are_a_count_and_titles_not_program_data(in_ukrainian, taras):
    spring = {"title": "Весняна знижка, {name}", "text": "Усе -20% у {city}", "buttons": []}
    last = {"title": "Last call", "text": "Ends tonight"}
    campaign = Campaign.objects.create(name="Spring RCS", channel=Campaign.Channel.RCS)
    audit_record(
        action="campaign-create",
        target=campaign,
        actor=taras,
        changes={"rcs_cards": [[], [spring]]},
    )
    audit_record(
        action="campaign-update",
        target=campaign,
        actor=taras,
        changes={"rcs_cards": [[spring], [spring, last]]},
    )
    url = reverse("campaigns:detail", args=[campaign.pk])
    history = _history(in_ukrainian.get(url).content.decode())
    assert "{&#x27;title&#x27;" not in history and "{'title'" not in history
    assert "1 картка: Весняна знижка, {name}" in history
    assert "2 картки: Весняна знижка, {name}, Last call" in history
    account_settings_update(user=taras, language="en")
    history = _history(in_ukrainian.get(url).content.decode())
    assert "RCS cards: 1 card: Весняна знижка, {name} → 2 cards:" in history


@pytest.mark.parametrize(
    ("count", "english", "ukrainian"),
    [(1, "1 number", "1 номер"), (2, "2 numbers", "2 номери"), (5, "5 numbers", "5 номерів")],
)
def test_counts_read_right_in_english_and_in_ukrainians_three_forms(count, english, ukrainian):
    numbers = [f"38050000000{i}" for i in range(count)]
    with translation.override("en"):
        assert _approval_shown("pasted_numbers", numbers) == english
    with translation.override("uk"):
        assert _approval_shown("pasted_numbers", numbers) == ukrainian


def test_the_history_leaves_out_a_change_that_reads_the_same(in_ukrainian, taras):
    campaign = Campaign.objects.create(name="Spring sale", text="Hi", sender="Shop")
    audit_record(
        action="campaign-approve",
        target=campaign,
        actor=taras,
        changes={"approval_send_at": [None, ""], "sender": ["Shop", "Market"]},
    )
    account_settings_update(user=taras, language="en")
    html = in_ukrainian.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    history = _history(html)
    assert "Sender: Shop → Market" in history
    assert "as soon as approved → as soon as approved" not in history


def test_before_sending_the_panel_shows_no_zeros_beside_the_plans_count(in_ukrainian, taras):
    account_settings_update(user=taras, language="en")
    campaign = Campaign.objects.create(
        name="Spring sale", text="Hi", sender="Shop", status=Campaign.Status.AWAITING_APPROVAL
    )
    html = in_ukrainian.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    panel = html[html.index('id="engine-panel"') :]
    assert 'id="figure-recipients"' not in panel
    assert "Nothing has been sent yet" in panel
    assert "Start</dt><dd>as soon as it is approved" in html


JARGON = ("group methods", "BSG field id", "IANA", "one BSG campaign each", "BSG status", "cron")


def test_marketer_pages_say_bsgs_api_in_plain_words(in_ukrainian, taras):
    account_settings_update(user=taras, language="en")
    spring = contacts.contact_list_create(name="Spring")
    campaign = _finished_rcs_campaign()
    pages = {
        "list": reverse("contacts:list-detail", args=[spring.pk]),
        "detail": reverse("campaigns:detail", args=[campaign.pk]),
        "compose": reverse("campaigns:new", args=["sms"]),
        "schedules": reverse("campaigns:schedules"),
    }
    for name, url in pages.items():
        # The form's own value for the choice is not shown.
        html = in_ukrainian.get(url).content.decode().replace('value="cron"', "")
        # BSG's own names stay in the "As sent to BSG" disclosure, for whoever compares.
        if 'id="as-sent-to-bsg"' in html:
            start = html.index('id="as-sent-to-bsg"')
            html = html[:start] + html[html.index("</details>", start) :]
        for jargon in JARGON:
            assert jargon not in html, (name, jargon)
    detail = in_ukrainian.get(pages["detail"]).content.decode()
    assert "Status at BSG" in detail and "Number at BSG" in detail


@pytest.mark.parametrize(
    ("recipients", "parts", "english", "ukrainian"),
    [
        (1, 1, "1 recipient in 1 batch.", "1 отримувач, 1 пакет."),
        (3, 2, "3 recipients in 2 batches.", "3 отримувачі, 2 пакети."),
        (5, 5, "5 recipients in 5 batches.", "5 отримувачів, 5 пакетів."),
    ],
)
def test_a_dispatch_says_each_count_in_its_own_plural(recipients, parts, english, ukrainian):
    stored = DISPATCH_AUDIT_IN_PARTS.stored(
        recipients=recipients, in_parts=PARTS_COUNT.stored(count=parts)
    )
    assert stored == english
    with translation.override("uk"):
        assert shown(stored) == ukrainian
