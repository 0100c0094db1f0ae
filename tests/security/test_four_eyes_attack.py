"""Four-eyes attacked again after issue 14 was closed: real requests through the pages, a real
PostgreSQL and the BSG sandbox behind the engine, as an author, an approver, someone holding
both roles and a viewer. The promise under attack: nothing reaches a recipient that a second
person did not approve, as it is sent; and no input answers with a 500."""

import importlib
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.services import account_settings_update
from audit.models import AuditEntry
from campaigns.engine import dispatch, schedules, submit
from campaigns.models import Campaign, CampaignSchedule, TestPhone, TestSend
from config.bsg import bsg_client
from contacts import services as contact_services
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

pytestmark = pytest.mark.django_db

EVIL = "URGENT your account is locked, pay at http://evil.example/x"
PASSWORD = "a-long-test-password"
groups_migration = importlib.import_module("campaigns.migrations.0004_approval_permissions_groups")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(db):
    """The groups the data migration makes, and people in them (tests/access/conftest.py)."""
    if Group.objects.filter(name__in=groups_migration.GROUPS).count() != len(
        groups_migration.GROUPS
    ):
        groups_migration.create_groups(global_apps, None)
    group = {g.name: g for g in Group.objects.filter(name__in=groups_migration.GROUPS)}

    def person(name: str, *group_names: str):
        user = get_user_model().objects.create_user(name, password=PASSWORD)
        user.groups.add(*(group[g] for g in group_names))
        return user

    return {
        "author": person("olena", "Campaign authors"),
        "approver": person("ivan", "Campaign approvers"),
        "both": person("writer-approver", "Campaign authors", "Campaign approvers"),
        "viewer": person("vera", "Viewers"),
    }


@pytest.fixture
def engine_settings(bsg_settings):
    bsg_settings.ENGINE_BACKOFF_BASE = 0.0
    bsg_settings.ENGINE_BACKOFF_MAX = 0.01
    return bsg_settings


@pytest.fixture
def people_list(db):
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    people = {}
    for phone, name in [("380501111111", "Olena"), ("380502222222", "Bob")]:
        people[name] = Contact.objects.create(phone=phone, name=name, fields={"first_name": name})
        ListMembership.objects.create(contact_list=spring, contact=people[name])
    return {"spring": spring, **people}


def composer_data(**overrides) -> dict:
    data = {
        "name": "Spring sale",
        "sms_mode": "individual",
        "text": "Hi {first_name}, spring sale",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_at": "",
        "start_time_zone": "Europe/Kyiv",
        "pasted_numbers": "",
        "lists": [],
        "action": "save",
    }
    data.update(overrides)
    return data


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def sent_to_bsg(sandbox) -> str:
    sends = [r for r in sandbox.state.requests if "/send" in str(r["path"])]
    return json.dumps(sends, ensure_ascii=False)


def messages_at_bsg(sandbox) -> dict[str, str]:
    """Phone -> the text BSG sent it, personalised as BSG personalised it."""
    texts = {c.id: c.text for c in sandbox.state.store.all_campaigns()}
    rows, _ = sandbox.state.store.find_messages(
        message_id=None,
        id_ranges=[],
        reference_id=None,
        sort="id",
        descending=False,
        offset=0,
        limit=10_000,
        delivered_at=lambda row: None,
    )
    return {
        str(row.phone): row.text if row.text is not None else texts[row.campaign_id] for row in rows
    }


def send_out(campaign_id: int, now=None) -> dispatch.DispatchResult | None:
    """What the worker does with a due campaign: resolve its ledger, submit its parts."""
    result = dispatch.campaign_dispatch(campaign_id=campaign_id, now=now)
    for part_id in result.part_ids if result else []:
        submit.part_submit(part_id=part_id)
    return result


def ask_and_approve(client, team, campaign: Campaign, *, asker="author", approver="approver"):
    """The author plans and asks; the approver reads the page and approves what it shows."""
    client.force_login(team[asker])
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    client.force_login(team[approver])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    return client.post(
        reverse("campaigns:approve", args=[campaign.pk]), {"seen": page.context["approval_seen"]}
    )


# --- 1. whoever swaps the pasted numbers wrote what goes out --------------------------------


