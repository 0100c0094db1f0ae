"""Engine bugs the system soak (bench/soak_system.py) found, each pinned by a test.

1. A campaign stopped at BSG is `stopped` (a terminal status) at once, but the messages BSG had
   already dispatched still get their delivery reports afterwards, so BSG's sent/delivered
   counts keep moving. The engine took the first `stopped` it saw as the end, stopped polling
   the part, and the dashboard kept the counts of that moment for ever (the soak saw 6
   delivered on the dashboard and 19 at BSG).
2. A part sent back to `pending` (BSG unreachable, or "none at BSG" after an unclear answer)
   while its campaign was being stopped stayed pending for ever.
3. The poll read a stopped part's counts, then its breakdown; the last reports landing in
   between left the part finished with counts from before them.
"""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from bsg.client import BsgClient
from bsg.tokens import InMemoryTokenStore
from campaigns import selectors
from campaigns.engine import dispatch, poll, reconcile, stop, submit, sweep
from campaigns.models import Campaign, CampaignEvent, CampaignPart
from tests.conftest import SANDBOX_API_KEY
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State
SEND_PATH = "/api/campaigns/sms/send"
pytestmark = pytest.mark.django_db


def bsg_figures(sandbox, bsg_campaign_id: int) -> tuple[str, int, int]:
    client = BsgClient(sandbox.url, SANDBOX_API_KEY, token_store=InMemoryTokenStore())
    try:
        answer = client.campaign_get(campaign_id=bsg_campaign_id)
    finally:
        client.close()
    return answer.status, answer.statistics.sent, answer.statistics.delivered


