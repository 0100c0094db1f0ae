"""The detail page's engine panel: parts, stop, ledger export, retry failed only."""

import pytest
from django.urls import reverse

from campaigns import engine
from campaigns.models import Campaign, CampaignPart, Recipient
from tests.engine.conftest import numbers, ready_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def sent(count: int = 3) -> Campaign:
    campaign = ready_campaign(pasted_numbers=numbers(count))
    for part_id in engine.campaign_dispatch(campaign_id=campaign.pk).part_ids:
        engine.part_submit(part_id=part_id)
    return campaign


def test_the_detail_page_shows_parts_and_events(signed_in, engine_settings, sandbox):
    campaign = sent()
    page = signed_in.get(reverse("campaigns:detail", args=[campaign.pk]))
    body = page.content.decode()
    assert 'id="parts"' in body
    assert "Submitted to BSG" in body
    assert "recipients resolved" in body
    panel = signed_in.get(reverse("campaigns:parts", args=[campaign.pk]))
    assert 'hx-trigger="every 5s"' in panel.content.decode()


def test_stop_button_stops_and_says_what_bsg_answered(signed_in, engine_settings, sandbox, user):
    campaign = sent()
    page = signed_in.post(reverse("campaigns:stop", args=[campaign.pk]), follow=True)
    assert "Stop sent" in page.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.STOPPED and campaign.stopped_by == user
    again = signed_in.post(reverse("campaigns:stop", args=[campaign.pk]), follow=True)
    assert "nothing left to stop" in again.content.decode()


def test_ledger_export_and_retry_failed_only(signed_in, engine_settings, sandbox):
    campaign = sent(4)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FINISHED)
    first, second = Recipient.objects.filter(campaign=campaign).order_by("seq")[:2]
    Recipient.objects.filter(pk=first.pk).update(status="delivered")
    Recipient.objects.filter(pk=second.pk).update(status="undelivered")
    response = signed_in.get(reverse("campaigns:ledger-csv", args=[campaign.pk]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 5
    assert f"{first.phone},1,{first.reference_id},yes,delivered" in lines[1]
    assert f"{second.phone},1,{second.reference_id},no,undelivered" in lines[2]
    page = signed_in.post(reverse("campaigns:retry-failed", args=[campaign.pk]), follow=True)
    retry = Campaign.objects.get(retry_of=campaign)
    assert page.redirect_chain[-1][0] == reverse("campaigns:detail", args=[retry.pk])
    result = engine.campaign_dispatch(campaign_id=retry.pk)
    assert result.recipients == 1
    assert Recipient.objects.get(campaign=retry).phone == second.phone
    (part_id,) = result.part_ids
    assert engine.part_submit(part_id=part_id).state == CampaignPart.State.SUBMITTED
    assert sandbox.state.campaigns[-1]["endpoint"].endswith("send-individual")
