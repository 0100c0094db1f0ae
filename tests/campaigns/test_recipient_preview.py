"""Issue 15: a preview you can step through. The author chooses any recipient (by name or
phone), steps next and previous, and jumps to the longest text, the one with the most SMS parts
and those missing a value; with htmx (the form as typed) and without script (GET links to the
composer, the saved draft)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import recipient_preview, sendplan, services
from campaigns.models import Campaign, SendPlan
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

pytestmark = pytest.mark.django_db

# 107 characters around the city: "Llanfair…" (58, GSM-7) makes the longest text in one part;
# "Івано-Франківськ" makes it UCS-2, 123 characters in two parts: the most expensive.
TEXT = (
    "Spring sale in {city|your city}: -20% on every coat, boot and scarf in the shop until "
    "Sunday. Reply STOP to end."
)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def shoppers(db):
    """Spring, in id order: Olena (Kyiv), Ivan (Dnipro), Oksana (no city), Opted (Lviv, on the
    do-not-contact list), Petro (Івано-Франківськ), Gareth (Llanfair…)."""
    ContactField.objects.create(key="city", label="City")
    spring = ContactList.objects.create(name="Spring")
    people = {}
    for phone, name, city in [
        ("380501111111", "Olena", "Kyiv"),
        ("380502222222", "Ivan", "Dnipro"),
        ("380503333333", "Oksana", ""),
        ("380504444444", "Opted", "Lviv"),
        ("380505555555", "Petro", "Івано-Франківськ"),
        ("380506666666", "Gareth", "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"),
    ]:
        people[name] = Contact.objects.create(phone=phone, name=name, fields={"city": city})
        ListMembership.objects.create(contact_list=spring, contact=people[name])
    DoNotContact.objects.create(phone="380504444444")
    # Someone in no list of the campaign: never shown.
    Contact.objects.create(phone="380507777777", name="Outsider", fields={"city": "Kyiv"})
    return {"spring": spring, **people}


@pytest.fixture
def author(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def campaign(user, shoppers) -> Campaign:
    draft = Campaign(
        name="Spring sale",
        channel=Campaign.Channel.SMS,
        sms_mode=Campaign.SmsMode.INDIVIDUAL,
        text=TEXT,
        sender="Shop",
    )
    return services.campaign_save(campaign=draft, list_ids=[shoppers["spring"].pk], user=user)


def composer(campaign: Campaign, shoppers, **overrides) -> dict:
    """The composer's form as the browser posts it alongside the preview's buttons."""
    data = {
        "channel": "sms",
        "campaign_id": campaign.pk,
        "name": campaign.name,
        "sms_mode": "individual",
        "text": campaign.text,
        "missing_values": "fallback",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_time_zone": "Europe/Kyiv",
        "lists": [shoppers["spring"].pk],
    }
    data.update(overrides)
    return data


def step(client, campaign, shoppers, **asked) -> str:
    """One click in the preview, with htmx: the form as typed and the preview's own fields."""
    data = {**composer(campaign, shoppers), **{k: v for k, v in asked.items() if v is not None}}
    response = client.post(reverse("campaigns:preview-recipient"), data, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def shown(body: str) -> str:
    """The name of the recipient the preview shows."""
    found = re.search(r"Recipient: \+\d+(?: \d+)* · (\w+)", body)
    return found.group(1) if found else ""


def contact_id(body: str) -> str:
    return re.search(r'name="contact" value="(\d*)"', body).group(1)


def test_next_and_previous_step_through_the_audience_by_id_without_the_opted_out(
    author, campaign, shoppers
):
    first = step(author, campaign, shoppers)
    assert shown(first) == "Olena"
    order = ["Olena"]
    body = first
    for _ in range(4):
        body = step(author, campaign, shoppers, contact=contact_id(body), step="next")
        order.append(shown(body))
    # Opted is on the do-not-contact list, Outsider in no list of the campaign.
    assert order == ["Olena", "Ivan", "Oksana", "Petro", "Gareth"]
    end = step(author, campaign, shoppers, contact=contact_id(body), step="next")
    assert shown(end) == "Gareth" and "That was the last recipient." in end

    back = step(author, campaign, shoppers, contact=shoppers["Petro"].pk, step="previous")
    assert shown(back) == "Oksana"
    start = step(author, campaign, shoppers, contact=shoppers["Olena"].pk, step="previous")
    assert shown(start) == "Olena" and "This is the first recipient." in start


def test_the_preview_shows_the_text_its_encoding_and_parts_for_that_recipient(
    author, campaign, shoppers
):
    body = step(author, campaign, shoppers, contact=shoppers["Petro"].pk)
    assert "Spring sale in Івано-Франківськ: -20%" in body
    assert "special characters</span> · 2 parts" in body  # GSM-7/UCS-2 only in the hint
    missing = step(author, campaign, shoppers, contact=shoppers["Oksana"].pk)
    assert "Spring sale in your city: -20%" in missing and "Fallback used: City" in missing


def test_the_jumps_find_the_longest_the_most_expensive_and_those_missing_a_value(
    author, campaign, shoppers
):
    longest = step(author, campaign, shoppers, step="longest")
    assert shown(longest) == "Gareth" and "standard characters</span> · 1 part" in longest
    expensive = step(author, campaign, shoppers, step="most_parts")
    assert shown(expensive) == "Petro" and "special characters</span> · 2 parts" in expensive
    missing = step(author, campaign, shoppers, contact=shoppers["Olena"].pk, step="missing")
    assert shown(missing) == "Oksana"
    # The only one missing a value: the next click goes round to her again.
    again = step(author, campaign, shoppers, contact=shoppers["Oksana"].pk, step="missing")
    assert shown(again) == "Oksana"


def test_the_jumps_follow_the_text_as_typed_not_as_saved(author, campaign, shoppers):
    """The first name is typed in; nobody has one, so everyone is missing a value."""
    ContactField.objects.create(key="first_name", label="First name")
    typed = {"text": "Hi {first_name}, " + TEXT}
    body = step(author, campaign, shoppers, contact=shoppers["Oksana"].pk, step="missing")
    assert shown(body) == "Oksana"
    data = {**composer(campaign, shoppers, **typed), "contact": shoppers["Olena"].pk}
    data["step"] = "missing"
    body = author.post(reverse("campaigns:preview-recipient"), data, **HTMX).content.decode()
    assert shown(body) == "Ivan" and "Hi , Spring sale in Dnipro" in body


def test_with_a_fresh_send_plan_the_jumps_take_its_answer(author, campaign, shoppers):
    SendPlan.objects.create(
        campaign=campaign,
        fingerprint=services.campaign_fingerprint(campaign=campaign),
        status=SendPlan.Status.DONE,
        finished_at=timezone.now(),
        result=sendplan.plan_campaign(campaign=campaign, ask_bsg=False),
    )
    longest = step(author, campaign, shoppers, step="longest")
    assert shown(longest) == "Gareth" and "as the send plan counted them" in longest
    expensive = step(author, campaign, shoppers, step="most_parts")
    assert shown(expensive) == "Petro" and "as the send plan counted them" in expensive
    # Typed differently from what was planned: the plan no longer answers.
    data = {**composer(campaign, shoppers, text=TEXT + "!"), "step": "longest"}
    body = author.post(reverse("campaigns:preview-recipient"), data, **HTMX).content.decode()
    assert shown(body) == "Gareth" and "as the send plan counted them" not in body


def test_search_finds_a_recipient_by_name_and_by_phone_but_not_outside_the_audience(
    author, campaign, shoppers
):
    by_name = step(author, campaign, shoppers, search="oksa", step="search")
    assert shown(by_name) == "Oksana" and "1 found." in by_name
    by_phone = step(author, campaign, shoppers, search="+380 50 555", step="search")
    assert shown(by_phone) == "Petro"
    national = step(author, campaign, shoppers, search="050 666", step="search")
    assert shown(national) == "Gareth"
    for outside in ("Opted", "Outsider"):
        body = step(author, campaign, shoppers, search=outside, step="search")
        assert f"No recipient of this campaign has “{outside}”" in body
        assert shown(body) == "Olena"


def test_a_search_with_several_matches_lets_the_author_choose(author, campaign, shoppers):
    body = step(author, campaign, shoppers, search="38050", step="search")
    assert "5 found." in body
    assert f'name="choose" value="{shoppers["Gareth"].pk}"' in body
    # Each match and the recipient shown: numbers as contacts pages show them.
    assert "Gareth · +380 50 666 6666</button>" in body
    assert "Recipient: +380 50 111 1111 · Olena" in body
    assert not re.search(r"\+380\d", body)
    chosen = step(author, campaign, shoppers, search="38050", choose=shoppers["Gareth"].pk)
    assert shown(chosen) == "Gareth"
    opted = step(author, campaign, shoppers, choose=shoppers["Opted"].pk)
    assert shown(opted) == "Olena" and "not one of this campaign&#x27;s recipients" in opted


def test_without_script_the_buttons_are_links_to_the_composer(author, campaign, shoppers):
    edit = reverse("campaigns:edit", args=[campaign.pk])
    page = author.get(edit).content.decode()
    section = page.split('id="recipient-preview"')[1]
    assert f'method="get" action="{edit}#recipient-preview"' in section
    assert shown(section) == "Olena"
    following = author.get(edit, {"contact": shoppers["Olena"].pk, "step": "next"})
    assert shown(following.content.decode().split('id="recipient-preview"')[1]) == "Ivan"
    found = author.get(edit, {"search": "Petro", "step": "search"}).content.decode()
    assert shown(found.split('id="recipient-preview"')[1]) == "Petro"


def test_each_step_costs_the_same_queries_however_big_the_audience(
    author, campaign, shoppers, django_assert_max_num_queries
):
    def queries(**asked) -> int:
        # The live preview beside it has just summarised the audience's values (cached).
        step(author, campaign, shoppers, **asked)
        with CaptureQueriesContext(connection) as captured:
            step(author, campaign, shoppers, **asked)
        return len(captured)

    asked = [
        {"contact": shoppers["Ivan"].pk, "step": "next"},
        {"contact": shoppers["Petro"].pk, "step": "previous"},
        {"step": "longest"},
        {"step": "most_parts"},
        {"contact": shoppers["Olena"].pk, "step": "missing"},
        {"search": "Petro", "step": "search"},
    ]
    small = [queries(**a) for a in asked]
    Contact.objects.bulk_create(
        Contact(phone=f"38067{n:07d}", name=f"Many {n}", fields={"city": "Odesa"})
        for n in range(300)
    )
    ListMembership.objects.bulk_create(
        ListMembership(contact_list=shoppers["spring"], contact=c)
        for c in Contact.objects.filter(phone__startswith="38067")
    )
    assert [queries(**a) for a in asked] == small
    with django_assert_max_num_queries(12):
        step(author, campaign, shoppers, contact=shoppers["Ivan"].pk, step="next")


@pytest.mark.parametrize(
    "asked",
    [
        {"contact": str(10**25), "step": "next"},
        {"contact": "-1", "step": "previous"},
        {"contact": "12abc"},
        {"choose": str(10**25)},
        {"contact": "9223372036854775807", "step": "next"},
        {"search": "Ole\x00na", "step": "search"},
        {"search": "x" * 5_000, "step": "search"},
        {"search": "%_\\", "step": "search"},
        {"step": "drop table"},
    ],
)
def test_hostile_parameters_are_said_beside_the_fields_never_a_500(
    author, campaign, shoppers, asked
):
    body = step(author, campaign, shoppers, **asked)
    assert shown(body)  # a recipient is still shown
    edit = reverse("campaigns:edit", args=[campaign.pk])
    assert author.get(edit, asked).status_code == 200


def test_a_bad_contact_link_is_said_and_the_first_recipient_shown(author, campaign, shoppers):
    body = step(author, campaign, shoppers, contact=str(10**25), step="next")
    assert "That recipient link is not valid" in body and shown(body) == "Olena"
    nul = step(author, campaign, shoppers, search="Ole\x00na", step="search")
    errors = nul.split('id="errors-recipient-search"')[1].split("</div>")[0]
    assert "Type letters or digits to search." in errors


def test_an_rcs_campaign_steps_through_its_sms_fallback(author, user, shoppers):
    rcs = services.campaign_save(
        campaign=Campaign(
            name="Spring RCS",
            channel=Campaign.Channel.RCS,
            rcs_agent="shop",
            fallback_enabled=True,
            fallback_text="Spring sale: -20% this week",
            fallback_sender="Shop",
        ),
        list_ids=[shoppers["spring"].pk],
        user=user,
    )
    page = author.get(reverse("campaigns:edit", args=[rcs.pk])).content.decode()
    section = page.split('id="recipient-preview"')[1]
    assert shown(section) == "Olena" and "Spring sale: -20% this week" in section
    following = author.get(
        reverse("campaigns:edit", args=[rcs.pk]), {"contact": shoppers["Olena"].pk, "step": "next"}
    ).content.decode()
    assert shown(following.split('id="recipient-preview"')[1]) == "Ivan"


def test_missing_a_value_reads_a_bounded_window_and_looks_on_from_its_end(
    author, campaign, shoppers, monkeypatch
):
    monkeypatch.setattr(recipient_preview, "MISSING_WINDOW", 1)
    body = step(author, campaign, shoppers, contact=shoppers["Olena"].pk, step="missing")
    assert shown(body) == "Ivan" and "None of the next 1 recipients lacks a value" in body
    body = step(author, campaign, shoppers, contact=contact_id(body), step="missing")
    assert shown(body) == "Oksana" and "A recipient missing a value." in body


def test_nobody_missing_a_value_costs_no_walk(author, user, shoppers):
    Contact.objects.filter(pk=shoppers["Oksana"].pk).update(fields={"city": "Poltava"})
    full = services.campaign_save(
        campaign=Campaign(
            name="Full",
            channel=Campaign.Channel.SMS,
            sms_mode=Campaign.SmsMode.INDIVIDUAL,
            text=TEXT,
            sender="Shop",
        ),
        list_ids=[shoppers["spring"].pk],
        user=user,
    )
    body = step(author, full, shoppers, contact=shoppers["Ivan"].pk, step="missing")
    assert shown(body) == "Ivan" and "Every recipient has a value for each placeholder." in body
