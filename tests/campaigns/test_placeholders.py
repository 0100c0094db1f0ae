"""Issue 15: placeholders a marketer can trust, and a counter that tells the truth.

253 of 1,708 contacts got "Spring sale in : -20%" because {city} was empty; the live counter
said one part while Cyrillic cities made 654 texts UCS-2. Everything here goes through the
pages: the composer, its live preview, the send plan, approval and the engine's ledger."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import sendplan
from campaigns.engine import dispatch
from campaigns.models import Campaign, Recipient, SendPlan, TestSend
from contacts.models import Contact, ContactField, ContactList, ListMembership

pytestmark = pytest.mark.django_db

TEXT = "Spring sale in {city|your city}: -20%"


@pytest.fixture
def shoppers(db):
    """Spring: Kyiv, Lviv and one without a city (Oksana)."""
    ContactField.objects.create(key="city", label="City", bsg_field_id=31)
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring", bsg_group_id=901)
    people = {}
    for phone, name, city in [
        ("380501111111", "Olena", "Kyiv"),
        ("380502222222", "Ivan", "Lviv"),
        ("380503333333", "Oksana", ""),
    ]:
        people[name] = Contact.objects.create(phone=phone, name=name, fields={"city": city})
        ListMembership.objects.create(contact_list=spring, contact=people[name])
    return {"spring": spring, **people}


@pytest.fixture
def author(client, user):
    client.force_login(user)
    return client


def composer(shoppers, **overrides) -> dict:
    data = {
        "name": "Spring sale",
        "sms_mode": "individual",
        "text": TEXT,
        "missing_values": "fallback",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_at": "",
        "start_time_zone": "Europe/Kyiv",
        "pasted_numbers": "",
        "lists": [shoppers["spring"].pk],
        "action": "save",
    }
    data.update(overrides)
    return data


def preview(client, data: dict) -> str:
    return client.post(reverse("campaigns:preview"), {**data, "channel": "sms"}).content.decode()


def field_errors(body: str, name: str) -> list[str]:
    """The errors rendered inside the composer's block for one field (up to the next one)."""
    start = body.index(f'id="field-{name}"')
    end = body.find('<div class="field', start)
    block = body[start : end if end != -1 else len(body)]
    return re.findall(r'<p class="error field-error">(.*?)</p>', block, re.S)


def approve(campaign: Campaign) -> None:
    """A second person (not its author) approves it from the detail page."""
    from django.test import Client

    approver = Client()
    approver.force_login(
        get_user_model().objects.create_superuser("approver", password="a-long-test-password")
    )
    seen = approver.get(reverse("campaigns:detail", args=[campaign.pk])).context["approval_seen"]
    approver.post(reverse("campaigns:approve", args=[campaign.pk]), {"seen": seen})


def texts_sent(campaign: Campaign) -> dict[str, str]:
    return dict(Recipient.objects.filter(campaign=campaign).values_list("phone", "text"))