def test_whoever_swaps_the_pasted_numbers_may_not_approve_them(client, team, sandbox, bsg_settings):
    numbers = composer_data(sms_mode="numbers", text="Spring sale today")
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:new", args=["sms"]),
        {**numbers, "pasted_numbers": "+380501111111\n+380502222222"},
    )
    campaign = Campaign.objects.get()
    # Someone holding both roles swaps both numbers for two of their choosing: same count.
    client.force_login(team["both"])
    client.post(
        reverse("campaigns:edit", args=[campaign.pk]),
        {**numbers, "pasted_numbers": "+380503333333\n+380504444444"},
    )
    assert "380503333333" in Campaign.objects.get(pk=campaign.pk).pasted_numbers
    # The author asks without noticing; the one who chose the numbers may not approve them.
    response = ask_and_approve(client, team, campaign, approver="both")
    assert "You wrote or changed this campaign" in said(response)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL
    # And the swap is in the audit log, with who did it.
    assert AuditEntry.objects.filter(action="campaign-update", actor=team["both"]).exists()


# --- 2. BSG groups: BSG sends to its own contact book, not to what was approved -------------


@pytest.fixture
def linked_field(engine_settings, people_list):
    """first_name linked to a BSG contact field, so a groups campaign may use it."""
    with bsg_client() as client:
        bsg_field = client.field_create(name="First name", type="text")
    ContactField.objects.filter(key="first_name").update(bsg_field_id=bsg_field.id)
    return bsg_field.id


def push_list(client, contact_list: ContactList) -> None:
    """The list page's Push to BSG, and the worker's run of it."""
    client.post(reverse("contacts:list-push", args=[contact_list.pk]))
    contact_services.contact_list_push_run(list_id=contact_list.pk)
    contact_list.refresh_from_db()
    assert contact_list.push_status == ContactList.PushStatus.DONE, contact_list.push_error


