import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import approval, checks, selectors, services
from campaigns.models import Campaign, CampaignPart, Recipient, SendPlan
from contacts.models import ContactList
from tests.campaigns.conftest import make_campaign

pytestmark = pytest.mark.django_db


def check(campaign, list_ids=(), **kwargs):
    return checks.campaign_check(campaign=campaign, list_ids=list(list_ids), **kwargs)


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"sender": ""}, "sender", "sender is empty"),
        ({"sender": "TwelveChars1"}, "sender", "at most 11"),
        ({"sender": "1234567890123456"}, "sender", "at most 15"),
        ({"sender": "Магазин"}, "sender", "Latin letters"),
        ({"validity_hours": 0}, "validity_hours", "outside BSG's 1 to 72"),
        ({"validity_hours": 73}, "validity_hours", "outside BSG's 1 to 72"),
        ({"tariff_code": 10}, "tariff_code", "outside BSG's 0 to 9"),
        ({"text": ""}, "text", "Write the text"),
        ({"text": "a" * 766}, "text", "at most 765"),
        ({"text": "ж" * 336}, "text", "at most 335"),
        ({"text": "Hi {nope}"}, "text", "names no contact field"),
        ({"name": " "}, "name", "Give the campaign a name"),
    ],
)
def test_each_sms_rule_has_a_message_next_to_its_field(audience, overrides, field, fragment):
    problems = check(make_campaign(**overrides), [audience["spring"].id])
    assert any(fragment in m for m in problems.errors.get(field, [])), problems.errors


def test_a_valid_campaign_has_no_problems_and_warns_on_a_short_sender(audience):
    problems = check(make_campaign(sender="AB"), [audience["spring"].id])
    assert not problems
    assert "at least 3" in problems.warnings[0]


def test_lists_are_required_and_groups_need_linked_lists(audience):
    assert "Choose at least one contact list." in check(make_campaign()).errors["lists"]
    groups = make_campaign(sms_mode="groups", text="Hi {17}")
    problems = check(groups, [audience["spring"].id, audience["vip"].id])
    assert problems.errors["lists"] == [
        "The list “VIP” is not linked to a BSG contact book, so BSG cannot send to it as a "
        "group. Link it on the list's page, or choose “To contact lists, personalised here”."
    ]
    # A marketer's words: no API names ("group methods", "send-groups").
    assert not re.search(r"method|send-groups|sms/", problems.errors["lists"][0])


def test_pasted_numbers_are_normalised_deduplicated_and_refs_checked(db):
    parsed = selectors.pasted_numbers_parse(
        text="+380 50 111 1111 = ref1\n380501111111, 0502222222; 12ab\n+380503333333 = bad-ref\n"
        "380504444444 380505555555"
    )
    assert [(n.phone, n.reference_id) for n in parsed.numbers] == [
        ("380501111111", "ref1"),
        ("380502222222", None),
        ("380504444444", None),
        ("380505555555", None),
    ]
    assert parsed.duplicates == 1
    assert [e.entry for e in parsed.invalid] == ["12ab", "+380503333333 = bad-ref"]
    problems = check(make_campaign(sms_mode="numbers", text="Hi", pasted_numbers="12ab"))
    assert "“12ab”" in problems.errors["pasted_numbers"][0]


def _used_reference(campaign_name: str, reference_id: str) -> Campaign:
    """A campaign whose ledger already holds `reference_id` (the engine's unique constraint)."""
    sent = Campaign.objects.create(name=campaign_name, status=Campaign.Status.FINISHED)
    part = CampaignPart.objects.create(campaign=sent, number=1, recipients=1)
    Recipient.objects.create(
        campaign=sent, part=part, seq=0, phone="380509999999", reference_id=reference_id
    )
    return sent


def test_a_reference_id_given_twice_names_both_lines(db):
    pasted = "380501111111 = abc\n380502222222\n380503333333 = abc, 380504444444 = xyz"
    problems = check(make_campaign(sms_mode="numbers", text="Hi", pasted_numbers=pasted))
    assert problems.errors["pasted_numbers"] == ["Line 1 and line 3 both use reference id abc."]


def test_a_reference_id_an_earlier_campaign_used_is_refused(db):
    _used_reference("Spring sale", "order42")
    waiting = make_campaign(
        name="Autumn", sms_mode="numbers", text="Hi", pasted_numbers="380501111111 = late7"
    )
    waiting.status = Campaign.Status.SCHEDULED
    waiting.save()
    pasted = "380502222222\n380503333333 = order42\n380504444444 = late7"
    problems = check(make_campaign(sms_mode="numbers", text="Hi", pasted_numbers=pasted))
    assert problems.errors["pasted_numbers"] == [
        "Line 2: reference id order42 was already used by campaign “Spring sale”.",
        "Line 3: reference id late7 is already taken by campaign “Autumn”, waiting to send.",
    ]


def test_a_duplicated_draft_with_used_references_cannot_be_submitted(db, user):
    original = make_campaign(sms_mode="numbers", text="Hi", pasted_numbers="380501111111 = r1")
    original.save()
    _used_reference("Sent before", "r1")
    copy = services.campaign_duplicate(campaign_id=original.pk, user=user)
    with pytest.raises(ValidationError) as refused:
        approval.campaign_submit(campaign_id=copy.pk, user=user, when=None)
    assert refused.value.message_dict["pasted_numbers"] == [
        "Line 1: reference id r1 was already used by campaign “Sent before”."
    ]


