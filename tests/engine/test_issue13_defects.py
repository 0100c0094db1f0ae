"""Defects that an independent BSG fake and a reviewer found in the engine (issue 13).

Each test here failed before its fix."""

import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from bsg import rules
from campaigns.checks import campaign_check
from campaigns.engine import dispatch, ledger, poll, reconcile, stop, submit, sweep
from campaigns.models import Campaign, CampaignEvent, CampaignPart, Recipient
from contacts.models import Contact, ContactList, ListMembership
from sandbox.faults import Faults
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State
pytestmark = pytest.mark.django_db


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_an_unconfirmed_part_waits_out_five_minutes_of_unreachable_bsg(bsg_settings, sandbox):
    """1. The sweep asked for a reconcile every 15 s and each spent a try: ten tries in 150 s,
    then "needs attention". Tries now wait for the next-attempt time kept in the database."""
    bsg_settings.ENGINE_RECONCILE_GRACE = 30
    bsg_settings.ENGINE_BACKOFF_BASE = 5.0
    bsg_settings.ENGINE_BACKOFF_MAX = 300.0
    bsg_settings.ENGINE_RECONCILE_MAX_TRIES = 10
    campaign = ready_campaign(pasted_numbers=numbers(3))
    [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    started = timezone.now()
    # The POST got no answer (it never reached BSG): the part is unconfirmed.
    CampaignPart.objects.filter(pk=part_id).update(
        state=State.UNCONFIRMED, outcome_was_unknown=True, attempts=1, last_attempt_at=started
    )
    sandbox_url = bsg_settings.BSG_API_URL
    bsg_settings.BSG_API_URL = _closed_port_url()
    lookups = 0
    for seconds in range(15, 301, 15):  # the beat's sweep, every 15 s for 5 minutes
        now = started + timedelta(seconds=seconds)
        for due in sweep.engine_sweep(now=now, enqueue=False).reconcile:
            reconcile.part_reconcile(part_id=due, now=now)
            lookups += 1
        assert CampaignPart.objects.get(pk=part_id).state == State.UNCONFIRMED, seconds
    assert lookups < 10
    bsg_settings.BSG_API_URL = sandbox_url
    for seconds in range(315, 1800, 15):
        now = started + timedelta(seconds=seconds)
        report = sweep.engine_sweep(now=now, enqueue=False)
        for due in report.reconcile:
            reconcile.part_reconcile(part_id=due, now=now)
        for due in report.submit:
            submit.part_submit(part_id=due, now=now)
        if CampaignPart.objects.get(pk=part_id).state == State.SUBMITTED:
            break
    assert CampaignPart.objects.get(pk=part_id).state == State.SUBMITTED
    assert len(sandbox.state.campaigns) == 1  # sent once, after BSG said it held none


def test_two_stops_at_once_call_bsg_once(engine_settings, sandbox, monkeypatch):
    """6. The SENDING→STOPPED update ignored its row count: a second Stop that read the
    campaign before the first one's update stopped every part at BSG again."""
    campaign = ready_campaign(pasted_numbers=numbers(3))
    [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    submit.part_submit(part_id=part_id)
    as_read_by_the_second_stop = Campaign.objects.get(pk=campaign.pk)
    stop.campaign_stop(campaign_id=campaign.pk)
    stops_at_bsg = [r for r in sandbox.state.requests if r["path"].endswith("/stop")]
    assert len(stops_at_bsg) == 1
    # The second request read the campaign while it was still sending.
    monkeypatch.setattr(Campaign.objects, "get", lambda **_: as_read_by_the_second_stop)
    with pytest.raises(ValidationError, match="stopped a moment ago"):
        stop.campaign_stop(campaign_id=campaign.pk)
    assert len([r for r in sandbox.state.requests if r["path"].endswith("/stop")]) == 1


def test_the_poll_lists_at_most_bsgs_three_months(engine_settings, sandbox):
    """8. The campaign-list window ran from the oldest live part; past BSG's 3 months BSG
    refuses it and every part was then read one call at a time, every cycle."""
    campaign = ready_campaign(pasted_numbers=numbers(3))
    [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    submit.part_submit(part_id=part_id)
    for index in range(3):
        other = ready_campaign(name=f"Other {index}", pasted_numbers=numbers(1, start=10 + index))
        [other_part] = dispatch.campaign_dispatch(campaign_id=other.pk).part_ids
        submit.part_submit(part_id=other_part)
    # The first part was sent long ago (a stopped campaign whose reports can still come).
    CampaignPart.objects.filter(pk=part_id).update(
        submitted_at=timezone.now() - timedelta(days=100)
    )
    sandbox.state.clock.freeze()
    before = len(sandbox.state.requests)
    report = poll.engine_poll()
    asked = [r for r in sandbox.state.requests[before:] if "auth" not in r["path"]]
    listed = [r for r in asked if r["path"] == "/api/campaigns"]
    assert listed and all(r["status"] == 200 for r in listed), listed
    assert report.parts == 4
    # One page of the list holds all four: none is read on its own (E7).
    one_by_one = [r["path"] for r in asked if re.fullmatch(r"/api/campaigns/\d+", r["path"])]
    assert len(listed) == 1 and one_by_one == []


def test_a_part_bsg_gives_no_detail_for_still_finishes(engine_settings, sandbox):
    """4. When E8 (detail) failed for a part BSG lists as done, the campaign stayed "Sending"
    and every poll asked for the detail again, without limit. Now it finishes on BSG's totals
    after a bounded number of polls, and says the breakdown is missing."""
    engine_settings.ENGINE_DETAIL_MAX_TRIES = 3
    campaign = ready_campaign(pasted_numbers=numbers(3))
    [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    submit.part_submit(part_id=part_id)
    bsg_id = CampaignPart.objects.get(pk=part_id).bsg_campaign_id
    sandbox.set_faults(Faults(error_5xx=1.0, path_prefix=f"/api/campaigns/{bsg_id}/detail"))
    detail_calls = 0
    for _ in range(40):
        before = len(sandbox.state.requests)
        poll.engine_poll()
        detail_calls += sum(r["path"].endswith("/detail") for r in sandbox.state.requests[before:])
        if Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.FINISHED:
            break
        time.sleep(0.05)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.FINISHED
    assert detail_calls == 3
    part = CampaignPart.objects.get(pk=part_id)
    assert part.bsg_status == "done" and part.finished_at is not None and not part.breakdown
    assert "no breakdown by status" in part.error
    assert part.sent == 3  # BSG's own totals for the campaign
    # Finished parts are not polled again.
    before = len(sandbox.state.requests)
    poll.engine_poll()
    assert not any(r["path"].endswith("/detail") for r in sandbox.state.requests[before:])


def test_a_dispatch_that_fails_needs_attention_and_is_not_retried(
    engine_settings, sandbox, client, user
):
    """2. A reference id used twice failed the ledger's unique constraint; the dispatch rolled
    back and the sweep took the campaign again every 15 s, for ever, while the page said
    "Waiting for the engine to resolve the recipients…"."""
    campaign = ready_campaign(pasted_numbers="+380507000001 = same\n+380507000002 = same")
    assert dispatch.campaign_dispatch(campaign_id=campaign.pk) is None
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    assert "could not be resolved" in campaign.dispatch_error
    assert campaign.events.filter(kind=CampaignEvent.Kind.NEEDS_ATTENTION).exists()
    later = timezone.now() + timedelta(hours=1)
    report = sweep.engine_sweep(now=later, enqueue=False)
    assert campaign.pk not in report.dispatched and report.submit == []
    assert dispatch.campaign_dispatch(campaign_id=campaign.pk, now=later) is None
    assert sandbox.state.campaigns == []
    # The page says so, in place of "Waiting for the engine…", and stops polling.
    client.force_login(user)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="dispatch-failed"' in page and "could not be resolved" in page
    assert "Waiting for the engine" not in page and "every 5s" not in page
    # A person can stop it; BSG was never called.
    assert stop.campaign_stop(campaign_id=campaign.pk).stopped == []


@pytest.fixture
def big_list(db):
    contact_list = ContactList.objects.create(name="Everyone", bsg_group_id=902)
    contacts = Contact.objects.bulk_create(
        Contact(phone=f"38067{1000000 + index}", name=f"C{index}") for index in range(1_001)
    )
    ListMembership.objects.bulk_create(
        ListMembership(contact_list=contact_list, contact=contact) for contact in contacts
    )
    return contact_list


def test_a_groups_campaign_over_bsgs_limit_is_refused_with_a_way_out(
    engine_settings, sandbox, big_list, monkeypatch
):
    """3. sms/send-groups to lists of more than 10,000 contacts went out as one request; BSG
    takes at most 10,000 contacts a campaign (sms-send-groups.txt). A group cannot be split,
    so it is refused, at the composer's check and at dispatch, pointing to "To contact lists"
    (which sends in parts)."""
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 1_000)  # 1,001 contacts: one too many
    campaign = ready_campaign(sms_mode=Campaign.SmsMode.GROUPS, pasted_numbers="", lists=[big_list])
    problems = campaign_check(
        campaign=campaign, list_ids=[big_list.pk], when=None, schedule=False, now=timezone.now()
    )
    assert "“To contact lists, personalised here”" in problems.errors["sms_mode"][0]
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    part = campaign.parts.get()
    assert campaign.status == Campaign.Status.FINISHED and part.state == State.REJECTED
    assert "1,001 contacts" in part.error
    assert sandbox.state.campaigns == []


def test_the_ledger_is_written_in_bounded_transactions(
    transactional_db, engine_settings, sandbox, big_list, monkeypatch
):
    """10. One transaction held SQLite's write lock for a whole 200k-recipient dispatch (30 s):
    polls failed with "database is locked" and a sign-in waited 21 s. Each batch of the ledger
    is now committed on its own: another connection sees the rows arrive."""
    monkeypatch.setattr(ledger, "LEDGER_BATCH", 100)
    seen_elsewhere: list[int] = []
    heartbeat = dispatch._heartbeat

    def count_from_another_connection(campaign_id: int) -> None:
        heartbeat(campaign_id)  # in the batch's transaction: look once it has committed

        def count() -> None:
            with ThreadPoolExecutor(1) as other:
                seen_elsewhere.append(other.submit(_count_rows, campaign_id).result())

        transaction.on_commit(count)

    monkeypatch.setattr(dispatch, "_heartbeat", count_from_another_connection)
    campaign = ready_campaign(sms_mode=Campaign.SmsMode.INDIVIDUAL, lists=[big_list])
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.recipients == 1_001
    assert len(seen_elsewhere) >= 3
    assert 0 < seen_elsewhere[0] < seen_elsewhere[1] < 1_001


def _count_rows(campaign_id: int) -> int:
    try:
        return Recipient.objects.filter(campaign_id=campaign_id).count()
    finally:
        connection.close()


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing of the dispatch's own code runs after."""


def test_a_dispatch_a_lost_worker_left_half_written_is_taken_again(
    engine_settings, sandbox, big_list, monkeypatch
):
    """10. With bounded transactions a dying worker leaves part of a ledger. None of it is
    submitted (parts wait for the whole ledger); once its heartbeat is old the sweep hands it
    to another worker, which clears it and resolves it again: every recipient once."""
    monkeypatch.setattr(ledger, "LEDGER_BATCH", 100)
    flushes = []
    heartbeat = dispatch._heartbeat

    def die_on_the_second_batch(campaign_id: int) -> None:
        heartbeat(campaign_id)
        flushes.append(campaign_id)
        if len(flushes) == 2:
            raise WorkerKilled

    monkeypatch.setattr(dispatch, "_heartbeat", die_on_the_second_batch)
    campaign = ready_campaign(sms_mode=Campaign.SmsMode.INDIVIDUAL, lists=[big_list])
    with pytest.raises(WorkerKilled):
        dispatch.campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING and campaign.ledger_resolved_at is None
    assert 0 < Recipient.objects.filter(campaign=campaign).count() < 1_001
    soon = timezone.now() + timedelta(seconds=10)
    report = sweep.engine_sweep(now=soon, enqueue=False)
    assert campaign.pk not in report.dispatched and report.submit == []  # still its worker's
    monkeypatch.setattr(dispatch, "_heartbeat", heartbeat)
    later = timezone.now() + timedelta(seconds=engine_settings.ENGINE_STUCK_DISPATCH + 1)
    assert campaign.pk in sweep.engine_sweep(now=later, enqueue=False).dispatched
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk, now=later)
    assert result.recipients == 1_001
    seqs = list(Recipient.objects.filter(campaign=campaign).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1_001))
    assert campaign.parts.count() == len(result.part_ids)
    assert len(sweep.engine_sweep(now=later, enqueue=False).submit) == len(result.part_ids)
