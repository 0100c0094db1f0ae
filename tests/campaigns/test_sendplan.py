import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.services import account_settings_update
from bsg import smstext
from campaigns import selectors, sendplan, services, tasks
from campaigns.models import SEND_PLAN_GIVEN_UP_AFTER, Campaign, SendPlan
from sandbox.server import SandboxConfig, SandboxServer
from tests.campaigns.conftest import make_campaign
from tests.conftest import SANDBOX_API_KEY

pytestmark = pytest.mark.django_db


def plan_for(campaign, user):
    return services.send_plan_request(campaign_id=campaign.pk, user=user)


def test_the_plan_counts_each_recipient_after_personalisation(audience, user, bsg_settings):
    people = audience["people"]
    people[0].fields = {"first_name": "Олена"}  # pushes this recipient into UCS-2
    people[0].save()
    people[1].fields = {"first_name": "I" * 160}  # pushes this one into two parts
    people[1].save()
    campaign = services.campaign_save(
        campaign=make_campaign(text="Hi {first_name}!"),
        list_ids=[audience["spring"].id, audience["vip"].id],
        user=user,
    )
    plan = plan_for(campaign, user)
    result = plan.result
    assert plan.status == SendPlan.Status.DONE
    assert result["recipients"] == 3
    assert result["excluded_do_not_contact"] == 1
    assert result["duplicates"] == 1
    assert result["histogram"] == [
        {"encoding": "GSM-7", "parts": 1, "recipients": 1},
        {"encoding": "UCS-2", "parts": 1, "recipients": 1},
        {"encoding": "GSM-7", "parts": 2, "recipients": 1},
    ]
    assert result["total_parts"] == 4
    assert result["pushed_to_ucs2"] == 1
    assert result["ucs2_examples"][0]["field"] == "first_name"
    assert result["ucs2_examples"][0]["value"] == "Олена"
    assert result["empty_fields"] == {"first_name": 1}
    assert result["longest"]["parts"] == 2
    # The sandbox prices 0.015 per part.
    assert Decimal(result["price"]["amount"]) == Decimal("0.0600")
    assert result["balance_covers"] is True


def test_the_plan_panel_speaks_of_one_recipient_and_one_part_in_the_singular(
    audience, user, bsg_settings, client
):
    people = audience["people"]
    people[0].fields = {"first_name": "Олена"}  # pushes this recipient into UCS-2
    people[0].save()
    campaign = services.campaign_save(
        campaign=make_campaign(text="Hi {first_name|there}!"),  # the third has no first name
        list_ids=[audience["spring"].id],
        user=user,
    )
    plan_for(campaign, user)
    client.force_login(user)
    panel = client.get(reverse("campaigns:plan", args=[campaign.pk])).content.decode()
    assert "1 recipient's text has special characters because of a field value:" in panel
    assert re.search(
        r"Longest text: \+380 \d\d \d{3} \d{4}, length \d+ \(\w+ characters\), 1 SMS part\.", panel
    )
    assert "1 recipient has no First name {first_name}: they get “there”." in panel


def _visible(html: str) -> str:
    """The panel without its title hints, where the technical names may stay."""
    return re.sub(r' title="[^"]*"', "", html)


def _plan_with_special_characters_and_an_over_limit_text(audience, user) -> Campaign:
    people = audience["people"]
    people[0].fields = {"first_name": "Олена"}  # special characters (UCS-2)
    people[0].save()
    people[1].fields = {"first_name": "x" * 800}  # past BSG's limit
    people[1].save()
    campaign = services.campaign_save(
        campaign=make_campaign(text="Hi {first_name|there}!"),
        list_ids=[audience["spring"].id],
        user=user,
    )
    plan_for(campaign, user)
    return campaign


def test_the_plan_panel_shows_phones_as_contacts_pages_do_and_speaks_no_encoding_jargon(
    audience, user, bsg_settings, client
):
    """A newcomer's report: "Longest: +380501111111", "UCS-2" and "Parts of the sending" beside
    "SMS parts in all" meant nothing to a marketer."""
    campaign = _plan_with_special_characters_and_an_over_limit_text(audience, user)
    client.force_login(user)
    panel = client.get(reverse("campaigns:plan", args=[campaign.pk])).content.decode()
    # Every phone the panel names reads as on the contacts pages (contacts.phones.phone_display).
    assert "<li>+380 50 111 1111: First name = “Олена”" in panel
    assert "<li>+380 50 222 2222: " in panel  # the over-limit example
    assert re.search(r"Longest text: \+380 50 222 2222, length \d+ \(standard characters\)", panel)
    assert "+3805" not in panel
    assert '<dt>Batches sent to BSG</dt><dd id="plan-bsg-campaigns">1' in panel
    assert "<th>SMS parts</th><th>Characters</th><th>Recipients</th>" in panel
    assert re.search(
        r'<span title="UCS-2: emoji, Cyrillic, [^"]*">Special characters</span>', panel
    )
    assert re.search(r'<span title="GSM-7: [^"]*">Standard characters</span>', panel)
    assert (
        "Special characters (emoji, Cyrillic, curly quotes) leave fewer characters per SMS part: "
        "70 instead of 160 (67 instead of 153 in each part of a longer text)."
    ) in panel
    assert "1 recipient's text has special characters because of a field value:" in panel
    shown = _visible(panel)
    for jargon in ("GSM-7", "UCS-2", "Parts of the sending", "BSG campaigns", "Encoding"):
        assert jargon not in shown


