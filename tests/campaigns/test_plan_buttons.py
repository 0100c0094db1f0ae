"""The composer's Send buttons follow the send plan they depend on: when a plan computed in the
background finishes, the polled panel brings the buttons along (out of band), enabled; asking
for a new plan brings them disabled. Nothing else polls them."""

import pytest
from django.urls import reverse

from campaigns import sendplan, services
from campaigns.models import Campaign, SendPlan

from .conftest import make_campaign

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def buttons(body: str) -> str:
    return body.split('id="compose-buttons"')[1].split("</div>")[0]


def test_the_send_buttons_are_enabled_when_the_plan_finishes_in_the_background(
    client_in, user, audience, bsg_settings
):
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].pk], user=user
    )
    # A plan a worker has yet to count, as for an audience too big to count in the request.
    plan = SendPlan.objects.create(
        campaign=campaign,
        fingerprint=services.campaign_fingerprint(campaign=campaign),
        recipients_total=3,
        created_by=user,
    )
    page = client_in.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "disabled" in buttons(page) and "Compute a send plan first" in buttons(page)
    plan_url = reverse("campaigns:plan", args=[campaign.pk])
    assert f'hx-get="{plan_url}?page=composer"' in page

    # Still counting: the poll leaves the buttons alone.
    polled = client_in.get(plan_url, {"page": "composer"}, **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in polled and 'id="compose-buttons"' not in polled

    sendplan.send_plan_compute(plan_id=plan.pk)  # the worker's part
    polled = client_in.get(plan_url, {"page": "composer"}, **HTMX).content.decode()
    assert "hx-trigger" not in polled.split('id="send-plan"')[1].split(">")[0]
    assert 'hx-swap-oob="true"' in polled.split('id="compose-buttons"')[1].split(">")[0]
    # Send now is enabled; schedule waits for a start time (this one starts "now").
    assert 'value="send" disabled' not in buttons(polled)
    assert "Ask for approval to send now" in buttons(polled)

    # The detail page's own plan panel has no composer buttons to follow.
    on_detail = client_in.get(plan_url, **HTMX).content.decode()
    assert 'id="compose-buttons"' not in on_detail and "?page=composer" not in on_detail


def test_asking_for_a_new_plan_brings_the_buttons_as_they_now_are(
    client_in, user, audience, bsg_settings
):
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].pk], user=user
    )
    plan_url = reverse("campaigns:plan", args=[campaign.pk])
    # Small audiences are counted in the request: the plan is fresh at once.
    body = client_in.post(plan_url + "?page=composer", **HTMX).content.decode()
    assert 'value="send" disabled' not in buttons(body)
    Campaign.objects.filter(pk=campaign.pk).update(text="Hi {first_name}, 30% off")
    body = client_in.get(plan_url, {"page": "composer"}, **HTMX).content.decode()
    assert "disabled" in buttons(body) and "out of date" in body