def test_a_fallback_fills_the_preview_the_plan_the_test_send_and_the_ledger(
    author, shoppers, bsg_settings, team_test_phone
):
    body = preview(author, composer(shoppers))
    assert "Spring sale in Kyiv: -20%" in body
    assert "Spring sale in your city: -20%" in body
    assert "1 of 3 recipients have no City {city}: they get “your city”." in body

    response = author.post(
        reverse("campaigns:new", args=["sms"]), composer(shoppers, action="plan")
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    plan = SendPlan.objects.get(campaign=campaign)
    assert plan.result["recipients"] == 3
    assert plan.result["missing_values"]["fallbacks"] == {
        "city": {"recipients": 1, "fallback": "your city"}
    }
    page = author.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "1 recipient has no City {city}: they get “your city”." in page

    author.post(
        reverse("campaigns:test-send", args=[campaign.pk]),
        {"phone": "+380 50 999 9999", "contact_phone": "380503333333"},
        HTTP_HX_REQUEST="true",
    )
    test = TestSend.objects.get()
    assert test.text == "Spring sale in your city: -20%"
    assert "the fallback for: City" in test.rendered_as

    author.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    approve(campaign)
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert not result.sent_back and result.recipients == 3
    assert texts_sent(campaign) == {
        "380501111111": "Spring sale in Kyiv: -20%",
        "380502222222": "Spring sale in Lviv: -20%",
        "380503333333": "Spring sale in your city: -20%",
    }


def test_skip_leaves_them_out_of_the_plan_and_the_ledger_and_dispatch_still_matches(
    author, shoppers, bsg_settings
):
    data = composer(shoppers, text="Spring sale in {city}: -20%", missing_values="skip")
    assert "1 of 3 recipients have no City {city}: they are left out." in preview(author, data)

    author.post(reverse("campaigns:new", args=["sms"]), {**data, "action": "plan"})
    campaign = Campaign.objects.get()
    result = SendPlan.objects.get(campaign=campaign).result
    assert result["recipients"] == 2
    assert result["total_parts"] == 2
    assert result["missing_values"]["left_out"] == 1
    assert result["audience"]["recipients"] == 2
    page = author.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "1 of 3 recipients are left out: no value for City {city} (1)." in page
    assert "Recipients missing a value:</strong> Leave them out" in page

    author.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    approve(campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.READY
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    # The digest the approver approved covers the same two recipients: it goes out.
    assert not result.sent_back and result.recipients == 2
    assert set(texts_sent(campaign)) == {"380501111111", "380502222222"}
    assert " : " not in "".join(texts_sent(campaign).values())


def test_a_value_missing_after_approval_under_skip_sends_it_back(author, shoppers, bsg_settings):
    data = composer(shoppers, text="Spring sale in {city}: -20%", missing_values="skip")
    author.post(reverse("campaigns:new", args=["sms"]), {**data, "action": "plan"})
    campaign = Campaign.objects.get()
    author.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    approve(campaign)
    Contact.objects.filter(phone="380502222222").update(fields={"city": ""})

    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.sent_back and not Recipient.objects.filter(campaign=campaign).exists()


def test_block_is_refused_beside_the_field_before_a_plan_and_at_approval_with_the_count(
    author, shoppers, bsg_settings
):
    data = composer(shoppers, text="Spring sale in {city}: -20%", missing_values="block")
    live = preview(author, data)
    refusal = "1 of 3 recipients have no value for City {city} (1), and sending is blocked"
    assert refusal in live

    response = author.post(
        reverse("campaigns:new", args=["sms"]), {**data, "action": "plan"}, follow=True
    )
    # Saved, so back to the composer (a redirect), which marks it beside the field.
    assert response.redirect_chain and response.status_code == 200
    assert any(refusal in e for e in field_errors(response.content.decode(), "missing_values"))
    campaign = Campaign.objects.get()
    assert campaign.missing_values == Campaign.MissingValues.BLOCK  # the draft is saved
    assert not SendPlan.objects.exists()  # and no plan computed for what cannot be sent

    # The detail page's plan button refuses it the same way, with the count.
    panel = author.post(
        reverse("campaigns:plan", args=[campaign.pk]), headers={"HX-Request": "true"}
    )
    assert refusal in panel.content.decode().split('id="plan-refused"')[1]
    assert not SendPlan.objects.exists()

    response = author.post(
        reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"}
    )
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert refusal in said
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT

    # Filled in, it may go.
    Contact.objects.filter(phone="380503333333").update(fields={"city": "Odesa"})
    author.post(reverse("campaigns:plan", args=[campaign.pk]))
    author.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL


def test_an_unknown_field_with_a_fallback_is_refused_beside_the_text(author, shoppers):
    data = composer(shoppers, text="Spring sale in {cty|your city}", action="plan")
    response = author.post(reverse("campaigns:new", args=["sms"]), data, follow=True)
    assert response.redirect_chain and response.status_code == 200
    errors = field_errors(response.content.decode(), "text")
    assert any("{cty|your city} names no contact field. Did you mean {city}?" in e for e in errors)
    assert not SendPlan.objects.exists()
    assert "{cty|your city} names no contact field" in preview(author, data)


def test_bsg_groups_refuse_a_fallback_and_skipping_beside_their_fields(author, shoppers):
    data = composer(shoppers, sms_mode="groups", missing_values="skip", action="plan")
    response = author.post(reverse("campaigns:new", args=["sms"]), data, follow=True)
    assert response.redirect_chain and response.status_code == 200
    body = response.content.decode()
    assert any(
        "BSG fills contact-book groups itself and has no fallback" in e
        for e in field_errors(body, "text")
    )
    # Without the fallback, {city} is BSG's {31}; leaving people out is still impossible there.
    data["text"] = "Spring sale in {city}: -20%"
    body = author.post(reverse("campaigns:new", args=["sms"]), data, follow=True).content.decode()
    assert any(
        "BSG sends to its contact-book groups whole" in e
        for e in field_errors(body, "missing_values")
    )


def test_the_live_counter_shows_the_worst_case_over_the_whole_audience(
    author, shoppers, monkeypatch
):
    # The Cyrillic city belongs to the last contact, beyond what the preview renders one by one.
    monkeypatch.setattr(sendplan, "PREVIEW_SCAN", 1)
    Contact.objects.filter(phone="380503333333").update(fields={"city": "Дніпропетровськ"})
    data = composer(
        shoppers, text="Spring sale in {city}: -20% on everything in the shop and online today"
    )
    body = preview(author, data)
    live = body.split('id="text-live"', 1)[1]
    assert re.search(
        r'at worst: <strong><span title="UCS-2: [^"]*">Special characters</span> · 2 SMS parts'
        r"</strong>",
        live,
    )
    assert "the text as typed has standard characters · 1 part" in live
    assert "Texts get special characters because of City “Дніпропетровськ”" in live

    # The next keystrokes do not read the audience's values again.
    with CaptureQueriesContext(connection) as queries:
        body = preview(author, {**data, "text": data["text"] + "!"})
    assert "Texts get special characters because of City “Дніпропетровськ”" in body
    assert not [q for q in queries.captured_queries if "LPAD" in q["sql"].upper()]


def test_the_worst_case_counts_a_fallback_that_leaves_gsm7(author, shoppers):
    body = preview(author, composer(shoppers, text="Sale in {city|вашому місті}"))
    assert "Texts get special characters because of City “вашому місті”" in body


def test_the_composer_offers_an_insert_field_picker(author, shoppers):
    body = author.get(reverse("campaigns:new", args=["sms"])).content.decode()
    picker = re.search(
        r'<div class="insert-field" data-insert-field-for="id_text" hidden>.*?</div>', body, re.S
    )
    assert picker
    assert '<option value="{city}">City {city}</option>' in picker.group(0)
    assert '<option value="{name}">Name {name}</option>' in picker.group(0)
    assert "js/composer.js" in body
    assert "<script>" not in body  # the CSP forbids inline scripts