def test_the_plan_panel_says_the_same_in_ukrainian(audience, user, bsg_settings, client):
    campaign = _plan_with_special_characters_and_an_over_limit_text(audience, user)
    account_settings_update(user=user, language="uk")
    client.force_login(user)
    panel = client.get(reverse("campaigns:plan", args=[campaign.pk])).content.decode()
    assert "<li>+380 50 111 1111: " in panel and "+3805" not in panel
    assert '<dt>Пакетів для BSG</dt><dd id="plan-bsg-campaigns">1' in panel
    assert "<th>Частин SMS</th><th>Символи</th><th>Одержувачі</th>" in panel
    assert re.search(
        r'<span title="UCS-2: емодзі, кирилиця, [^"]*">Спеціальні символи</span>', panel
    )
    assert re.search(r'<span title="GSM-7: [^"]*">Звичайні символи</span>', panel)
    assert "Спеціальні символи (емодзі, кирилиця, фігурні лапки) зменшують" in panel
    assert "1 одержувач отримає текст зі спеціальними символами через значення поля:" in panel
    assert re.search(
        r"Найдовший текст: \+380 50 222 2222, довжина \d+ \(звичайні символи\), \d+ частин", panel
    )
    shown = _visible(panel)
    assert "GSM-7" not in shown and "UCS-2" not in shown


def test_over_limit_recipients_are_counted_with_the_field_to_blame(audience, user, bsg_settings):
    audience["people"][0].fields = {"first_name": "x" * 800}
    audience["people"][0].save()
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    result = plan_for(campaign, user).result
    assert result["over_limit"] == 1
    assert result["over_limit_examples"][0]["field"] == "first_name"


def test_rcs_is_not_priced_by_e10_but_counted(audience, user, bsg_settings):
    campaign = services.campaign_save(
        campaign=make_campaign(
            channel="rcs", sms_mode="", rcs_agent="Agent", rcs_cards=[{"text": "Hi"}]
        ),
        list_ids=[audience["spring"].id],
        user=user,
    )
    result = plan_for(campaign, user).result
    assert result["recipients"] == 3
    assert result["price"] is None
    assert "RCS" in result["price_error"]


def test_a_placeholder_error_refuses_the_plan_beside_the_text(audience, user, bsg_settings):
    campaign = services.campaign_save(
        campaign=make_campaign(text="Hi {nope}"), list_ids=[audience["spring"].id], user=user
    )
    with pytest.raises(ValidationError) as refused:
        plan_for(campaign, user)
    assert "{nope} names no contact field" in " ".join(refused.value.message_dict["text"])
    assert not SendPlan.objects.filter(campaign=campaign).exists()


def test_numbers_mode_plans_the_pasted_numbers(db, user, bsg_settings):
    campaign = services.campaign_save(
        campaign=make_campaign(
            sms_mode="numbers", text="Sale today", pasted_numbers="380501111111\n380501111111\nxx"
        ),
        list_ids=[],
        user=user,
    )
    result = sendplan.plan_campaign(campaign=campaign, ask_bsg=False)
    assert (result["recipients"], result["duplicates"], result["invalid"]) == (1, 1, 1)


@pytest.fixture
def poor_sandbox(settings):
    """A BSG account holding 0.02 EUR with no credit: not enough for three SMS parts."""
    config = SandboxConfig(
        api_key=SANDBOX_API_KEY, speed=50.0, seed=7, balance=Decimal("0.02"), currency="EUR"
    )
    server = SandboxServer(config, host="127.0.0.1", port=0)
    server.start()
    settings.BSG_API_URL = server.url
    settings.BSG_API_KEY = SANDBOX_API_KEY
    cache.clear()
    yield server
    server.shutdown()


