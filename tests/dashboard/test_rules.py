"""The rules a page shows its buttons and notes by live on the models, and each is the rule its
service enforces: a button shows exactly when pressing it would be accepted."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, CampaignPart, SendPlan
from contacts.models import ContactImport, ContactList
from tests.dashboard.conftest import campaign, part

Status = Campaign.Status
ENDED = {Status.FINISHED, Status.STOPPED}


@pytest.mark.parametrize("status", Status.values)
def test_retry_failed_is_for_our_sms_campaigns_that_have_ended(status):
    sms = Campaign(channel=Campaign.Channel.SMS, status=status)
    assert sms.can_retry_failed is (status in ENDED)
    assert not Campaign(channel=Campaign.Channel.RCS, status=status).can_retry_failed
    foreign = Campaign(channel=Campaign.Channel.SMS, status=status, created_elsewhere=True)
    assert not foreign.can_retry_failed


def test_the_substring_test_it_replaces_also_said_yes_to_statuses_that_are_no_status():
    # `campaign.status in "finished stopped"` held for "" and for "stop" as well.
    assert "" in "finished stopped" and "stop" in "finished stopped"
    assert not Campaign(channel=Campaign.Channel.SMS, status="").can_retry_failed


@pytest.mark.parametrize("status", Status.values)
def test_failures_go_to_do_not_contact_from_our_campaigns_unless_they_are_sending(status):
    assert Campaign(status=status).can_add_failures_to_do_not_contact is (status != Status.SENDING)
    assert not Campaign(status=status, created_elsewhere=True).can_add_failures_to_do_not_contact


@pytest.mark.parametrize("status", Status.values)
def test_only_a_sending_campaign_resumes_held_parts_or_asks_bsg_to_stop(status):
    made = Campaign(status=status)
    assert made.is_sending is made.stop_asks_bsg is (status == Status.SENDING)
    assert made.is_cancelled is (status == Status.CANCELLED)


@pytest.mark.parametrize("status", Status.values)
def test_approval_is_asked_for_a_draft_and_given_while_it_waits(status):
    made = Campaign(status=status)
    assert made.can_request_approval is (status == Status.DRAFT)
    assert made.is_awaiting_approval is (status == Status.AWAITING_APPROVAL)


def test_an_approval_history_is_a_send_back_or_an_earlier_approval():
    assert not Campaign().has_approval_history
    assert Campaign(sent_back_reason="Typo in the link").has_approval_history
    assert Campaign(approval_snapshot={"text": "Hi"}).has_approval_history


@pytest.mark.parametrize("status", Status.values)
def test_back_to_draft_shows_exactly_when_the_service_takes_it_back(signed_in, status):
    made = campaign(status=status)
    body = signed_in.get(reverse("campaigns:detail", args=[made.pk])).content.decode()
    button = reverse("campaigns:unschedule", args=[made.pk]) in body
    assert button is made.can_go_back_to_draft
    try:
        services.campaign_unschedule(campaign_id=made.pk)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert accepted is made.can_go_back_to_draft


@pytest.mark.parametrize("created_elsewhere", [False, True], ids=["ours", "elsewhere"])
@pytest.mark.parametrize("status", Status.values)
def test_retry_failed_and_do_not_contact_buttons_follow_their_rules(
    signed_in, status, created_elsewhere
):
    made = campaign(status=status, created_elsewhere=created_elsewhere)
    part(made, state=CampaignPart.State.SUBMITTED, bsg_status="done")
    body = signed_in.get(reverse("campaigns:detail", args=[made.pk])).content.decode()
    assert (reverse("campaigns:retry-failed", args=[made.pk]) in body) is made.can_retry_failed
    dnc = reverse("campaigns:dnc-failures", args=[made.pk]) in body
    assert dnc is made.can_add_failures_to_do_not_contact
    recipients = signed_in.get(reverse("campaigns:recipients", args=[made.pk])).content.decode()
    retry = reverse("campaigns:retry-failed", args=[made.pk]) in recipients
    assert retry is made.can_retry_failed


def test_a_parts_note_is_the_stop_answer_else_its_error():
    State = CampaignPart.State
    # Submitting clears the error; the poll may then say the breakdown is missing.
    missing = "BSG gave no breakdown by status for this batch (HTTP 404)"
    assert CampaignPart(state=State.SUBMITTED, error=missing).note == missing
    assert CampaignPart(state=State.REJECTED, error="Sender not allowed").note == (
        "Sender not allowed"
    )
    stopped = CampaignPart(state=State.SUBMITTED, error="x", stop_answer="Stopped by BSG")
    assert stopped.note == "Stopped by BSG"


def test_a_send_plan_has_failed_only_when_it_failed():
    assert SendPlan(status=SendPlan.Status.FAILED).has_failed
    assert not any(
        SendPlan(status=status).has_failed
        for status in SendPlan.Status.values
        if status != SendPlan.Status.FAILED
    )


@pytest.mark.parametrize("status", ContactImport.Status.values)
def test_an_import_polls_while_a_worker_has_it_and_names_each_stage(status):
    made = ContactImport(status=status)
    S = ContactImport.Status
    assert made.is_working is (status in {S.READING, S.ANALYSING, S.QUEUED, S.RUNNING})
    assert made.is_analysing is (status == S.ANALYSING)
    assert made.is_queued is (status == S.QUEUED)
    assert made.awaits_confirmation is (status == S.READY)
    assert made.is_done is (status == S.DONE)
    assert made.is_cancelled is (status == S.CANCELLED)
    assert made.has_failed is (status == S.FAILED)
    # Never both polling and finished.
    assert not (made.is_working and made.is_finished)


def test_an_import_into_do_not_contact_says_so():
    assert ContactImport(target=ContactImport.Target.DO_NOT_CONTACT).is_into_do_not_contact
    assert not ContactImport(target=ContactImport.Target.CONTACTS).is_into_do_not_contact


@pytest.mark.parametrize("status", ContactList.PushStatus.values)
def test_a_lists_push_says_whether_it_ever_ran_and_how_it_ended(status):
    made = ContactList(push_status=status)
    P = ContactList.PushStatus
    assert made.was_ever_pushed is (status != P.NEVER)
    assert made.push_succeeded is (status == P.DONE)
    assert made.push_failed is (status == P.FAILED)
