"""The detail page's engine panel: parts, stop, ledger export, retry failed only."""

import pytest
from django.urls import reverse

from bsg import rules
from campaigns.engine import dispatch, submit
from campaigns.models import Campaign, CampaignPart, Recipient
from tests.engine.conftest import numbers, ready_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def sent(count: int = 3) -> Campaign:
    campaign = ready_campaign(pasted_numbers=numbers(count))
    for part_id in dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids:
        submit.part_submit(part_id=part_id)
    return campaign


def test_the_detail_page_shows_parts_and_events(signed_in, engine_settings, sandbox):
    campaign = sent()
    page = signed_in.get(reverse("campaigns:detail", args=[campaign.pk]))
    body = page.content.decode()
    assert 'id="parts"' in body
    # Each row a batch sent to BSG, as the send plan calls them, not "Part" (SMS parts differ).
    table = body[body.index('id="parts"') : body.index("</table>", body.index('id="parts"'))]
    assert "The batches the campaign was sent to BSG in" in table
    assert '<th scope="col">Batch</th>' in table and '<th scope="row">1</th>' in table
    assert ">Part<" not in table
    assert "Submitted to BSG" in body
    assert "recipients resolved" in body
    panel = signed_in.get(reverse("campaigns:parts", args=[campaign.pk]))
    assert 'hx-trigger="every 5s"' in panel.content.decode()


def test_stop_button_stops_and_says_what_bsg_answered(signed_in, engine_settings, sandbox, user):
    # BSG's clock stands still, so the batch cannot finish before the stop reaches it: on a
    # busy machine a three-message batch did (refused: "Invalid campaign status").
    clock = sandbox.state.clock
    clock.freeze()
    try:
        campaign = sent()
        page = signed_in.post(reverse("campaigns:stop", args=[campaign.pk]), follow=True)
    finally:
        clock.unfreeze()
    # A campaign's BSG batches, as the page's table calls them ("SMS parts" are another thing).
    assert "Stop sent: 1 batch stopped at BSG." in page.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.STOPPED and campaign.stopped_by == user
    again = signed_in.post(reverse("campaigns:stop", args=[campaign.pk]), follow=True)
    assert "nothing left to stop" in again.content.decode()


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Stop sent: 2 batches stopped at BSG."),
        ("uk", "Запит на зупинку надіслано: 2 пакети зупинено в BSG."),
    ],
)
def test_the_stop_message_counts_batches_in_the_readers_plural(
    signed_in, engine_settings, sandbox, monkeypatch, language, said
):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 2)
    # BSG's clock stands still, so neither batch can finish before the stop reaches it (a
    # finished campaign is refused: "Invalid campaign status").
    clock = sandbox.state.clock
    clock.freeze()
    try:
        campaign = sent(4)
        signed_in.cookies["django_language"] = language
        page = signed_in.post(reverse("campaigns:stop", args=[campaign.pk]), follow=True)
    finally:
        clock.unfreeze()
    assert said in page.content.decode()


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
    result = dispatch.campaign_dispatch(campaign_id=retry.pk)
    assert result.recipients == 1
    assert Recipient.objects.get(campaign=retry).phone == second.phone
    (part_id,) = result.part_ids
    assert submit.part_submit(part_id=part_id).state == CampaignPart.State.SUBMITTED
    assert sandbox.state.campaigns[-1]["endpoint"].endswith("send-individual")


def test_a_held_campaign_shows_held_and_resumes(signed_in, engine_settings, sandbox, monkeypatch):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 2)
    campaign = ready_campaign(pasted_numbers=numbers(4))
    part_ids = dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids
    CampaignPart.objects.filter(pk__in=part_ids).update(state="held", error="Held: balance low")
    body = signed_in.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="held"' in body and "Held: balance low" in body
    assert "batches not yet sent to BSG wait for you" in body  # as the plan's "Batches"
    page = signed_in.post(reverse("campaigns:resume", args=[campaign.pk]), follow=True)
    assert "Resumed: 2 held batches will be sent." in page.content.decode()
    assert set(CampaignPart.objects.values_list("state", flat=True)) == {"pending"}


def test_the_schedules_page_adds_lists_pauses_and_refuses_bad_input(signed_in, audience):
    template = ready_campaign(
        status=Campaign.Status.DRAFT, sms_mode="individual", lists=[audience["spring"]]
    )
    url = reverse("campaigns:schedules")
    bad = signed_in.post(url, {"name": "Daily", "template": template.pk, "hour": "99"})
    assert bad.status_code == 200 and "Hour must be 0\u201323, not 99." in bad.content.decode()
    ok = signed_in.post(
        url,
        {"name": "Daily", "template": template.pk, "minute": "0", "hour": "9", "time_zone": "UTC"},
        follow=True,
    )
    body = ok.content.decode()
    assert "Daily" in body and "<code>0 9 * * *</code>" in body
    from campaigns.models import CampaignSchedule

    schedule = CampaignSchedule.objects.get()
    signed_in.post(reverse("campaigns:schedule-pause", args=[schedule.pk]), {"paused": "1"})
    assert "Paused" in signed_in.get(url).content.decode()


def test_created_elsewhere_is_marked_on_the_list_and_read_only(signed_in, db):
    Campaign.objects.create(name="From the web", status="finished", created_elsewhere=True)
    body = signed_in.get(reverse("campaigns:list")).content.decode()
    assert "created elsewhere" in body
    campaign = Campaign.objects.get(name="From the web")
    detail = signed_in.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="created-elsewhere"' in detail and 'id="stop-campaign"' not in detail


def test_the_failures_button_adds_repeat_failures(signed_in, engine_settings, sandbox):
    campaigns = [sent() for _ in range(3)]
    Recipient.objects.filter(phone="380507000000").update(status="expired")
    Campaign.objects.filter(pk=campaigns[2].pk).update(status="finished")
    page = signed_in.post(reverse("campaigns:dnc-failures", args=[campaigns[2].pk]), follow=True)
    assert "1 recipient added to do-not-contact" in page.content.decode()