def test_the_plan_warns_when_the_balance_does_not_cover_the_price(
    audience, user, poor_sandbox, client
):
    campaign = services.campaign_save(
        campaign=make_campaign(text="Hi {first_name}!"),
        list_ids=[audience["spring"].id],
        user=user,
    )
    result = plan_for(campaign, user).result
    assert Decimal(result["price"]["amount"]) == Decimal("0.0450")
    assert result["balance"]["amount"] == "0.02"
    assert result["balance_covers"] is False

    client.force_login(user)
    page = client.get(f"/campaigns/{campaign.pk}/")
    assert "The balance does not cover the estimated price" in page.content.decode()


def test_a_plan_whose_worker_died_shows_failed_and_can_be_counted_again(
    client, audience, user, bsg_settings
):
    """A worker lost mid-count (killed at the task's time limit, or unable to write its own
    failure) leaves the row RUNNING: the composer stops polling, says so and counts again."""
    client.force_login(user)
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    long_ago = timezone.now() - timedelta(minutes=20)
    dead = SendPlan.objects.create(
        campaign=campaign,
        fingerprint=services.campaign_fingerprint(campaign=campaign),
        status=SendPlan.Status.RUNNING,
        recipients_total=198_005,
        recipients_done=100_000,
        started_at=long_ago,
    )
    panel = client.get(reverse("campaigns:plan", args=[campaign.pk])).content.decode()
    assert "hx-trigger" not in panel
    assert "The count stopped at 100000 recipients and never finished" in panel
    assert "Compute again" in panel

    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    composer = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'value="send" disabled' not in composer
    assert SendPlan.objects.get(pk=dead.pk).status == SendPlan.Status.RUNNING  # history kept


def test_a_plan_no_worker_took_stops_waiting(audience, user):
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    plan = SendPlan.objects.create(campaign=campaign, fingerprint="x")
    assert not plan.is_finished
    SendPlan.objects.filter(pk=plan.pk).update(created_at=timezone.now() - timedelta(hours=1))
    plan.refresh_from_db()
    assert plan.is_finished and plan.has_failed
    assert "is the Celery worker running?" in plan.failure_text


def test_a_plan_is_given_up_only_after_its_task_could_have_run():
    assert SEND_PLAN_GIVEN_UP_AFTER.total_seconds() > tasks.send_plan_compute.time_limit


def test_the_audience_is_streamed_in_contact_order_and_limited(audience, user):
    spring = audience["spring"].id
    rows = selectors.audience_rows(
        channel="sms", sms_mode="individual", list_ids=[spring], pasted="", chunk_size=2
    )
    assert [row.phone for row in rows] == ["380501111111", "380502222222", "380503333333"]
    limited = selectors.audience_rows(
        channel="sms", sms_mode="individual", list_ids=[spring], pasted="", chunk_size=2, limit=1
    )
    assert [row.phone for row in limited] == ["380501111111"]


def test_the_audience_read_for_some_fields_gives_their_values_as_the_whole_object_does(
    audience, user
):
    spring = audience["spring"].id
    values = {
        "quoted": 'She said "hi"\\ \n',
        "plain": "Zürich Одеса O\u2019Brien",
        "empty": "",
        "number": 5,
        "decimal": 1.5,
        "yes": True,
        "nothing": None,
        "nested": {"a": [1, "b"]},
    }
    audience["people"][0].fields = {**values, "unread": "x"}
    audience["people"][0].save()
    wanted = [*values, "absent"]

    def read(field_keys):
        rows = selectors.audience_rows(
            channel="sms",
            sms_mode="individual",
            list_ids=[spring],
            pasted="",
            field_keys=field_keys,
        )
        return [(row.phone, row.fields) for row in rows]

    whole = read(None)
    projected = read(wanted)
    assert whole[0][1] == {**values, "unread": "x"}
    # The same values, only those asked for (a key no contact has is left out, as .get sees it).
    assert projected == [
        (phone, {key: value for key, value in fields.items() if key in wanted})
        for phone, fields in whole
    ]
    # A text without field placeholders reads no field at all.
    assert read(()) == [(phone, {}) for phone, _fields in whole]