def edit_contact(client, contact: Contact, **changes) -> None:
    data = {
        "phone": f"+{contact.phone}",
        "name": contact.name,
        "field_first_name": contact.fields.get("first_name", ""),
        "lists": list(contact.lists.values_list("pk", flat=True)),
    }
    data.update(changes)
    response = client.post(reverse("contacts:contact-edit", args=[contact.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_groups_campaign_sends_the_values_that_were_approved(
    client, team, people_list, linked_field, sandbox
):
    # The author puts the lure in Bob's name, pushes the list to BSG, and puts it back.
    client.force_login(team["author"])
    edit_contact(client, people_list["Bob"], field_first_name=f"Bob. {EVIL}")
    push_list(client, people_list["spring"])
    edit_contact(client, Contact.objects.get(pk=people_list["Bob"].pk), field_first_name="Bob")

    client.post(
        reverse("campaigns:new", args=["sms"]),
        composer_data(sms_mode="groups", lists=[people_list["spring"].pk]),
    )
    campaign = Campaign.objects.get()
    ask_and_approve(client, team, campaign)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.READY
    # What the approver approved: Bob's message reads "Hi Bob, spring sale".
    assert campaign.approval_snapshot["audience"]["recipients"] == 2

    send_out(campaign.pk)
    sent = messages_at_bsg(sandbox)
    assert EVIL not in json.dumps(sent), sent
    # BSG's copy was read back before sending: the campaign waits for its approver again.
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert "BSG holds other values for 1 member," in campaign.sent_back_reason


def test_a_groups_campaign_reaches_only_the_recipients_that_were_approved(
    client, team, people_list, linked_field, sandbox
):
    client.force_login(team["author"])
    push_list(client, people_list["spring"])
    # Bob leaves our list and asks never to be contacted again; BSG's group still holds him.
    edit_contact(client, people_list["Bob"], lists=[])
    client.post(reverse("contacts:dnc-index"), {"phone": "+380502222222", "reason": "asked"})
    assert DoNotContact.objects.filter(phone="380502222222").exists()

    client.post(
        reverse("campaigns:new", args=["sms"]),
        composer_data(sms_mode="groups", lists=[people_list["spring"].pk]),
    )
    campaign = Campaign.objects.get()
    ask_and_approve(client, team, campaign)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.READY
    assert campaign.approval_snapshot["audience"]["recipients"] == 1  # Olena only

    send_out(campaign.pk)
    assert set(messages_at_bsg(sandbox)) <= {"380501111111"}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert "1 member not among the approved recipients (1 on do-not-contact)" in (
        campaign.sent_back_reason
    )


# --- 3. approved while four-eyes was off, sent after it is on --------------------------------


def test_a_schedule_its_author_approved_without_four_eyes_stops_when_four_eyes_is_on(
    client, team, people_list, engine_settings, sandbox
):
    engine_settings.CAMPAIGNS_FOUR_EYES = False
    client.force_login(team["both"])
    client.post(
        reverse("campaigns:new", args=["sms"]),
        composer_data(text=f"Hi {{first_name}}. {EVIL}", lists=[people_list["spring"].pk]),
    )
    template = Campaign.objects.get()
    client.post(
        reverse("campaigns:schedules"),
        {"name": "Every minute", "template": template.pk, "minute": "*", "hour": "*"},
    )
    schedule = CampaignSchedule.objects.get()
    seen = client.get(reverse("campaigns:schedules")).context["rows"][0]["seen"]
    client.post(reverse("campaigns:schedule-approve", args=[schedule.pk]), {"seen": seen})
    schedule.refresh_from_db()
    assert schedule.approved_by == team["both"]  # one person, as four-eyes off allows

    # Four-eyes is turned on: what one person alone approved must not keep going out.
    engine_settings.CAMPAIGNS_FOUR_EYES = True
    run = schedules.schedule_run(schedule_id=schedule.pk)
    if run is not None:
        send_out(run.pk)
    assert "evil.example" not in sent_to_bsg(sandbox)


def test_a_campaign_its_author_sent_without_four_eyes_waits_when_four_eyes_is_on(
    client, team, people_list, engine_settings, sandbox
):
    engine_settings.CAMPAIGNS_FOUR_EYES = False
    # They type the start in their own time zone, kept on their account.
    account_settings_update(user=team["both"], time_zone="Europe/Kyiv")
    kyiv = ZoneInfo("Europe/Kyiv")
    start = (timezone.now() + timedelta(hours=2)).astimezone(kyiv).replace(second=0, microsecond=0)
    data = composer_data(
        text=f"Hi {{first_name}}. {EVIL}",
        lists=[people_list["spring"].pk],
        start="at",
        start_at=f"{start:%Y-%m-%dT%H:%M}",
    )
    # Someone holding both roles writes it, plans it and schedules it: without four-eyes their
    # Schedule is their approval.
    client.force_login(team["both"])
    client.post(reverse("campaigns:new", args=["sms"]), {**data, "action": "plan"})
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:edit", args=[campaign.pk]), {**data, "action": "schedule"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.approved_by == team["both"]

    engine_settings.CAMPAIGNS_FOUR_EYES = True
    send_out(campaign.pk, now=start + timedelta(seconds=1))
    assert "evil.example" not in sent_to_bsg(sandbox)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL


# --- 4. an approval that does not say what it approves ---------------------------------------


def test_an_approve_without_what_was_seen_approves_nothing(
    client, team, people_list, sandbox, bsg_settings
):
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:new", args=["sms"]), composer_data(lists=[people_list["spring"].pk])
    )
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    client.force_login(team["approver"])
    assert client.get(reverse("campaigns:detail", args=[campaign.pk])).status_code == 200

    # While the approver reads, the author withdraws it, rewrites it and asks again.
    client.force_login(team["author"])
    client.post(reverse("campaigns:unschedule", args=[campaign.pk]))
    client.post(
        reverse("campaigns:edit", args=[campaign.pk]),
        composer_data(text=f"Hi {{first_name}}. {EVIL}", lists=[people_list["spring"].pk]),
    )
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL

    # An Approve that does not carry the fingerprint of what its approver read approves nothing.
    client.force_login(team["approver"])
    for data in ({}, {"seen": ""}):
        client.post(reverse("campaigns:approve", args=[campaign.pk]), data)
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL


def test_a_schedule_approve_without_what_was_seen_approves_nothing(
    client, team, people_list, sandbox, bsg_settings
):
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:new", args=["sms"]), composer_data(lists=[people_list["spring"].pk])
    )
    template = Campaign.objects.get()
    client.post(reverse("campaigns:schedules"), {"name": "Weekly", "template": template.pk})
    schedule = CampaignSchedule.objects.get()
    client.force_login(team["approver"])
    assert client.get(reverse("campaigns:schedules")).status_code == 200
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:edit", args=[template.pk]),
        composer_data(text=EVIL, lists=[people_list["spring"].pk]),
    )
    client.force_login(team["approver"])
    for data in ({}, {"seen": ""}):
        client.post(reverse("campaigns:schedule-approve", args=[schedule.pk]), data)
        assert not CampaignSchedule.objects.get(pk=schedule.pk).is_approved


# --- 5. Django admin after approval ----------------------------------------------------------


