"""An email on each hand-off of approval, through the pages: asked (to the approvers who may
approve it), approved and sent back (to its author and who asked), sent back by the engine (to
the approvers); recurring schedules the same. Each is queued after the hand-off commits, goes
through the real broker, and is sent by the task a worker runs; a mail server that fails never
fails the action."""

from __future__ import annotations

import socket
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from accounts.services import account_settings_update
from campaigns import handoffs, tasks
from campaigns.engine import dispatch
from campaigns.models import Campaign
from config.celery import app
from contacts.models import Contact, ContactField, ContactList, ListMembership

from .conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience(db):
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    for phone, name in [("380501111111", "Olena"), ("380502222222", "Bob")]:
        contact = Contact.objects.create(phone=phone, name=name, fields={"first_name": name})
        ListMembership.objects.create(contact_list=spring, contact=contact)
    return {"spring": spring}


@pytest.fixture
def team(groups):
    """An author, two approvers (one without an address), a viewer, and an author who also
    approves: each with an address unless said."""
    both = make_person("author", groups, name="writer-approver")
    both.groups.add(groups["Campaign approvers"])
    made = {
        "author": make_person("author", groups, name="olena"),
        "approver": make_person("approver", groups, name="ivan"),
        "approver2": make_person("approver", groups, name="petro"),
        "mute": make_person("approver", groups, name="no-address"),
        "viewer": make_person("viewer", groups, name="vera"),
        "both": both,
    }
    for name, person in made.items():
        person.email = "" if name == "mute" else f"{person.username}@example.org"
        person.save(update_fields=["email"])
    return made


@pytest.fixture
def broker():
    """The hand-off emails, run as a worker runs them: what an action queued on the real
    broker once it committed is read back and executed here (the tasks need no database).
    Anything else queued (a dispatch) is dropped: no worker serves this test."""
    app.control.purge()

    def run_queued_mail() -> int:
        ran = 0
        with app.connection_for_read() as connection:
            queue = connection.SimpleQueue("celery")
            try:
                while True:
                    try:
                        message = queue.get(block=False)
                    except queue.Empty:
                        break
                    message.ack()
                    if message.headers.get("task") == tasks.handoff_mail_send.name:
                        args, kwargs, _embed = message.decode()
                        tasks.handoff_mail_send.apply(args=args, kwargs=kwargs, throw=True)
                        ran += 1
            finally:
                queue.close()
        return ran

    yield run_queued_mail
    app.control.purge()


def composer_data(audience, **overrides) -> dict:
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
        "lists": [audience["spring"].pk],
        "action": "save",
    }
    data.update(overrides)
    return data


def to(*people) -> list[list[str]]:
    return sorted([person.email] for person in people)


def asked_for_approval(client, audience, author, captured) -> Campaign:
    client.force_login(author)
    client.post(reverse("campaigns:new", args=["sms"]), composer_data(audience))
    campaign = Campaign.objects.latest("id")
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    with captured(execute=True):
        client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL
    return campaign