def test_the_price_is_asked_for_a_sample_of_each_parts_count_taken_while_counting(
    audience, user, bsg_settings, sandbox, monkeypatch
):
    monkeypatch.setattr(sendplan, "PRICE_SAMPLE", 1)
    people = audience["people"]
    people[1].fields = {"first_name": "I" * 160}  # two parts
    people[1].save()
    people[2].fields = {"first_name": "Anna"}
    people[2].save()
    campaign = services.campaign_save(
        campaign=make_campaign(text="Hi {first_name}!"), list_ids=[audience["spring"].id], user=user
    )
    price = plan_for(campaign, user).result["price"]

    asked = [
        entry["json"] for entry in sandbox.state.find_requests(path_prefix="/api/campaigns/price")
    ]
    # One call per parts-count, in the order first met, with that bucket's first recipients
    # and the first of them's text; the two one-part recipients are priced from one of them.
    assert [([m["phone"] for m in body["messages"]], body["text"]) for body in asked] == [
        ([380501111111], "Hi Olena!"),
        ([380502222222], "Hi " + "I" * 160 + "!"),
    ]
    assert price["calls"] == 2
    assert price["extrapolated"] is True
    # 0.015 a part: two recipients of 1 part (extrapolated from one) and one of 2.
    assert Decimal(price["amount"]) == Decimal("0.0600")


def test_recipients_of_one_count_after_the_examples_are_full_still_count_in_every_figure(
    audience, user, bsg_settings
):
    from contacts.models import Contact, ListMembership

    spring = audience["spring"]
    Contact.objects.filter(pk__in=[p.pk for p in audience["people"]]).update(
        fields={"first_name": "Ann"}
    )
    ucs2 = [Contact(phone=f"38050700000{i}", fields={"first_name": "Олена"}) for i in range(8)]
    too_long = [
        Contact(phone=f"38050800000{i}", fields={"first_name": "x" * 800}) for i in range(7)
    ]
    made = Contact.objects.bulk_create(ucs2 + too_long)
    ListMembership.objects.bulk_create(ListMembership(contact_list=spring, contact=c) for c in made)
    campaign = services.campaign_save(
        campaign=make_campaign(text="Hi {first_name}!"), list_ids=[spring.id], user=user
    )
    result = plan_for(campaign, user).result

    assert result["recipients"] == 3 + 8 + 7
    assert result["pushed_to_ucs2"] == 8
    assert result["ucs2_by_field"] == {"first_name": 8}
    assert [e["phone"] for e in result["ucs2_examples"]] == [c.phone for c in ucs2[:5]]
    assert result["over_limit"] == 7
    assert [e["phone"] for e in result["over_limit_examples"]] == [c.phone for c in too_long[:5]]
    over = smstext.analyse("Hi " + "x" * 800 + "!")
    assert result["histogram"] == sorted(
        [
            {"encoding": "GSM-7", "parts": 1, "recipients": 3},
            {"encoding": "UCS-2", "parts": 1, "recipients": 8},
            {"encoding": "GSM-7", "parts": over.parts, "recipients": 7},
        ],
        key=lambda bucket: (bucket["parts"], bucket["encoding"]),
    )
    assert result["total_parts"] == 3 + 8 + 7 * over.parts
    assert result["most_parts"]["phone"] == too_long[0].phone
    assert result["longest"]["phone"] == too_long[0].phone


@pytest.mark.parametrize(
    ("broken", "said", "said_uk", "detail"),
    [
        (
            {"BSG_API_KEY": ""},
            "BSG cannot be reached right now: no API key is set. Ask an admin.",
            "BSG зараз недоступний: не задано ключ API. Зверніться до адміністратора.",
            "No BSG API key is configured (POST /api/auth/login)",
        ),
        (
            {"BSG_API_URL": "http://127.0.0.1:9"},  # the discard port: nothing listens
            "BSG cannot be reached right now. Try again in a few minutes.",
            "BSG зараз недоступний. Спробуйте ще раз за кілька хвилин.",
            "/api/auth/login",
        ),
    ],
)
def test_the_plan_says_plainly_why_bsg_gave_no_price_nor_balance(
    audience, user, bsg_settings, client, settings, broken, said, said_uk, detail
):
    for name, value in broken.items():
        setattr(settings, name, value)
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    result = plan_for(campaign, user).result
    assert (result["price_error"], result["balance_error"]) == (said, said)
    assert detail in result["price_detail"] and detail in result["balance_detail"]
    client.force_login(user)
    panel = client.get(reverse("campaigns:plan", args=[campaign.pk])).content.decode()
    price = panel.split('id="plan-price">', 1)[1].split("</dd>", 1)[0]
    title = re.search(r'title="([^"]*)"', price).group(1)
    assert said in price and detail in title
    # The technical detail only in the title: no path, no "unreachable" in the words shown.
    assert "/api/" not in re.sub(r'title="[^"]*"', "", panel)
    client.cookies["django_language"] = "uk"
    panel = client.get(reverse("campaigns:plan", args=[campaign.pk])).content.decode()
    assert panel.count(said_uk) == 2