def test_a_stopped_part_is_polled_until_its_delivery_reports_are_in(engine_settings, sandbox):
    clock = sandbox.state.clock
    clock.freeze()
    try:
        campaign = ready_campaign(pasted_numbers=numbers(40))
        [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
        assert submit.part_submit(part_id=part_id).state == State.SUBMITTED
        part = CampaignPart.objects.get(pk=part_id)
        # Every message dispatched and sent, few delivery reports in yet (the sandbox's pace at
        # speed 50: creation 0.02 s, dispatch 0.02 s, accepted 0.01 s, reports 0.01-0.05 s).
        clock.advance(0.052)
        status, sent, delivered = bsg_figures(sandbox, part.bsg_campaign_id)
        assert status == "sending" and sent == 40 and delivered < 40

        stop.campaign_stop(campaign_id=campaign.pk)
        poll.engine_poll()
        part.refresh_from_db()
        assert part.bsg_status == "stopped"
        # Stopped, but reports are still on their way: the part is not over.
        assert part.finished_at is None

        clock.advance(10)  # every report is in
        _, sent, delivered = bsg_figures(sandbox, part.bsg_campaign_id)
        poll.engine_poll()
        part.refresh_from_db()
        assert part.finished_at is not None
        totals = selectors.campaign_totals(campaign_id=campaign.pk)
        assert (totals["sent"], totals["delivered"]) == (sent, delivered)
        assert part.breakdown.get("sent", 0) == 0
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.STOPPED
    finally:
        clock.unfreeze()


class StoppedMidRequestClient(BsgClient):
    """BSG's client as the engine builds it, whose send is met by a person pressing Stop while
    the request is on its way."""

    campaign_id = 0

    def sms_send(self, **kwargs):
        stop.campaign_stop(campaign_id=self.campaign_id)
        return super().sms_send(**kwargs)


def test_a_part_of_a_stopped_campaign_is_cancelled_not_left_pending(
    engine_settings, sandbox, monkeypatch
):
    """2. A part whose POST failed harmlessly (no connection) while its campaign was being
    stopped went back to `pending`; nothing submits a stopped campaign's parts, so it stayed
    pending for ever. The sweep now cancels it."""
    campaign = ready_campaign(pasted_numbers=numbers(3))
    [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    # BSG unreachable (a refused connection): nothing accepted, safe to send again later.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = StoppedMidRequestClient(
        f"http://127.0.0.1:{closed_port}", SANDBOX_API_KEY, token_store=InMemoryTokenStore()
    )
    client.campaign_id = campaign.pk
    monkeypatch.setattr(submit, "bsg_client", lambda: client)
    outcome = submit.part_submit(part_id=part_id)
    assert outcome.state == State.PENDING  # nothing reached BSG
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.STOPPED

    report = sweep.engine_sweep(enqueue=False)
    part = CampaignPart.objects.get(pk=part_id)
    assert part.state == State.CANCELLED and part.finished_at is not None
    assert part_id not in report.submit
    assert CampaignEvent.objects.filter(
        campaign=campaign, kind=CampaignEvent.Kind.CANCELLED, part_id=part_id
    ).exists()
    assert sandbox.state.campaigns == []


def test_an_unsent_part_found_absent_after_a_stop_is_cancelled(engine_settings, sandbox):
    """The same end for a part in doubt when the campaign was stopped: once BSG provably holds
    none of its messages it is cancelled, never sent."""
    campaign = ready_campaign(pasted_numbers=numbers(3))
    [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    # A send that timed out without reaching BSG, long enough ago for "none" to count.
    CampaignPart.objects.filter(pk=part_id).update(
        state=State.UNCONFIRMED,
        attempts=1,
        outcome_was_unknown=True,
        last_attempt_at=timezone.now() - timedelta(minutes=5),
    )
    stop.campaign_stop(campaign_id=campaign.pk)
    reconcile.part_reconcile(part_id=part_id)
    sweep.engine_sweep(enqueue=False)
    assert CampaignPart.objects.get(pk=part_id).state == State.CANCELLED
    assert not sandbox.state.find_requests(path_prefix=SEND_PATH, method="POST")


def test_a_stopped_part_waits_for_reports_no_longer_than_their_validity(engine_settings, sandbox):
    clock = sandbox.state.clock
    clock.freeze()
    try:
        campaign = ready_campaign(pasted_numbers=numbers(40), validity_hours=1)
        [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
        submit.part_submit(part_id=part_id)
        clock.advance(0.052)  # messages out, reports still coming
        stop.campaign_stop(campaign_id=campaign.pk)
        # Submitted longer ago than the messages' validity: no report can come any more.
        CampaignPart.objects.filter(pk=part_id).update(
            submitted_at=timezone.now() - timedelta(hours=1, minutes=1)
        )
        poll.engine_poll()
        part = CampaignPart.objects.get(pk=part_id)
        assert part.bsg_status == "stopped"
        assert part.breakdown.get("sent", 0) > 0
        assert part.finished_at is not None
    finally:
        clock.unfreeze()


class ReportsLandDuringThePoll(BsgClient):
    """The last delivery reports of a stopped campaign land between the poll's read of the
    counts (E5/E7) and its read of the breakdown (E8)."""

    clock = None

    def campaign_detail(self, **kwargs):
        self.clock.advance(10)
        return super().campaign_detail(**kwargs)


def test_a_stopped_part_ends_with_the_counts_of_its_last_reports(
    engine_settings, sandbox, monkeypatch
):
    """3. The poll read the counts, then the breakdown; reports that landed in between made the
    breakdown say "all reported" next to counts from before (the soak: 12 delivered on the
    dashboard, 15 at BSG). The counts are read again once nothing is in flight."""
    clock = sandbox.state.clock
    clock.freeze()
    client = ReportsLandDuringThePoll(
        sandbox.url, SANDBOX_API_KEY, token_store=InMemoryTokenStore()
    )
    client.clock = clock
    try:
        campaign = ready_campaign(pasted_numbers=numbers(40))
        [part_id] = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
        submit.part_submit(part_id=part_id)
        clock.advance(0.052)  # messages out, reports still coming
        stop.campaign_stop(campaign_id=campaign.pk)
        monkeypatch.setattr(poll, "bsg_client", lambda: client)
        poll.engine_poll()
        part = CampaignPart.objects.get(pk=part_id)
        assert part.finished_at is not None
        _, sent, delivered = bsg_figures(sandbox, part.bsg_campaign_id)
        assert (part.sent, part.delivered) == (sent, delivered)
    finally:
        client.close()
        clock.unfreeze()