def test_numbers_mode_refuses_field_placeholders(audience):
    campaign = make_campaign(sms_mode="numbers", pasted_numbers="380501111111")
    assert "goes to everyone alike" in check(campaign).errors["text"][0]


def test_rcs_rules(audience):
    campaign = make_campaign(
        channel="rcs",
        sms_mode="",
        rcs_agent="x" * 41,
        rcs_cards=[
            {"title": "t" * 201, "media_url": "ftp://x", "suggestions": [{"text": "y" * 26}] * 5},
            {},
        ],
        fallback_enabled=True,
        fallback_text="Hi {firstname}",
        fallback_sender="",
    )
    problems = check(campaign, [audience["spring"].id, audience["vip"].id])
    assert "at most 40" in problems.errors["rcs_agent"][0]
    # To contact lists the fallback is personalised like an SMS: an unknown field is refused.
    assert "Did you mean {first_name}?" in problems.errors["fallback_text"][0]
    assert "sender is empty" in problems.errors["fallback_sender"][0]
    # RCS reaches the lists' phones through rcs/send: a list need not be linked to BSG.
    assert "lists" not in problems.errors
    card = problems.cards[0]
    assert "at most 200" in card["title"][0]
    assert "http://" in card["media_url"][0]
    assert "At most 4 buttons" in card["suggestions"][0]
    assert "needs a text or a media URL" in problems.cards[1]["text"][0]


def test_start_rules_for_bsg_and_local_schedules(audience):
    now = timezone.now()
    local = make_campaign()
    assert not check(local, [audience["spring"].id], when=now + timedelta(days=90), schedule=True)
    past = check(local, [audience["spring"].id], when=now - timedelta(hours=1), schedule=True)
    assert "has passed" in past.errors["start_at"][0]
    bsg = make_campaign(bsg_schedules=True)
    late = check(bsg, [audience["spring"].id], when=now + timedelta(days=31), schedule=True)
    assert "more than 30 days" in late.errors["start_at"][0]


def test_request_send_moves_a_draft_once_by_compare_and_set(audience, user, bsg_settings):
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    services.send_plan_request(campaign_id=campaign.pk, user=user)
    when = timezone.now() + timedelta(days=2)
    sent = services.campaign_request_send(campaign_id=campaign.pk, user=user, when=when)
    assert sent.status == Campaign.Status.SCHEDULED
    assert sent.start_at == when
    with pytest.raises(ValidationError):
        services.campaign_request_send(campaign_id=campaign.pk, user=user, when=None)
    with pytest.raises(ValidationError):
        services.campaign_save(campaign=sent, list_ids=[], user=user)
    assert services.campaign_unschedule(campaign_id=campaign.pk).status == Campaign.Status.DRAFT


def test_request_send_refuses_recipients_over_the_limit(audience, user, bsg_settings):
    audience["people"][0].fields = {"first_name": "x" * 800}
    audience["people"][0].save()
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    services.send_plan_request(campaign_id=campaign.pk, user=user)
    with pytest.raises(ValidationError) as refused:
        services.campaign_request_send(campaign_id=campaign.pk, user=user, when=None)
    assert "1 recipients' texts break BSG's limits" in refused.value.message_dict["text"][0]


def test_a_plan_goes_stale_when_the_campaign_changes(audience, user, bsg_settings):
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    services.send_plan_request(campaign_id=campaign.pk, user=user)
    assert services.campaign_plan_is_fresh(campaign=campaign)[0]
    campaign.lists.add(audience["vip"])
    assert not services.campaign_plan_is_fresh(campaign=campaign)[0]


def test_big_audiences_are_planned_by_the_task(
    audience, user, bsg_settings, monkeypatch, django_capture_on_commit_callbacks
):
    from campaigns import tasks

    monkeypatch.setattr(services, "SEND_PLAN_INLINE_MAX", 1)
    campaign = services.campaign_save(
        campaign=make_campaign(), list_ids=[audience["spring"].id], user=user
    )
    enqueued = []
    monkeypatch.setattr(tasks.send_plan_compute, "delay", enqueued.append)
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.send_plan_request(campaign_id=campaign.pk, user=user)
    assert enqueued == [plan.pk]
    assert SendPlan.objects.get(pk=plan.pk).status == SendPlan.Status.PENDING
    tasks.send_plan_compute.run(plan.pk)
    tasks.send_plan_compute.run(plan.pk)  # a redelivery finds it done and does nothing
    plan.refresh_from_db()
    assert plan.status == SendPlan.Status.DONE
    assert plan.result["recipients"] == 3


def test_bsg_campaign_splits(db):
    assert selectors.bsg_campaigns_for(channel="sms", recipients=10_000) == 1
    assert selectors.bsg_campaigns_for(channel="sms", recipients=10_001) == 2
    assert selectors.bsg_campaigns_for(channel="rcs", recipients=5_001) == 2
    assert selectors.bsg_campaigns_for(channel="rcs", recipients=0) == 0
    assert ContactList.objects.count() == 0