def test_each_hand_off_of_a_campaign_mails_whoever_it_now_waits_for(
    client, team, audience, bsg_settings, broker, django_capture_on_commit_callbacks
):
    captured = django_capture_on_commit_callbacks
    campaign = asked_for_approval(client, audience, team["author"], captured)
    # Asked: every approver who may approve it, not its author, not one without an address.
    assert broker() == 3
    approvers = to(team["approver"], team["approver2"], team["both"])
    assert sorted(m.to for m in mail.outbox) == approvers
    asked = mail.outbox[0]
    assert asked.subject == "Waiting for your approval: Spring sale"
    assert "olena asks you to approve the campaign “Spring sale”" in asked.body
    assert f"http://127.0.0.1:8000/campaigns/{campaign.pk}/" in asked.body
    assert "&ldquo;" not in asked.body and "&#x27;" not in asked.body  # plain text, unescaped

    # Sent back: its author, with the reason and a link to the edit page.
    mail.outbox.clear()
    client.force_login(team["approver"])
    with captured(execute=True):
        client.post(reverse("campaigns:reject", args=[campaign.pk]), {"reason": "Which stores?"})
    assert broker() == 1
    (back,) = mail.outbox
    assert back.to == [team["author"].email] and back.subject == "Sent back to you: Spring sale"
    assert "Why: Which stores?" in back.body
    assert f"/campaigns/{campaign.pk}/edit/" in back.body

    # Asked again by someone else who changed nothing: both hear when it is approved.
    client.force_login(team["both"])
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    with captured(execute=True):
        client.post(reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "send"})
    broker()
    mail.outbox.clear()
    client.force_login(team["approver2"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    with captured(execute=True):
        client.post(
            reverse("campaigns:approve", args=[campaign.pk]),
            {"seen": page.context["approval_seen"]},
        )
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.READY
    assert broker() == 2
    assert sorted(m.to for m in mail.outbox) == to(team["author"], team["both"])
    assert {m.subject for m in mail.outbox} == {"Approved: Spring sale"}
    assert "petro approved the campaign “Spring sale”: it is sending now." in mail.outbox[0].body


def test_each_person_reads_the_hand_off_in_their_own_language(
    client, team, audience, bsg_settings, broker, django_capture_on_commit_callbacks
):
    """The author writes in English; one approver chose Ukrainian, the others never chose: each
    email is in its reader's language, whoever acted."""
    account_settings_update(user=team["approver"], language="uk")
    asked_for_approval(client, audience, team["author"], django_capture_on_commit_callbacks)
    assert broker() == 3
    by_address = {message.to[0]: message for message in mail.outbox}
    ukrainian = by_address[team["approver"].email]
    assert ukrainian.subject == translated("Waiting for your approval: %(campaign)s", "uk") % {
        "campaign": "Spring sale"
    }
    assert ukrainian.subject != "Waiting for your approval: Spring sale"
    assert by_address[team["approver2"].email].subject == "Waiting for your approval: Spring sale"


def test_each_email_says_the_start_in_its_readers_time_zone(
    client, team, audience, bsg_settings, broker, django_capture_on_commit_callbacks
):
    """The author types the start in Kyiv; one approver reads in London, the others never
    chose (the site's zone, UTC)."""
    account_settings_update(user=team["author"], time_zone="Europe/Kyiv")
    account_settings_update(user=team["approver"], time_zone="Europe/London")
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    typed = start.astimezone(ZoneInfo("Europe/Kyiv"))
    client.force_login(team["author"])
    client.post(
        reverse("campaigns:new", args=["sms"]),
        composer_data(audience, start="at", start_at=f"{typed:%Y-%m-%dT%H:%M}"),
    )
    campaign = Campaign.objects.latest("id")
    assert campaign.start_at == start
    client.post(reverse("campaigns:plan", args=[campaign.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("campaigns:approval-request", args=[campaign.pk]), {"intent": "schedule"}
        )
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL
    assert broker() == 3
    by_address = {message.to[0]: message.body for message in mail.outbox}
    london = start.astimezone(ZoneInfo("Europe/London"))
    assert f"to send at {london:%Y-%m-%d %H:%M %Z}." in by_address[team["approver"].email]
    assert (
        f"to send at {start.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
        in (by_address[team["approver2"].email])
    )


def translated(message: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


def test_the_engine_sending_a_campaign_back_mails_the_approvers(
    client, team, audience, bsg_settings, broker, django_capture_on_commit_callbacks
):
    captured = django_capture_on_commit_callbacks
    campaign = asked_for_approval(client, audience, team["author"], captured)
    start = timezone.now() + timedelta(hours=2)
    Campaign.objects.filter(pk=campaign.pk).update(approval_send_at=start, start_at=start)
    client.force_login(team["approver"])
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    with captured(execute=True):
        client.post(
            reverse("campaigns:approve", args=[campaign.pk]),
            {"seen": page.context["approval_seen"]},
        )
    Contact.objects.filter(phone="380502222222").update(fields={"first_name": "Robert"})
    broker()
    mail.outbox.clear()

    with captured(execute=True):
        result = dispatch.campaign_dispatch(campaign_id=campaign.pk, now=start)
    assert result.sent_back
    assert broker() == 3
    approvers = to(team["approver"], team["approver2"], team["both"])
    assert sorted(m.to for m in mail.outbox) == approvers
    message = mail.outbox[0]
    assert message.subject == "Waiting for your approval again: Spring sale"
    assert "Nothing of the campaign “Spring sale” was sent" in message.body
    assert "Why: " in message.body


def test_a_recurring_schedule_mails_its_approvers_and_then_whoever_set_it_up(
    client, team, audience, bsg_settings, broker, django_capture_on_commit_callbacks
):
    captured = django_capture_on_commit_callbacks
    client.force_login(team["author"])
    client.post(reverse("campaigns:new", args=["sms"]), composer_data(audience))
    template = Campaign.objects.latest("id")
    form = {"name": "Weekly", "template": template.pk, "minute": "0", "hour": "9"}
    form.update(day_of_week="1", day_of_month="*", month_of_year="*", time_zone="UTC")
    with captured(execute=True):
        response = client.post(reverse("campaigns:schedules"), form)
    assert response.status_code == 302, response.content.decode()
    assert broker() == 3
    assert {m.subject for m in mail.outbox} == {
        "Recurring campaign waiting for your approval: Weekly"
    }
    assert team["author"].email not in {address for m in mail.outbox for address in m.to}

    mail.outbox.clear()
    schedule = template.schedules.get()
    client.force_login(team["approver"])
    seen = client.get(reverse("campaigns:schedules")).context["rows"][0]["seen"]
    with captured(execute=True):
        client.post(reverse("campaigns:schedule-approve", args=[schedule.pk]), {"seen": seen})
    schedule.refresh_from_db()
    assert schedule.is_approved
    assert broker() == 1
    assert mail.outbox[0].to == [team["author"].email]
    assert mail.outbox[0].subject == "Recurring campaign approved: Weekly"


def test_nothing_is_mailed_before_the_hand_off_commits_nor_when_it_is_refused(
    client, team, audience, bsg_settings, broker, django_capture_on_commit_callbacks
):
    captured = django_capture_on_commit_callbacks
    campaign = asked_for_approval(client, audience, team["author"], captured)
    broker()
    mail.outbox.clear()
    client.force_login(team["approver"])
    with captured(execute=False) as queued:
        client.post(reverse("campaigns:reject", args=[campaign.pk]), {"reason": "No."})
    assert queued and broker() == 0 and mail.outbox == []
    # Refused (not waiting any more): nothing queued at all.
    with captured(execute=True) as queued:
        client.post(reverse("campaigns:reject", args=[campaign.pk]), {"reason": "Again."})
    assert queued == [] and broker() == 0


def test_a_mail_server_that_is_down_never_fails_the_action_and_is_tried_again(settings, log_of):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 2
    said = log_of("campaigns.handoffs")
    wait = handoffs.mail_send(to="ivan@example.org", subject="Hi", body="Body")
    assert wait is not None and 20 <= wait <= 40
    assert "not sent yet" in said[-1]
    last = handoffs.mail_send(
        to="ivan@example.org", subject="Hi", body="Body", attempt=handoffs.MAIL_MAX_RETRIES
    )
    assert last is None and "not sent after" in said[-1]


def test_a_broker_that_is_down_loses_the_mail_but_not_the_approval(
    client, team, audience, bsg_settings, django_capture_on_commit_callbacks, monkeypatch, log_of
):
    captured = django_capture_on_commit_callbacks

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.handoff_mail_send, "apply_async", refused)
    said = log_of("campaigns.engine.enqueue")
    campaign = asked_for_approval(client, audience, team["author"], captured)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.AWAITING_APPROVAL
    assert any("handoff_mail_send" in line and "not queued" in line for line in said)
