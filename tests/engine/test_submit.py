"""Dispatch, submit and reconcile against the live sandbox, with its fault injection."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from bsg import rules
from campaigns import selectors
from campaigns.engine import dispatch, ledger, reconcile, submit, sweep
from campaigns.models import Campaign, CampaignEvent, CampaignPart, Recipient
from sandbox.faults import Faults
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State
pytestmark = pytest.mark.django_db


def sandbox_refs(sandbox) -> list[str]:
    return [ref for c in sandbox.state.campaigns for ref in c["reference_ids"]]


def test_the_ledger_holds_each_recipient_once_without_do_not_contact(audience, engine_settings):
    campaign = ready_campaign(
        sms_mode=Campaign.SmsMode.INDIVIDUAL,
        text="Hi {first_name}",
        pasted_numbers="",
        lists=[audience["spring"], audience["vip"]],
    )
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.recipients == 3
    rows = list(Recipient.objects.filter(campaign=campaign).order_by("seq"))
    assert [r.phone for r in rows] == ["380501111111", "380502222222", "380503333333"]
    assert [r.text for r in rows] == ["Hi Olena", "Hi Ivan", "Hi Petro"]
    assert all(r.sms_parts == 1 for r in rows)
    references = [r.reference_id for r in rows]
    assert len(set(references)) == 3
    assert all(re.fullmatch(r"[a-zA-Z0-9]{1,32}", ref) for ref in references)
    # Deterministic: the same campaign and position always give the same reference id.
    salt = ledger.installation_salt()
    assert references[1] == ledger.reference_id_for(salt=salt, campaign_id=campaign.pk, seq=1)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    # A second dispatch (a redelivered task) does nothing.
    assert dispatch.campaign_dispatch(campaign_id=campaign.pk) is None
    assert Recipient.objects.filter(campaign=campaign).count() == 3


def test_the_ledger_counts_each_rendered_text_exactly(engine_settings):
    """The engine counts through the send plan's shape cache: recipients whose values share a
    shape share a count, and every stored count is the exact count of the stored text."""
    from bsg import smstext
    from contacts.models import Contact, ContactField, ContactList, ListMembership

    ContactField.objects.create(key="first_name", label="First name")
    contact_list = ContactList.objects.create(name="Mixed")
    names = ["Olena", "Ivana", "O\u2019Brien", "Олена", "A{b}c", "A" * 150, "", "Zoë"]
    for i, name in enumerate(names):
        contact = Contact.objects.create(phone=f"38050900000{i}", fields={"first_name": name})
        ListMembership.objects.create(contact_list=contact_list, contact=contact)
    campaign = ready_campaign(
        sms_mode=Campaign.SmsMode.INDIVIDUAL,
        text="Hi {first_name}, 20% off [today]. Reply STOP",
        pasted_numbers="",
        lists=[contact_list],
    )
    assert dispatch.campaign_dispatch(campaign_id=campaign.pk).recipients == len(names)
    rows = Recipient.objects.filter(campaign=campaign).order_by("seq")
    assert [r.text for r in rows] == [f"Hi {name}, 20% off [today]. Reply STOP" for name in names]
    assert [r.sms_parts for r in rows] == [smstext.analyse(r.text).parts for r in rows]
    assert sorted({r.sms_parts for r in rows}) == [1, 2]


def test_big_audiences_are_split_into_parts(engine_settings, sandbox, monkeypatch):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 10)
    campaign = ready_campaign(pasted_numbers=numbers(25))
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    parts = list(CampaignPart.objects.filter(campaign=campaign))
    assert [p.recipients for p in parts] == [10, 10, 5]
    for part_id in result.part_ids:
        assert submit.part_submit(part_id=part_id).state == State.SUBMITTED
    created = sandbox.state.campaigns
    assert sorted(c["message_count"] for c in created) == [5, 10, 10]
    assert selectors.campaign_totals(campaign_id=campaign.pk)["recipients"] == 25


def test_a_part_is_submitted_once_however_often_it_is_asked(engine_settings, sandbox):
    campaign = ready_campaign()
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    outcome = submit.part_submit(part_id=part_id)
    assert outcome.state == State.SUBMITTED
    assert submit.part_submit(part_id=part_id) is None
    part = CampaignPart.objects.get(pk=part_id)
    assert part.bsg_campaign_id == sandbox.state.campaigns[0]["id"]
    assert len(sandbox.state.campaigns) == 1
    assert sorted(sandbox_refs(sandbox)) == sorted(
        Recipient.objects.filter(part=part).values_list("reference_id", flat=True)
    )


def test_bsg_refusal_is_kept_with_its_message(engine_settings, sandbox):
    campaign = ready_campaign(sender="")
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    assert submit.part_submit(part_id=part_id).state == State.REJECTED
    part = CampaignPart.objects.get(pk=part_id)
    assert "sender" in part.error
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED
    assert sandbox.state.campaigns == []


def test_unavailable_bsg_is_retried_later_and_nothing_is_created(engine_settings, sandbox):
    campaign = ready_campaign()
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    sandbox.set_faults(Faults(error_5xx=1.0, path_prefix="/api/campaigns/sms", seed=1))
    outcomes = set()
    for _ in range(4):
        CampaignPart.objects.filter(pk=part_id).update(next_attempt_at=None, state=State.PENDING)
        outcomes.add(submit.part_submit(part_id=part_id).state)
    # 503 goes back to pending; 500/502/504 on a POST may have been accepted: unconfirmed.
    assert outcomes <= {State.PENDING, State.UNCONFIRMED}
    assert sandbox.state.campaigns == []


def test_an_answer_that_never_came_is_reconciled_not_resent(engine_settings, sandbox):
    campaign = ready_campaign()
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    # BSG creates the campaign, then never answers.
    sandbox.set_faults(Faults(hang=1.0, path_prefix="/api/campaigns/sms", hang_timeout=5))
    assert submit.part_submit(part_id=part_id).state == State.UNCONFIRMED
    sandbox.set_faults(Faults())
    outcome = reconcile.part_reconcile(part_id=part_id)
    assert outcome.state == State.SUBMITTED
    part = CampaignPart.objects.get(pk=part_id)
    assert [c["id"] for c in sandbox.state.campaigns] == [part.bsg_campaign_id]
    assert CampaignEvent.objects.filter(campaign=campaign, kind="reconciled").exists()


def test_a_late_processed_request_is_found_not_sent_twice(engine_settings, sandbox):
    campaign = ready_campaign()
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    # The answer times out first; BSG processes the request a moment later.
    sandbox.set_faults(Faults(slow=1.0, slow_delay=0.9, path_prefix="/api/campaigns/sms"))
    assert submit.part_submit(part_id=part_id).state == State.UNCONFIRMED
    sandbox.set_faults(Faults())
    # Within the grace period, "not found" does not mean "not sent".
    early = reconcile.part_reconcile(part_id=part_id)
    assert early.state in (State.UNCONFIRMED, State.SUBMITTED)
    deadline = time.monotonic() + 10
    while CampaignPart.objects.get(pk=part_id).state == State.UNCONFIRMED:
        assert time.monotonic() < deadline
        time.sleep(0.2)
        reconcile.part_reconcile(part_id=part_id)
    assert CampaignPart.objects.get(pk=part_id).state == State.SUBMITTED
    assert len(sandbox.state.campaigns) == 1


def test_a_request_bsg_never_processed_is_sent_again_after_the_grace(engine_settings, sandbox):
    campaign = ready_campaign()
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    sandbox.set_faults(Faults(drop=1.0, path_prefix="/api/campaigns/sms"))
    assert submit.part_submit(part_id=part_id).state == State.UNCONFIRMED
    sandbox.set_faults(Faults())
    assert reconcile.part_reconcile(part_id=part_id).state == State.UNCONFIRMED
    CampaignPart.objects.filter(pk=part_id).update(
        last_attempt_at=CampaignPart.objects.get(pk=part_id).last_attempt_at - timedelta(seconds=5)
    )
    assert reconcile.part_reconcile(part_id=part_id).state == State.PENDING
    assert submit.part_submit(part_id=part_id).state == State.SUBMITTED
    assert len(sandbox.state.campaigns) == 1


def test_a_resend_refused_as_duplicate_is_reconciled_not_rejected(engine_settings, sandbox):
    campaign = ready_campaign()
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    sandbox.set_faults(Faults(hang=1.0, path_prefix="/api/campaigns/sms", hang_timeout=5))
    submit.part_submit(part_id=part_id)
    sandbox.set_faults(Faults())
    # As if a person resumed it without a lookup: BSG refuses the reference ids it holds.
    CampaignPart.objects.filter(pk=part_id).update(state=State.PENDING)
    time.sleep(2.1)  # past the sandbox's duplicate-request window
    assert submit.part_submit(part_id=part_id).state == State.UNCONFIRMED
    assert reconcile.part_reconcile(part_id=part_id).state == State.SUBMITTED
    assert len(sandbox.state.campaigns) == 1


def test_groups_mode_refuses_lists_holding_do_not_contact_numbers(audience, engine_settings):
    campaign = ready_campaign(
        sms_mode=Campaign.SmsMode.GROUPS,
        text="Hi {first_name}",
        pasted_numbers="",
        lists=[audience["spring"]],
    )
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert "do-not-contact" in result.refused
    part = CampaignPart.objects.get(campaign=campaign)
    assert part.state == State.REJECTED
    assert "To contact lists" in part.error


def test_a_worker_lost_mid_submit_leaves_the_part_unconfirmed_then_settled(
    engine_settings, sandbox
):
    campaign = ready_campaign()
    (part_id,) = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    # The state a SIGKILL leaves behind: claimed, request maybe sent, nothing recorded.
    sandbox.set_faults(Faults(hang=1.0, path_prefix="/api/campaigns/sms", hang_timeout=5))
    submit.part_submit(part_id=part_id)
    sandbox.set_faults(Faults())
    CampaignPart.objects.filter(pk=part_id).update(
        state=State.SUBMITTING, last_attempt_at=timezone.now() - timedelta(seconds=60)
    )
    report = sweep.engine_sweep(enqueue=False)
    assert report.stuck == [part_id]
    assert part_id in report.reconcile
    assert reconcile.part_reconcile(part_id=part_id).state == State.SUBMITTED
    assert len(sandbox.state.campaigns) == 1
