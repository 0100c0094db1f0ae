"""Pages follow every state change: the campaigns page, the home's "Sending now" and a
campaign's detail keep polling while anything on them may change without their reader (waiting
for an approver or its time, or sending), quickly while something sends, and stop when nothing
can; the chart starts at the dispatch, not at BSG's first report."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import dashboard
from campaigns.models import Campaign, CampaignPart
from tests.dashboard.conftest import campaign, part, sending, snapshots

pytestmark = pytest.mark.django_db

LIST = reverse("campaigns:list")


def poller(body: str) -> str:
    return body.split('id="campaigns-live"')[1].split(">")[0]


def test_the_campaigns_page_follows_a_campaign_waiting_for_approval_until_it_ends(signed_in):
    waiting = campaign(name="Waits", status=Campaign.Status.AWAITING_APPROVAL)
    campaign(name="A draft")
    campaign(name="Old", status=Campaign.Status.FINISHED)
    page = poller(signed_in.get(LIST).content.decode())
    # Only the row that may change is asked for, slowly while it only waits.
    assert f"ids={waiting.pk}" in page and 'hx-trigger="every 15s"' in page

    # Approved in another tab: the row says so, and the poll speeds up while it sends.
    Campaign.objects.filter(pk=waiting.pk).update(status=Campaign.Status.SENDING)
    live = reverse("campaigns:list-live")
    body = signed_in.get(live, {"ids": waiting.pk}).content.decode()
    row = body.split(f'id="campaign-{waiting.pk}"')[1].split("</tr>")[0]
    assert "Sending" in row
    assert 'hx-trigger="every 5s"' in poller(body) and f"ids={waiting.pk}" in poller(body)

    Campaign.objects.filter(pk=waiting.pk).update(status=Campaign.Status.FINISHED)
    body = signed_in.get(live, {"ids": waiting.pk}).content.decode()
    assert "Finished" in body.split(f'id="campaign-{waiting.pk}"')[1].split("</tr>")[0]
    assert "hx-trigger" not in poller(body)


@pytest.mark.parametrize(
    ("status", "pace"),
    [
        ("draft", None),
        ("awaiting_approval", "15s"),
        ("scheduled", "15s"),
        ("ready", "5s"),
        ("sending", "5s"),
        ("finished", None),
        ("stopped", None),
        ("cancelled", None),
    ],
)
def test_a_row_is_followed_exactly_while_it_may_change_by_itself(signed_in, status, pace):
    campaign(status=status)
    page = poller(signed_in.get(LIST).content.decode())
    if pace is None:
        assert "hx-trigger" not in page
    else:
        assert f'hx-trigger="every {pace}"' in page and "data-live" in page


def test_sending_now_shows_a_campaign_to_its_end_instead_of_dropping_it(signed_in):
    going = sending(name="Black Friday", recipients=1710)
    home = signed_in.get(reverse("campaigns:home")).content.decode()
    panel = home.split('id="sending-now"')[1].split(">")[0]
    assert f"ids={going.pk}" in panel and 'hx-trigger="every 5s"' in panel
    # It finishes between two polls: the panel shows where it ended, then stops.
    CampaignPart.objects.filter(campaign=going).update(sent=1710, delivered=1700)
    Campaign.objects.filter(pk=going.pk).update(status=Campaign.Status.FINISHED)
    body = signed_in.get(reverse("campaigns:home-sending"), {"ids": going.pk}).content.decode()
    assert "Black Friday" in body and "Finished" in body
    assert "1,710 sent, 1,700 delivered of 1,710" in body
    assert "hx-trigger" not in body.split(">")[0]
    # A fresh page no longer lists it.
    assert "Black Friday" not in signed_in.get(reverse("campaigns:home-sending")).content.decode()


def test_sending_now_waits_slowly_for_a_campaign_to_be_approved_then_shows_it(signed_in):
    empty = signed_in.get(reverse("campaigns:home")).content.decode()
    assert "hx-trigger" not in empty.split('id="sending-now"')[1].split(">")[0]
    waits = campaign(name="Waits", status=Campaign.Status.AWAITING_APPROVAL)
    panel = signed_in.get(reverse("campaigns:home-sending")).content.decode()
    assert 'hx-trigger="every 15s"' in panel and "No campaign is sending right now" in panel
    Campaign.objects.filter(pk=waits.pk).update(status=Campaign.Status.READY)
    panel = signed_in.get(reverse("campaigns:home-sending")).content.decode()
    assert "Waits" in panel and 'hx-trigger="every 5s"' in panel


def test_the_detail_of_a_campaign_waiting_for_approval_follows_its_approval(signed_in):
    made = campaign(
        name="Waits",
        status=Campaign.Status.AWAITING_APPROVAL,
        approval_requested_at=timezone.now(),
    )
    page = signed_in.get(reverse("campaigns:detail", args=[made.pk])).content.decode()
    engine = page.split('id="engine-panel"')[1].split(">")[0]
    assert 'hx-trigger="every 15s"' in engine and "shown=awaiting_approval" in engine
    assert 'id="awaiting-approval"' in page
    assert 'id="chart"' in page and "hidden" in page.split('id="chart"')[1].split(">")[0]

    # Approved elsewhere: the poll brings the heading, buttons, approval panel, chart and send
    # plan of the new status, and polls as fast as a sending campaign does.
    Campaign.objects.filter(pk=made.pk).update(status=Campaign.Status.READY)
    url = reverse("campaigns:parts", args=[made.pk])
    body = signed_in.get(url, {"shown": "awaiting_approval"}).content.decode()
    assert 'hx-trigger="every 5s"' in body.split('id="engine-panel"')[1].split(">")[0]
    for target in ("campaign-status", "campaign-actions", "approval-panel", "chart", "send-plan"):
        tag = body.split(f'id="{target}"')[1].split(">")[0]
        assert 'hx-swap-oob="true"' in tag, target
    approval = body.split('id="approval-panel"')[1].split("</div>")[0]
    assert "awaiting-approval" not in approval and 'id="approve"' not in approval
    assert "hidden" not in body.split('id="chart"')[1].split(">")[0]  # ready: the chart waits


def test_an_unchanged_poll_swaps_nothing_outside_its_panel(signed_in, django_assert_num_queries):
    made = campaign(status=Campaign.Status.AWAITING_APPROVAL, approval_requested_at=timezone.now())
    url = reverse("campaigns:parts", args=[made.pk])
    signed_in.get(url, {"shown": "awaiting_approval"})
    # session, user, campaign, parts, events: the status panels cost nothing until it changes
    with django_assert_num_queries(5):
        body = signed_in.get(url, {"shown": "awaiting_approval"}).content.decode()
    assert "hx-swap-oob" not in body


def test_a_draft_and_an_ended_campaign_do_not_poll(signed_in):
    for status in ("draft", "finished"):
        made = campaign(status=status)
        page = signed_in.get(reverse("campaigns:detail", args=[made.pk])).content.decode()
        assert "data-live" not in page


def test_the_chart_starts_at_the_dispatch_so_its_first_report_spans_a_time():
    dispatched = timezone.now() - timedelta(minutes=2)
    made = sending(recipients=100, dispatched_at=dispatched)
    first_report = dispatched + timedelta(seconds=60)
    snapshots(made, CampaignPart.objects.get(campaign=made), [(10, 0)], start=first_report)
    chart = dashboard.campaign_delivery_chart(
        campaign_id=made.pk, recipients=100, dispatched_at=made.dispatched_at
    )
    assert chart.first.taken_at == dispatched and chart.last.taken_at > dispatched
    assert (chart.first.sent, chart.last.sent) == (0, 10)
    assert chart.reports == 1
    assert chart.sent_line.split() == ["0.0,200.0", "640.0,180.0"]


def test_the_chart_of_an_old_campaign_without_a_dispatch_time_draws_its_reports_only():
    made = sending(recipients=100, dispatched_at=None)
    first = part(made, number=2)
    snapshots(made, first, [(5, 0), (10, 5)])
    chart = dashboard.campaign_delivery_chart(campaign_id=made.pk, recipients=100)
    assert chart.reports == 2 and len(chart.points) == 2
