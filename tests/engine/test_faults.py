"""200 campaigns through a sandbox failing 20% of calls: every part ends definite, none twice."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from campaigns.engine import dispatch, reconcile, submit, sweep
from campaigns.models import Campaign, CampaignEvent, CampaignPart, Recipient
from sandbox.faults import Faults
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State
CAMPAIGNS = 200


def _in_thread(function, **kwargs):
    try:
        return function(**kwargs)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_hundred_campaigns_under_faults_end_definite_without_duplicates(
    engine_settings, sandbox
):
    for index in range(CAMPAIGNS):
        ready_campaign(name=f"Soak {index}", pasted_numbers=numbers(2, start=index * 2))
    sandbox.set_faults(
        Faults(
            error_5xx=0.06,
            error_429=0.04,
            drop=0.03,
            hang=0.04,
            slow=0.03,
            slow_delay=0.9,
            hang_timeout=3,
            seed=11,
        )
    )
    deadline = time.monotonic() + 240
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            report = sweep.engine_sweep(enqueue=False)
            jobs = [
                pool.submit(_in_thread, dispatch.campaign_dispatch, campaign_id=c)
                for c in report.dispatched
            ]
            jobs += [pool.submit(_in_thread, submit.part_submit, part_id=p) for p in report.submit]
            jobs += [
                pool.submit(_in_thread, reconcile.part_reconcile, part_id=p)
                for p in report.reconcile
            ]
            for job in jobs:
                job.result()
            open_parts = CampaignPart.objects.exclude(
                state__in=[State.SUBMITTED, State.REJECTED, State.NEEDS_ATTENTION]
            ).count()
            if not report.dispatched and open_parts == 0:
                break
            assert time.monotonic() < deadline, Counter(
                CampaignPart.objects.values_list("state", flat=True)
            )
            time.sleep(0.3)
    sandbox.set_faults(Faults())
    states = Counter(CampaignPart.objects.values_list("state", flat=True))
    assert states == {State.SUBMITTED: CAMPAIGNS}, states
    assert Campaign.objects.filter(status=Campaign.Status.SENDING).count() == CAMPAIGNS
    created = sandbox.state.campaigns
    # Zero duplicate creations: one BSG campaign per part, each reference id once.
    assert len(created) == CAMPAIGNS
    references = Counter(ref for c in created for ref in c["reference_ids"])
    assert set(references.values()) == {1}
    assert set(references) == set(Recipient.objects.values_list("reference_id", flat=True))
    # The faults did happen: unclear answers were reconciled rather than resent blindly.
    assert CampaignEvent.objects.filter(kind=CampaignEvent.Kind.UNCONFIRMED).count() >= 10
    linked = set(CampaignPart.objects.values_list("bsg_campaign_id", flat=True))
    assert linked == {c["id"] for c in created}
