"""Guard rails: failure rate and balance hold a sending campaign; the sending window waits."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bsg import rules
from campaigns import selectors
from campaigns.engine import dispatch, guard_rails, resume, submit, sweep
from campaigns.models import Campaign, CampaignEvent, CampaignPart, Recipient
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State
pytestmark = pytest.mark.django_db


def dispatched(**overrides) -> list[int]:
    campaign = ready_campaign(**overrides)
    return dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids


def test_a_failure_rate_over_the_threshold_holds_the_rest_and_resume_sends_it(
    engine_settings, sandbox, monkeypatch, user
):
    engine_settings.ENGINE_HOLD_FAILURE_RATE = 0.2
    engine_settings.ENGINE_HOLD_MIN_FINAL = 3
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 4)
    first, second, third = dispatched(pasted_numbers=numbers(12))
    assert submit.part_submit(part_id=first).state == State.SUBMITTED
    # BSG reported on the first part: two of four failed (50% > 20%).
    part = CampaignPart.objects.get(pk=first)
    Recipient.objects.filter(part=part).update(status="delivered")
    for row in Recipient.objects.filter(part=part).order_by("seq")[:2]:
        Recipient.objects.filter(pk=row.pk).update(status="undelivered")
    CampaignPart.objects.filter(pk=first).update(messages_polled_at=timezone.now())

    outcome = submit.part_submit(part_id=second)
    assert outcome.state == State.HELD
    assert "2 of 4" in outcome.detail and "20%" in outcome.detail
    states = dict(CampaignPart.objects.values_list("id", "state"))
    assert states[second] == State.HELD and states[third] == State.HELD
    assert len(sandbox.state.campaigns) == 1
    campaign_id = part.campaign_id
    assert CampaignEvent.objects.filter(campaign_id=campaign_id, kind="held").exists()
    # Held parts are not swept up until someone resumes them.
    assert sweep.engine_sweep(enqueue=False).submit == []

    assert resume.campaign_resume(campaign_id=campaign_id, user=user) == 2
    for part_id in (second, third):
        assert submit.part_submit(part_id=part_id).state == State.SUBMITTED
    assert len(sandbox.state.campaigns) == 3
    with pytest.raises(ValidationError, match="nothing to resume"):
        resume.campaign_resume(campaign_id=campaign_id, user=user)


def test_a_low_rate_or_too_few_reports_do_not_hold(engine_settings, sandbox, monkeypatch):
    engine_settings.ENGINE_HOLD_MIN_FINAL = 10
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 4)
    first, second = dispatched(pasted_numbers=numbers(8))
    submit.part_submit(part_id=first)
    Recipient.objects.filter(part_id=first).update(status="failed")
    CampaignPart.objects.filter(pk=first).update(messages_polled_at=timezone.now())
    # Four failures, but fewer than ten final statuses: too early to judge.
    assert submit.part_submit(part_id=second).state == State.SUBMITTED


def test_the_failure_figures_count_the_delivered_only_as_far_as_the_rate_needs():
    campaign = ready_campaign(pasted_numbers=numbers(40))
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    ledger = Recipient.objects.filter(campaign=campaign).order_by("seq")
    seqs = list(ledger.values_list("seq", flat=True))
    Recipient.objects.filter(campaign=campaign).update(status="delivered")

    def figures(failed: int, *, rate: float = 0.2, min_final: int = 3) -> tuple[int, int]:
        Recipient.objects.filter(campaign=campaign, seq__in=seqs[:failed]).update(status="failed")
        return selectors.campaign_failure_figures(
            campaign_id=campaign.pk, rate=rate, min_final=min_final
        )

    # 2 failed of 40 (5 %): counting 11 final ones (2 / 0.2, and one more) shows the rate is
    # under 20 %; the other 29 delivered are never counted.
    assert figures(2) == (11, 2)
    assert figures(2, min_final=20) == (21, 2)  # at least as far as min_final
    # 10 failed of 40 (25 %): over the rate, the figures are exact for the hold's message.
    assert figures(10) == (40, 10)
    assert figures(10, rate=0) == (40, 10)
    Recipient.objects.filter(campaign=campaign).update(status="delivered")
    assert figures(0) == (0, 0)


def test_a_balance_that_cannot_cover_the_next_part_holds_it(
    engine_settings, sandbox, monkeypatch, user
):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 3)
    first, second = dispatched(pasted_numbers=numbers(6))
    assert submit.part_submit(part_id=first).state == State.SUBMITTED
    campaign = CampaignPart.objects.get(pk=first).campaign
    # BSG's calculated price of the first part gives the price per SMS part.
    assert campaign.unit_price and campaign.unit_price > 0
    with sandbox.state.store.lock:
        sandbox.state.store.balance = Decimal("0.01")
    outcome = submit.part_submit(part_id=second)
    assert outcome.state == State.HELD
    assert "balance" in outcome.detail and "Top up" in outcome.detail
    assert len(sandbox.state.campaigns) == 1
    # Topped up: resume sends it.
    with sandbox.state.store.lock:
        sandbox.state.store.balance = Decimal("1000")
    resume.campaign_resume(campaign_id=campaign.pk, user=user)
    assert submit.part_submit(part_id=second).state == State.SUBMITTED


def test_the_dispatch_keeps_each_parts_sms_parts_for_the_balance_guard(
    engine_settings, sandbox, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 3)
    # Two SMS parts each for the long texts: the guard charges by SMS part, not by recipient.
    first, second = dispatched(pasted_numbers=numbers(6), text="Sale " * 40)
    for part in CampaignPart.objects.filter(pk__in=[first, second]):
        ledger = Recipient.objects.filter(part=part)
        assert part.sms_parts == sum(ledger.values_list("sms_parts", flat=True)) == 6
        campaign = part.campaign
        # Read from the part: no sum over its ledger rows before each submit.
        with django_assert_num_queries(0):
            assert guard_rails._part_units(campaign, part) == 6
    # A part written before the figure was kept is summed from its ledger, as before.
    CampaignPart.objects.filter(pk=first).update(sms_parts=None)
    part = CampaignPart.objects.get(pk=first)
    assert guard_rails._part_units(part.campaign, part) == 6


def test_the_balance_guard_estimates_with_bsg_price_when_no_part_went_yet(
    engine_settings, sandbox, monkeypatch
):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 3)
    first, _second = dispatched(pasted_numbers=numbers(6))
    with sandbox.state.store.lock:
        sandbox.state.store.balance = Decimal("0")
    outcome = submit.part_submit(part_id=first)
    assert outcome.state == State.HELD
    assert any(r["path"] == "/api/campaigns/price" for r in sandbox.state.requests)
    assert sandbox.state.campaigns == {} or len(sandbox.state.campaigns) == 0


def _window(campaign_id: int, start: time, end: time, zone: str = "Europe/Kyiv") -> Campaign:
    Campaign.objects.filter(pk=campaign_id).update(
        window_start=start, window_end=end, window_time_zone=zone
    )
    return Campaign.objects.get(pk=campaign_id)


def test_the_window_says_when_it_next_opens():
    campaign = Campaign(window_start=time(9), window_end=time(20), window_time_zone="Europe/Kyiv")
    # 05:00 UTC is 08:00 in Kyiv in winter: opens at 09:00 Kyiv the same day.
    early = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)
    assert guard_rails.window_opens_at(campaign=campaign, now=early) == datetime(
        2026, 1, 15, 7, 0, tzinfo=UTC
    )
    assert guard_rails.window_opens_at(campaign=campaign, now=early + timedelta(hours=3)) is None
    late = datetime(2026, 1, 15, 19, 0, tzinfo=UTC)  # 21:00 Kyiv
    assert guard_rails.window_opens_at(campaign=campaign, now=late) == datetime(
        2026, 1, 16, 7, 0, tzinfo=UTC
    )
    overnight = Campaign(window_start=time(20), window_end=time(8), window_time_zone="UTC")
    assert (
        guard_rails.window_opens_at(campaign=overnight, now=datetime(2026, 1, 15, 23, tzinfo=UTC))
        is None
    )
    assert guard_rails.window_opens_at(
        campaign=overnight, now=datetime(2026, 1, 15, 12, tzinfo=UTC)
    ) == datetime(2026, 1, 15, 20, tzinfo=UTC)


def test_parts_outside_the_window_wait_for_the_sweep_when_it_opens(engine_settings, sandbox):
    (part_id,) = dispatched(pasted_numbers=numbers(2))
    campaign = CampaignPart.objects.get(pk=part_id).campaign
    _window(campaign.pk, time(9), time(20), zone="UTC")
    night = datetime(2026, 1, 15, 22, 30, tzinfo=UTC)
    outcome = submit.part_submit(part_id=part_id, now=night)
    assert outcome.state == State.PENDING and outcome.retry_in is None
    part = CampaignPart.objects.get(pk=part_id)
    assert part.next_attempt_at == datetime(2026, 1, 16, 9, 0, tzinfo=UTC)
    assert sandbox.state.campaigns == {} or len(sandbox.state.campaigns) == 0
    assert part_id not in sweep.engine_sweep(now=night, enqueue=False).submit
    morning = datetime(2026, 1, 16, 9, 1, tzinfo=UTC)
    assert part_id in sweep.engine_sweep(now=morning, enqueue=False).submit
    assert submit.part_submit(part_id=part_id, now=morning).state == State.SUBMITTED
