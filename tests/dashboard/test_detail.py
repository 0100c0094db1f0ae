"""Campaign detail: figures against recipients, the chart, RCS figures, settings, events, Stop
with a confirmation, and the live panels that stop polling when the campaign is terminal."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import dashboard
from campaigns.models import Campaign, CampaignEvent, CampaignPart
from tests.dashboard.conftest import campaign, part, sending, snapshots

pytestmark = pytest.mark.django_db


def detail(client, made: Campaign, **params) -> str:
    return client.get(reverse("campaigns:detail", args=[made.pk]), params).content.decode()


def test_figures_show_progress_against_recipients_and_the_delivery_rate(signed_in):
    made = sending(recipients=400, sent=200, delivered=150)
    part(made, number=2, recipients=100, sent=100, delivered=50)
    body = detail(signed_in, made)
    figures = body.split('id="figures"')[1].split("</dl>")[0]
    assert 'id="figure-recipients">500<' in figures
    assert '300 <span class="muted">(60% of recipients)' in figures
    assert 'class="sent" max="100" value="60"' in figures
    assert 'class="delivered" max="100" value="40"' in figures
    assert "66.7% of sent" in figures


def test_the_chart_sums_snapshots_across_parts_over_time():
    made = sending()
    first, second = CampaignPart.objects.get(campaign=made), part(made, number=2)
    start = timezone.now() - timedelta(minutes=5)
    snapshots(made, first, [(10, 0), (20, 5)], start=start)
    snapshots(made, second, [(7, 1)], start=start + timedelta(seconds=5))
    series = dashboard.campaign_delivery_series(campaign_id=made.pk)
    assert [(p.sent, p.delivered) for p in series] == [(10, 0), (17, 1), (27, 6)]


def test_the_chart_is_server_rendered_svg_with_a_title_and_points(signed_in):
    made = sending(recipients=100, sent=60, delivered=40)
    snapshots(made, CampaignPart.objects.get(campaign=made), [(20, 0), (40, 10), (60, 40)])
    body = detail(signed_in, made)
    svg = body.split('<svg class="chart"')[1].split("</svg>")[0]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "delivered to 40, of 100" in svg
    sent_points = re.search(r'class="line-sent" fill="none" points="([^"]+)"', svg)[1]
    assert len(sent_points.split()) == 3
    # 60 of 100 recipients, 200 px high: the last point sits at 80 px from the top.
    assert sent_points.split()[-1] == "640.0,80.0"
    chart = signed_in.get(reverse("campaigns:chart", args=[made.pk])).content.decode()
    assert "<svg" in chart and 'hx-trigger="every 15s"' in chart
    Campaign.objects.filter(pk=made.pk).update(status="finished")
    chart = signed_in.get(reverse("campaigns:chart", args=[made.pk])).content.decode()
    assert "<svg" in chart and "hx-trigger" not in chart


def test_a_chart_without_snapshots_says_it_waits_for_bsg(signed_in):
    made = sending()
    assert "the chart starts with BSG's first report" in detail(signed_in, made)


def test_many_snapshots_are_thinned_to_what_a_chart_can_show():
    made = sending(recipients=5_000)
    figures = [(i, i // 2) for i in range(1, 1_001)]
    snapshots(made, CampaignPart.objects.get(campaign=made), figures)
    series = dashboard.campaign_delivery_series(campaign_id=made.pk)
    assert len(series) == dashboard.CHART_MAX_POINTS
    assert (series[0].sent, series[-1].sent) == (1, 1_000)


def test_rcs_price_and_fallback_figures(signed_in):
    made = sending(
        channel="rcs",
        sender="",
        rcs_agent="shop_agent",
        rcs_cards=[{"title": "Sale", "text": "Half price", "suggestions": [{"text": "Open"}]}],
        fallback_enabled=True,
        fallback_sender="Shop",
        fallback_text="Sale today",
        status="finished",
        sent=10,
        delivered=6,
    )
    CampaignPart.objects.filter(campaign=made).update(
        price=Decimal("0.6000"),
        currency="EUR",
        breakdown={"delivered": 4, "read": 2, "not_rcs_user": 3, "failed": 1, "sent": 0},
    )
    part(
        made,
        number=2,
        price=Decimal("0.1000"),
        currency="EUR",
        breakdown={"not_rcs_user": 2, "fallback_sms_delivered": 4, "fallback_sms_not_delivered": 1},
    )
    body = detail(signed_in, made)
    fallback = body.split('id="figure-fallback-sms">')[1].split("</dd>")[0]
    # BSG's statuses in words ("Not delivered", not "not_delivered").
    assert "Delivered 4" in fallback and "Not delivered 1" in fallback
    assert "0.70 EUR" in body and "billed when delivered" in body
    assert 'id="figure-read">2<' in body
    assert 'id="figure-fallback">5 ' in body and "sent the SMS fallback from Shop" in body
    breakdown = body.split('id="breakdown"')[1].split("</details>")[0]
    assert "Not RCS users" in breakdown and ">Sent<" not in breakdown  # zero counts left out
    assert "fallback" not in breakdown
    assert "Half price" in body and "Sale today" in body and "shop_agent" in body


def test_the_message_and_settings_as_sent(signed_in):
    made = sending(text="Hello {name}", sender="Shop", validity_hours=12, tariff_code=3)
    body = detail(signed_in, made)
    content = body.split('id="content"')[1].split("</section>")[0]
    assert "as sent" in content and "Hello {name}" in content
    assert "12 h" in content and "sms/send" in content and ">3<" in content


def test_the_event_log_says_who_did_what(signed_in, boss):
    made = sending()
    CampaignEvent.objects.create(campaign=made, kind="submitted", message="Part 1 submitted")
    CampaignEvent.objects.create(
        campaign=made, kind="stopped", message="Stopped: 1 part", user=boss
    )
    events = detail(signed_in, made).split('id="events"')[1].split("</ol>")[0]
    # Newest first.
    assert events.index("Stopped: 1 part") < events.index("Part 1 submitted")
    assert "boss" in events and "Stopped" in events


def test_stop_asks_for_confirmation_first_and_only_while_stoppable(signed_in):
    made = sending()
    body = detail(signed_in, made)
    confirm_url = reverse("campaigns:stop-confirm", args=[made.pk])
    assert 'id="stop-campaign"' in body and f'href="{confirm_url}"' in body
    assert 'id="confirm-stop"' not in body
    # Without JavaScript the link leads to the page with the question on it.
    response = signed_in.get(confirm_url)
    assert response.status_code == 302 and response["Location"].endswith("?stop=confirm#stop")
    asked = detail(signed_in, made, stop="confirm")
    assert 'id="confirm-stop"' in asked and "cannot be undone" in asked
    assert f'action="{reverse("campaigns:stop", args=[made.pk])}"' in asked
    # With htmx only the question comes back, in place of the button.
    partial = signed_in.get(confirm_url, headers={"HX-Request": "true"}).content.decode()
    assert 'id="confirm-stop"' in partial and "<html" not in partial
    Campaign.objects.filter(pk=made.pk).update(status="finished")
    assert 'id="stop-campaign"' not in detail(signed_in, made)
    assert 'id="confirm-stop"' not in detail(signed_in, made, stop="confirm")
    refused = signed_in.get(confirm_url, follow=True).content.decode()
    assert "cannot be stopped now" in refused


def test_a_campaign_not_yet_sent_is_cancelled_rather_than_stopped(signed_in):
    made = campaign(status="scheduled", start_at=timezone.now() + timedelta(days=1))
    asked = detail(signed_in, made, stop="confirm")
    assert "BSG is not called" in asked


def test_the_parts_panel_polls_while_sending_and_stops_when_terminal(signed_in):
    made = sending()
    url = reverse("campaigns:parts", args=[made.pk])
    panel = signed_in.get(url).content.decode()
    assert 'hx-trigger="every 5s"' in panel and "data-live" in panel and 'id="parts"' in panel
    Campaign.objects.filter(pk=made.pk).update(status="finished")
    panel = signed_in.get(url).content.decode()
    assert 'id="engine-panel"' in panel and "hx-trigger" not in panel and "data-live" not in panel
    assert "hx-trigger" not in detail(signed_in, made).split('id="engine-panel"')[1].split(">")[0]


def test_a_ready_campaign_without_parts_yet_polls_for_them(signed_in):
    made = campaign(status="ready")
    body = detail(signed_in, made)
    assert "Waiting for the engine to resolve the recipients" in body
    assert 'hx-get="{}?shown=ready"'.format(reverse("campaigns:parts", args=[made.pk])) in body


def test_a_draft_has_no_live_panels(signed_in):
    body = detail(signed_in, campaign())
    assert "data-live" not in body and 'id="engine-panel"' not in body


def test_live_partials_read_a_fixed_number_of_queries_with_1000_rows(
    signed_in, django_assert_num_queries
):
    made = sending(recipients=10_000)
    first = CampaignPart.objects.get(campaign=made)
    for number in range(2, 41):
        part(made, number=number)
    snapshots(made, first, [(i, i // 2) for i in range(1_000)])
    for i in range(1_000):
        CampaignEvent.objects.create(campaign=made, kind="status_changed", message=f"event {i}")
    # session, user, campaign, parts, events
    with django_assert_num_queries(5):
        signed_in.get(reverse("campaigns:parts", args=[made.pk]))
    # session, user, campaign, recipients' sum, snapshots
    with django_assert_num_queries(5):
        signed_in.get(reverse("campaigns:chart", args=[made.pk]))


def test_when_the_poll_finds_a_new_status_the_heading_and_buttons_follow_it(signed_in):
    made = sending()
    page = detail(signed_in, made)
    assert f"?shown={Campaign.Status.SENDING}" in page
    parts_url = reverse("campaigns:parts", args=[made.pk])

    unchanged = signed_in.get(parts_url, {"shown": "sending"}).content.decode()
    assert "hx-swap-oob" not in unchanged  # an open Stop confirmation is left alone

    Campaign.objects.filter(pk=made.pk).update(status=Campaign.Status.FINISHED)
    changed = signed_in.get(parts_url, {"shown": "sending"}).content.decode()
    badge = changed.split('id="campaign-status"')[1].split("</span>")[0]
    assert 'hx-swap-oob="true"' in badge and "Finished" in badge
    actions = changed.split('id="campaign-actions"')[1].split("</div>")[0]
    assert 'hx-swap-oob="true"' in actions
    assert "stop-campaign" not in actions  # no Stop on a finished campaign
