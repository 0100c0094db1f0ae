"""Delivery statuses BSG pushes (issue 16): the callback URL and its secret, the endpoint that
stores them, the worker that applies them, and polling as the fallback when they are lost."""

import json
import time
from datetime import timedelta

import pytest
import requests
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.engine import delivery_reports, dispatch, poll, submit
from campaigns.models import Campaign, CampaignPart, DeliveryReport, Recipient
from config.bsg import bsg_client
from sandbox.server import Faults
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State
BASE = "https://campaigns.example.com"


@pytest.fixture
def triggers(monkeypatch) -> list[tuple]:
    """The tasks the endpoint asks for, recorded instead of queued (no worker runs here)."""
    sent: list[tuple] = []
    monkeypatch.setattr(
        delivery_reports, "task_send", lambda task, *args, **kwargs: sent.append((task.name,))
    )
    return sent


@pytest.fixture
def callbacks_on(engine_settings):
    engine_settings.BSG_CALLBACK_BASE_URL = BASE
    engine_settings.BSG_CALLBACK_SECRET = ""
    return engine_settings


@pytest.fixture
def callbacks_unsent(callbacks_on, sandbox):
    """The sandbox keeps the statuses it would push to BASE: nothing answers there, and its
    thread's POST to a host outside the machine is refused during a test (pytest-socket)."""
    sandbox.set_faults(Faults(callback_loss=1.0))
    return callbacks_on


def callback_path() -> str:
    return reverse(
        delivery_reports.CALLBACK_URL_NAME, kwargs={"token": delivery_reports.callback_token()}
    )


def report(reference: str, status: str, **extra) -> dict:
    """One status as the YAML's RcsStatusCallback sample has it."""
    return {
        "error": 0,
        "errorDescription": "No errors",
        "id": "3272625618",
        "msisdn": "380661231231",
        "reference": reference,
        "time_in": "2025-04-14 10:56:09",
        "time_sent": "2025-04-14 10:56:10",
        "time_dr": "2025-04-14 10:56:13",
        "status": status,
        "price": "0.10",
        "currency": "EUR",
        **extra,
    }


