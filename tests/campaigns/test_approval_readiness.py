"""A newcomer's report: a draft saved with no sender and no list offered "Ask for approval" on
its detail page, and said what was missing only after that click. The page now lists, before
anyone asks, what the request would refuse (campaigns.approval.campaign_approval_problems, the
check the request itself runs), each step linking to where it is fixed, and the buttons wait."""

# ruff: noqa: RUF001  (Ukrainian words in the assertions)
import html
import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.services import account_settings_update
from campaigns import approval, services
from campaigns.models import Campaign
from campaigns.views.approval import MISSING_STEP_ACTIONS
from contacts.models import Contact, ContactList, ListMembership
from tests.campaigns.conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def spring(db) -> ContactList:
    spring = ContactList.objects.create(name="Spring")
    for phone in ("380501111111", "380502222222"):
        contact = Contact.objects.create(phone=phone, name="Olena")
        ListMembership.objects.create(contact_list=spring, contact=contact)
    return spring


def newcomers_draft(**values) -> Campaign:
    """Saved from the composer with a text and nothing else chosen."""
    draft = make_campaign(
        **{"name": "Newcomer's first", "text": "Spring sale: -20%", "sender": "", **values}
    )
    draft.save()
    return draft


def missing_block(page: str) -> str:
    found = re.search(r'<div class="missing-steps" id="approval-missing">(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def button(page: str, button_id: str) -> str:
    return re.search(rf'<button type="submit"[^>]* id="{button_id}"[^>]*>', page).group(0)


def detail(client, campaign: Campaign) -> str:
    return client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()


def test_a_draft_without_sender_or_list_says_what_is_missing_and_the_button_waits(author):
    campaign = newcomers_draft()
    page = detail(author, campaign)
    missing = missing_block(page)
    edit = reverse("campaigns:edit", args=[campaign.pk])
    assert missing.startswith("\n      <p><strong>Before asking for approval:</strong></p>")
    assert f'<a href="{edit}#field-sender">Choose a sender</a>' in missing
    assert f'<a href="{edit}#field-lists">Choose who receives it</a>' in missing
    assert "Choose at least one contact list." in missing
    ask = button(page, "ask-approval")
    assert " disabled " in ask and 'aria-describedby="approval-missing"' in ask
    assert 'title="First do what is listed above."' in ask

    # Each link leads to the field, marked with the same words.
    composer = author.get(edit).content.decode()
    for field in ("sender", "lists"):
        assert f'id="field-{field}"' in composer
    assert "Choose at least one contact list." in composer


def test_the_page_lists_exactly_what_the_request_refuses_which_still_refuses_it(author):
    campaign = newcomers_draft()
    missing = missing_block(detail(author, campaign))
    problems = approval.campaign_approval_problems(campaign=campaign, when=None)
    assert set(problems.errors) == {"sender", "lists"}
    for message in problems.all_messages():
        assert message in missing

    # A POST without the button (an old tab, a script) is refused by the server, saying the same.
    response = author.post(
        reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"}
    )
    said = " ".join(str(message) for message in get_messages(response.wsgi_request))
    for message in problems.all_messages():
        assert message in said
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_a_complete_draft_waits_for_its_send_plan_then_may_ask(author, spring, bsg_settings):
    campaign = newcomers_draft(sender="Shop")
    campaign.lists.set([spring])
    missing = missing_block(detail(author, campaign))
    assert '<a href="#send-plan">Compute the send plan</a>' in missing
    assert "Choose" not in missing

    services.send_plan_request(campaign_id=campaign.pk, user=None)
    page = detail(author, campaign)
    assert 'id="approval-missing"' not in page
    assert "disabled" not in button(page, "ask-approval")
    author.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL


def test_a_start_time_that_passed_holds_only_the_schedule_button(author, spring, bsg_settings):
    campaign = newcomers_draft(sender="Shop", start_at=timezone.now() + timedelta(hours=2))
    campaign.lists.set([spring])
    services.send_plan_request(campaign_id=campaign.pk, user=None)
    page = detail(author, campaign)
    assert 'id="approval-missing"' not in page
    assert "disabled" not in button(page, "ask-approval-schedule")
    # Left open past its start time.
    Campaign.objects.filter(pk=campaign.pk).update(start_at=timezone.now() - timedelta(hours=2))
    page = detail(author, campaign)
    edit = reverse("campaigns:edit", args=[campaign.pk])
    missing = missing_block(page)
    assert f'<a href="{edit}#field-start_at">Choose a start time</a>' in missing
    assert "That moment has passed" in missing
    assert "disabled" not in button(page, "ask-approval")
    assert " disabled " in button(page, "ask-approval-schedule")


def test_every_step_leads_to_a_place_the_composer_or_the_page_has(author):
    sms = newcomers_draft()
    rcs = newcomers_draft(channel=Campaign.Channel.RCS)
    composers = author.get(reverse("campaigns:edit", args=[sms.pk])).content.decode()
    composers += author.get(reverse("campaigns:edit", args=[rcs.pk])).content.decode()
    for key in MISSING_STEP_ACTIONS:
        if key == services.SEND_PLAN_PROBLEM:
            assert 'id="send-plan"' in detail(author, sms)
        elif key == "rcs_cards":
            assert 'id="card-editor"' in composers
        else:
            assert f'id="field-{key}"' in composers, key


def test_the_missing_steps_speak_ukrainian(author, user):
    account_settings_update(user=user, language="uk")
    campaign = newcomers_draft()
    page = detail(author, campaign)
    missing = missing_block(page)
    assert "Перш ніж надсилати на погодження:" in missing
    assert "Виберіть відправника</a>" in missing
    assert "Виберіть, хто її отримає</a>" in missing
    assert "Виберіть хоча б один список контактів." in missing
    assert 'title="Спершу зробіть те, що перелічено вище."' in button(page, "ask-approval")


def test_computing_the_plan_on_the_detail_page_brings_the_approval_panel_along(
    author, spring, bsg_settings
):
    campaign = newcomers_draft(sender="Shop")
    campaign.lists.set([spring])
    panel = author.post(
        reverse("campaigns:plan", args=[campaign.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert 'id="plan-recipients"' in panel
    assert '<div id="approval-panel" hx-swap-oob="true">' in panel
    assert 'id="approval-missing"' not in panel
    assert "disabled" not in button(panel, "ask-approval")

    # The composer's own panel brings its buttons instead.
    composer = author.post(
        reverse("campaigns:plan", args=[campaign.pk]) + "?page=composer",
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "approval-panel" not in composer and 'id="compose-buttons"' in composer