def test_an_admin_cannot_change_when_an_approved_schedule_runs(
    client, team, people_list, engine_settings, sandbox
):
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:new", args=["sms"]), composer_data(lists=[people_list["spring"].pk])
    )
    template = Campaign.objects.get()
    client.post(
        reverse("campaigns:schedules"),
        {
            "name": "Weekly",
            "template": template.pk,
            "minute": "0",
            "hour": "9",
            "day_of_week": "1",
            "frequency_cap_days": "7",
        },
    )
    schedule = CampaignSchedule.objects.get()
    client.force_login(team["approver"])
    seen = client.get(reverse("campaigns:schedules")).context["rows"][0]["seen"]
    client.post(reverse("campaigns:schedule-approve", args=[schedule.pk]), {"seen": seen})
    schedule.refresh_from_db()
    assert schedule.is_approved

    # A superuser makes the weekly campaign run every minute, without the frequency cap.
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    cron = schedule.periodic_task.crontab
    response = client.post(
        reverse("admin:django_celery_beat_crontabschedule_change", args=[cron.pk]),
        {
            "minute": "*",
            "hour": "*",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            "timezone": str(cron.timezone),
            "periodictask_set-TOTAL_FORMS": "0",
            "periodictask_set-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, (
        response.context["errors"],
        [f.formset.prefix for f in response.context["inline_admin_formsets"]],
    )
    response = client.post(
        reverse("admin:campaigns_campaignschedule_change", args=[schedule.pk]),
        {
            "name": schedule.name,
            "periodic_task": schedule.periodic_task_id,
            "frequency_cap_days": "",
        },
    )
    assert response.status_code == 302, (
        response.context["errors"],
        [f.formset.prefix for f in response.context["inline_admin_formsets"]],
    )
    # Either admin refused the change, or the next run finds the approval no longer holds.
    run = schedules.schedule_run(schedule_id=schedule.pk)
    if run is not None:
        send_out(run.pk)
    assert "/send" not in sent_to_bsg(sandbox)
    schedule.refresh_from_db()
    assert not schedule.fires
    assert "changed after it was approved" in schedule.approval_void_reason


# --- 6. hostile input in the new forms -------------------------------------------------------


def test_hostile_input_in_the_four_eyes_forms_never_answers_500(
    client, team, people_list, sandbox, bsg_settings
):
    TestPhone.objects.create(phone="380509999999", label="Team phone")
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:new", args=["sms"]), composer_data(lists=[people_list["spring"].pk])
    )
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:schedules"), {"name": "Weekly", "template": campaign.pk})
    schedule = CampaignSchedule.objects.get()
    huge = "9" * 30
    values = ["\x00", "a\x00b", "x" * 100_000, huge, "-1", "1e308", "+380 50 999 9999\x00"]
    client.force_login(team["both"])
    team_phone = "380509999999"
    for value in values:
        asks = [
            ("campaigns:test-send", [campaign.pk], {"phone": value}),
            ("campaigns:test-send", [campaign.pk], {"phone": team_phone, "contact_id": value}),
            (
                "campaigns:test-send",
                [campaign.pk],
                {"phone": team_phone, "contact_phone": value},
            ),
            ("campaigns:approve", [campaign.pk], {"seen": value}),
            ("campaigns:schedule-approve", [schedule.pk], {"seen": value}),
            ("campaigns:schedule-pause", [schedule.pk], {"paused": value}),
            ("campaigns:schedules", [], {"name": value, "template": campaign.pk}),
            ("campaigns:schedules", [], {"name": "x", "template": value}),
            ("campaigns:schedules", [], {"name": "x", "template": campaign.pk, "minute": value}),
            ("campaigns:schedules", [], {"name": "x", "template": campaign.pk, "time_zone": value}),
            (
                "campaigns:schedules",
                [],
                {"name": "x", "template": campaign.pk, "frequency_cap_days": value},
            ),
        ]
        for name, args, data in asks:
            for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                response = client.post(reverse(name, args=args), data, **headers)
                assert response.status_code < 500, (name, list(data), value[:20])
    for name in ("campaigns:approve", "campaigns:test-send", "campaigns:reject"):
        path = reverse(name, args=[1]).replace("/1/", f"/{huge}/")
        assert client.post(path, {"seen": "x", "phone": "1", "reason": "x"}).status_code < 500
    for name in ("campaigns:schedule-approve", "campaigns:schedule-pause"):
        path = reverse(name, args=[1]).replace("/1/", f"/{huge}/")
        assert client.post(path, {"seen": "x", "paused": "1"}).status_code < 500
    # Nothing of all that reached anyone but the team's phone, made a schedule or approved.
    assert set(messages_at_bsg(sandbox)) <= {"380509999999"}
    assert TestSend.objects.exclude(phone="380509999999").count() == 0
    assert not CampaignSchedule.objects.filter(approved_at__isnull=False).exists()
    assert Campaign.objects.get().status == Campaign.Status.DRAFT