def post(client, body, *, path: str | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(path or callback_path(), data=data, content_type="application/json")


def submitted_campaign(**overrides) -> Campaign:
    campaign = ready_campaign(**overrides)
    for part_id in dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids:
        assert submit.part_submit(part_id=part_id).state == State.SUBMITTED
    return campaign


def bsg_statuses(campaign: Campaign) -> dict[str, str]:
    """What BSG says of each recipient now (E9), read outside the engine."""
    part = campaign.parts.get()
    with bsg_client() as client:
        return {
            m.reference_id: m.status for m in client.iter_messages(campaign_id=part.bsg_campaign_id)
        }


def ledger(campaign: Campaign) -> dict[str, str]:
    return dict(Recipient.objects.filter(campaign=campaign).values_list("reference_id", "status"))


def message_reads(sandbox, since: int = 0) -> list[dict]:
    return [r for r in sandbox.state.requests[since:] if r["path"] == "/api/messages"]


# --- the URL and its secret ---------------------------------------------------------------------


def test_the_callback_url_is_off_by_default_and_fits_bsgs_100_characters(settings):
    settings.BSG_CALLBACK_BASE_URL = ""
    assert delivery_reports.callback_url() is None

    settings.BSG_CALLBACK_BASE_URL = BASE + "/"
    url = delivery_reports.callback_url()
    token = delivery_reports.callback_token()
    assert url == f"{BASE}/bsg/status/{token}/"
    assert len(token) == 24 and len(url) <= 100


def test_the_secret_follows_secret_key_and_a_rotated_key_still_opens(settings):
    settings.BSG_CALLBACK_SECRET = ""
    old = delivery_reports.callback_token()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" * 5, [settings.SECRET_KEY]
    new = delivery_reports.callback_token()
    assert new != old
    assert delivery_reports.callback_token_valid(new)
    assert delivery_reports.callback_token_valid(old)
    assert not delivery_reports.callback_token_valid(new[:-1] + ("A" if new[-1] != "A" else "B"))

    settings.BSG_CALLBACK_SECRET = "its-own-secret"
    assert not delivery_reports.callback_token_valid(new)
    assert delivery_reports.callback_token_valid(delivery_reports.callback_token())


def test_the_system_check_refuses_a_url_bsg_would_refuse_and_warns_of_http(settings):
    settings.BSG_CALLBACK_BASE_URL = "https://campaigns.example.com/" + "deep/" * 12
    [error] = delivery_reports.callback_url_check()
    assert error.level == checks.ERROR and error.id == "campaigns.E001"
    assert "at most 100" in error.msg
    assert delivery_reports.callback_token() not in error.msg  # the secret is not printed

    settings.BSG_CALLBACK_BASE_URL = "http://campaigns.example.com"
    [warning] = delivery_reports.callback_url_check()
    assert warning.id == "campaigns.W001"

    settings.BSG_CALLBACK_BASE_URL = BASE
    assert delivery_reports.callback_url_check() == []
    settings.BSG_CALLBACK_BASE_URL = ""
    assert delivery_reports.callback_url_check() == []


# --- the endpoint -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_wrong_token_finds_nothing_and_stores_nothing(client, triggers):
    answer = post(client, report("abc1", "delivered"), path="/bsg/status/not-the-token/")
    assert answer.status_code == 404
    token = delivery_reports.callback_token()
    answer = post(client, report("abc1", "delivered"), path=f"/bsg/status/{token[:-1]}x/")
    assert answer.status_code == 404
    assert client.get(callback_path()).status_code == 405
    assert not DeliveryReport.objects.exists() and not triggers


@pytest.mark.django_db
def test_a_status_is_stored_once_however_often_bsg_sends_it(
    client, triggers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, report("abc1", "delivered"))
        again = post(client, [report("abc1", "delivered"), report("abc1", "delivered")])

    assert first.status_code == 200 and first.json() == {"received": 1, "skipped": 0}
    assert again.status_code == 200 and again.json() == {"received": 2, "skipped": 0}
    stored = DeliveryReport.objects.get()
    assert (stored.key, stored.status, stored.reference_id) == ("r:abc1", "delivered", "abc1")
    assert stored.bsg_message_id == 3272625618  # the YAML's sample writes the id as a string
    assert stored.applied_at is None
    # Another status of the same message is another report.
    with django_capture_on_commit_callbacks(execute=True):
        post(client, report("abc1", "sent"))
    assert DeliveryReport.objects.count() == 2
    # A burst of calls asks for one run of the worker.
    assert triggers == [("campaigns.tasks.delivery_reports_apply",)]


@pytest.mark.django_db
def test_objects_that_are_not_statuses_are_skipped_and_answered_200(client, triggers):
    click = {"id": "3272625618", "reference": None, "msisdn": "380661231231", "text": "Go"}
    answer = post(client, [click, report("", "delivered", id=None), 7, report("ok1", "sent")])
    assert answer.status_code == 200
    assert answer.json() == {"received": 4, "skipped": 3}
    assert list(DeliveryReport.objects.values_list("key", flat=True)) == ["r:ok1"]


GARBAGE = [
    b"",
    b"\x00",
    b"not json",
    b"\xff\xfe\x00garbage",
    b'"a string"',
    b"42",
    b"null",
    b"true",
    b"[" * 50_000 + b"]" * 50_000,
    b'{"status": NaN, "reference": "x1"}',
    b'[{"status": Infinity, "reference": "x1"}]',
    json.dumps([report("nul\x00ref", "deli\x00vered")]).encode(),
    json.dumps([report("a1", "delivered", errorDescription="x\ud800y")]).encode(),
    b'[{"status": "delivered", "reference": "a2", "errorDescription": "\\ud800"}]',
    b'[{"status": "delivered", "reference": "a3", "id": ' + b"9" * 4000 + b"}]",
    b'[{"status": "delivered", "reference": "a4", "id": -5, "price": 1e999}]',
    json.dumps([report("a5", "x" * 10_000)]).encode(),
    json.dumps([report("r" * 33, "delivered")]).encode(),
    json.dumps([report({"nested": [1, 2]}, ["delivered"])]).encode(),
    json.dumps(
        [report("a6", "delivered", time_dr="2025-99-99 99:99:99", msisdn="+38 abc")]
    ).encode(),
    json.dumps([{"status": "delivered", "reference": "a7", "extra": {"deep": [[[[1]]]]}}]).encode(),
    json.dumps([report(f"many{i}", "delivered") for i in range(10_001)]).encode(),
    json.dumps({"reference": "a8", "status": 12}).encode(),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_breaks_the_endpoint(client, triggers, body):
    answer = post(client, body)
    assert answer.status_code in (200, 400, 413), answer.content[:300]
    assert answer["Content-Type"] == "application/json"
    for stored in DeliveryReport.objects.all():
        assert "\x00" not in stored.key + stored.status and len(stored.status) <= 30


@pytest.mark.django_db
def test_a_body_over_the_cap_is_refused_before_it_is_read(client, settings, triggers):
    settings.BSG_CALLBACK_MAX_BYTES = 1000
    answer = post(client, [report(f"big{i}", "delivered") for i in range(20)])
    assert answer.status_code == 413
    assert not DeliveryReport.objects.exists()


# --- the worker ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_worker_moves_statuses_forward_only_and_marks_reports_applied(
    client, triggers, engine_settings, sandbox
):
    campaign = submitted_campaign(pasted_numbers=numbers(4))
    rows = list(Recipient.objects.filter(campaign=campaign).order_by("seq"))
    refs = [row.reference_id for row in rows]
    Recipient.objects.filter(pk=rows[3].pk).update(status="delivered")
    post(
        client,
        [
            report(refs[0], "sent"),
            report(refs[0], "delivered"),  # the furthest of a batch wins, whatever the order
            report(refs[1], "undelivered"),
            report(refs[2], "sent"),
            report(refs[3], "sent"),  # late: never moves a final status back
            report("nobodyOfOurs1", "delivered"),
        ],
    )
    before = timezone.now()

    outcome = delivery_reports.delivery_reports_apply()

    assert ledger(campaign) == {
        refs[0]: "delivered",
        refs[1]: "undelivered",
        refs[2]: "sent",
        refs[3]: "delivered",
    }
    assert (outcome.reports, outcome.matched, outcome.changed) == (6, 5, 3)
    assert not DeliveryReport.objects.filter(applied_at__isnull=True).exists()
    assert DeliveryReport.objects.get(reference_id="nobodyOfOurs1").matched is False
    part = campaign.parts.get()
    assert part.last_report_at >= before
    # A final status that contradicts the one recorded does not flip it (the poll settles it).
    post(client, report(refs[1], "delivered"))
    delivery_reports.delivery_reports_apply()
    assert ledger(campaign)[refs[1]] == "undelivered"
    # Applied twice: nothing changes.
    assert delivery_reports.delivery_reports_apply().reports == 0


@pytest.mark.django_db
def test_applying_costs_the_same_queries_for_few_reports_and_many(
    client, triggers, engine_settings, sandbox
):
    def queries_to_apply(count: int) -> int:
        campaign = submitted_campaign(pasted_numbers=numbers(count))
        references = Recipient.objects.filter(campaign=campaign).values_list(
            "reference_id", flat=True
        )
        post(client, [report(reference, "delivered") for reference in references])
        with CaptureQueriesContext(connection) as applied:
            assert delivery_reports.delivery_reports_apply().changed == count
        return len(applied)

    # Nothing read a report at a time (a deferred field would be: the payload is not loaded).
    assert queries_to_apply(2) == queries_to_apply(7)


@pytest.mark.django_db
def test_a_report_without_reference_finds_its_row_by_bsg_message_id(
    client, triggers, engine_settings, sandbox
):
    campaign = submitted_campaign(pasted_numbers=numbers(1))
    row = Recipient.objects.get(campaign=campaign)
    Recipient.objects.filter(pk=row.pk).update(bsg_message_id=4419393999, status="sent")
    post(client, {"id": 4419393999, "status": "delivered"})
    delivery_reports.delivery_reports_apply()
    assert Recipient.objects.get(pk=row.pk).status == "delivered"


@pytest.mark.django_db
def test_applied_reports_are_pruned_after_the_keeping_days(client, triggers, settings):
    post(client, [report("old1", "delivered"), report("new1", "delivered")])
    delivery_reports.delivery_reports_apply()
    DeliveryReport.objects.filter(reference_id="old1").update(
        applied_at=timezone.now() - timedelta(days=settings.DELIVERY_REPORTS_KEEP_DAYS + 1)
    )
    assert delivery_reports.delivery_reports_prune() == 1
    assert list(DeliveryReport.objects.values_list("reference_id", flat=True)) == ["new1"]


# --- sending with the callback URL, and polling as the fallback ---------------------------------


@pytest.mark.django_db
def test_sms_parts_ask_bsg_to_push_and_their_messages_are_not_read_at_once(
    callbacks_unsent, sandbox
):
    campaign = submitted_campaign(pasted_numbers=numbers(3))
    sent = [r for r in sandbox.state.requests if r["path"] == "/api/campaigns/sms/send"]
    assert sent[-1]["json"]["callback_url"] == delivery_reports.callback_url()
    part = campaign.parts.get()
    assert part.reports_pushed
    assert part.next_messages_poll_at >= part.submitted_at + timedelta(
        seconds=callbacks_unsent.BSG_CALLBACK_QUIET_SECONDS
    )

    callbacks_unsent.BSG_CALLBACK_BASE_URL = ""
    plain = submitted_campaign(pasted_numbers=numbers(2, start=50))
    assert "callback_url" not in sandbox.state.requests[-1]["json"]
    assert not plain.parts.get().reports_pushed


@pytest.mark.django_db
def test_while_statuses_arrive_a_part_is_read_only_once_after_validity(
    client, triggers, callbacks_unsent, sandbox
):
    campaign = submitted_campaign(pasted_numbers=numbers(3), validity_hours=1)
    part = campaign.parts.get()
    refs = list(Recipient.objects.filter(campaign=campaign).values_list("reference_id", flat=True))
    now = timezone.now()

    # Statuses come: a poll that finds the part due puts its read off instead.
    post(client, [report(ref, "sent") for ref in refs])
    delivery_reports.delivery_reports_apply(now=now)
    CampaignPart.objects.filter(pk=part.pk).update(next_messages_poll_at=now)
    assert poll._parts_due_messages(now) == []
    part.refresh_from_db()
    quiet = timedelta(seconds=callbacks_unsent.BSG_CALLBACK_QUIET_SECONDS)
    assert part.next_messages_poll_at == now + quiet

    # Every recipient has a final status: nothing is read until validity has passed.
    post(client, [report(ref, "delivered") for ref in refs])
    delivery_reports.delivery_reports_apply(now=now + quiet)
    assert poll._parts_due_messages(now + quiet) == []
    part.refresh_from_db()
    end = part.submitted_at + timedelta(hours=1, minutes=30)
    assert part.next_messages_poll_at == end
    # Then once, the read that corrects whatever a lost status left.
    assert [p.pk for p in poll._parts_due_messages(end)] == [part.pk]


@pytest.mark.django_db
def test_when_every_status_is_lost_polling_still_ends_with_bsgs_statuses(callbacks_on, sandbox):
    callbacks_on.BSG_CALLBACK_QUIET_SECONDS = 1
    sandbox.set_faults(Faults(callback_loss=1.0))
    campaign = submitted_campaign(pasted_numbers=numbers(5))
    deadline = time.monotonic() + 20
    while Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING or any(
        status in ("", "accepted", "sent", "scheduled") for status in ledger(campaign).values()
    ):
        assert time.monotonic() < deadline, ledger(campaign)
        poll.engine_poll()
        time.sleep(0.2)

    assert sandbox.state.callbacks.counts()["reports_lost"] > 0
    assert not DeliveryReport.objects.exists()
    assert ledger(campaign) == bsg_statuses(campaign)


# --- end to end: the sandbox calls a live server ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_pushes_to_a_live_server_and_the_ledger_follows_without_reading_messages(
    live_server, callbacks_on, sandbox, triggers
):
    callbacks_on.BSG_CALLBACK_BASE_URL = live_server.url
    campaign = submitted_campaign(pasted_numbers=numbers(6))
    truth: dict[str, str] = {}
    deadline = time.monotonic() + 20
    # Until BSG has settled every message and pushed it, and the worker has applied it all.
    while not truth or ledger(campaign) != truth:
        assert time.monotonic() < deadline, (ledger(campaign), truth)
        time.sleep(0.2)
        if sandbox.state.callbacks.idle():
            delivery_reports.delivery_reports_apply()
            statuses = {
                m["reference_id"]: m["status"] for m in _sandbox_messages(sandbox, campaign)
            }
            if all(s not in ("scheduled", "accepted", "sent") for s in statuses.values()):
                truth = statuses

    since = len(sandbox.state.requests)
    while Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING:
        assert time.monotonic() < deadline
        poll.engine_poll()
        time.sleep(0.1)
    # The part ended with every status already pushed: its messages were not read.
    assert message_reads(sandbox, since) == []
    assert ledger(campaign) == truth
    counts = sandbox.state.callbacks.counts()
    assert counts["reports_sent"] >= len(truth) and counts["reports_given_up"] == 0
    assert triggers


def _sandbox_messages(sandbox, campaign: Campaign) -> list[dict]:
    """E9 straight from the sandbox, outside the engine's request counting."""
    part = campaign.parts.get()
    login = requests.post(
        f"{sandbox.url}/api/auth/login", json={"api_key": sandbox.config.api_key}, timeout=5
    ).json()
    answer = requests.get(
        f"{sandbox.url}/api/messages",
        params={"filter[campaign_id]": part.bsg_campaign_id, "page[limit]": 500},
        headers={"Authorization": f"Bearer {login['bearer']}"},
        timeout=5,
    )
    return answer.json()["data"]
