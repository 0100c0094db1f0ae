"""The contract suite: the real `BsgClient` against the live sandbox, rule by rule.

tests/bsg/test_client.py pins the client's wire format against recorded vendor answers, and
tests/sandbox/test_sandbox.py drives the sandbox with raw HTTP. Here the two meet: every documented
rule of /work/shared/bsg-api.md (and the vendor pages behind it) is sent through the client,
once at the boundary, where BSG accepts it, and once just past it, where BSG refuses it with a
422 naming the field. A refusal must reach the caller as `BsgRejected` carrying BSG's message
and its flattened field name, because that is what the forms and the engine act on.

The sandbox's clock is frozen wherever a boundary depends on time, so nothing here races the
machine's speed; the sandbox is reset before (fixture `sandbox`) and after each test.
"""

from __future__ import annotations

import http.server
import itertools
import logging
import socket
import string
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bsg.client as client_module
from bsg.client import BsgClient
from bsg.errors import (
    BsgBadResponse,
    BsgError,
    BsgNotAuthorised,
    BsgNotFound,
    BsgOutcomeUnknown,
    BsgRateLimited,
    BsgRejected,
    BsgUnavailable,
)
from bsg.payloads import IndividualMessage, RcsCard, Recipient, SmsFallback
from bsg.tokens import InMemoryTokenStore
from sandbox.faults import Faults
from sandbox.server import SandboxConfig, SandboxServer
from sandbox.validation.fields import (
    CONTACT_NOT_FOUND,
    DUPLICATE_IN_ACCOUNT,
    DUPLICATE_IN_REQUEST,
    FIELD_NOT_FOUND,
    GROUP_NOT_FOUND,
    INVALID,
)
from tests.conftest import SANDBOX_API_KEY

SMS_SEND = "/api/campaigns/sms/send"
LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
BASE_PHONE = 380_661_000_000
CYRILLIC = "Ж"  # one UCS-2 unit: makes the whole text UCS-2


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def bsg_sandbox(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The shared sandbox, reset before the test and again after it: tests here freeze and move
    its clock and inject faults, none of which may leak into the next test."""
    yield sandbox
    sandbox.reset()


def make_client(server: SandboxServer, **options: object) -> BsgClient:
    settings: dict[str, object] = {
        "token_store": InMemoryTokenStore(),
        "time_zone": server.config.time_zone,
        "connect_timeout": 2.0,
        "read_timeout": 10.0,
    }
    settings.update(options)
    return BsgClient(server.url, SANDBOX_API_KEY, **settings)  # type: ignore[arg-type]


@pytest.fixture
def client(bsg_sandbox: SandboxServer) -> Iterator[BsgClient]:
    bsg_client = make_client(bsg_sandbox)
    yield bsg_client
    bsg_client.close()


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    """A sandbox of its own, for tests that need another time zone or token lifetime."""
    servers: list[SandboxServer] = []

    def start(**options: object) -> SandboxServer:
        config = SandboxConfig(**{"api_key": SANDBOX_API_KEY, "speed": 50.0, **options})  # type: ignore[arg-type]
        server = SandboxServer(config, host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()


def inspect(server: SandboxServer, what: str, **params: str) -> list[dict]:
    """What the sandbox's inspection endpoint (/_sandbox/, a path BSG does not use) answers."""
    answer = requests.get(f"{server.url}/_sandbox/{what}", params=params, timeout=5)
    answer.raise_for_status()
    return answer.json()["data"]


def requests_to(server: SandboxServer, path: str, method: str = "") -> list[dict]:
    return [entry for entry in inspect(server, "requests", method=method) if entry["path"] == path]


def phones(count: int, prefix: str | None = None, start: int = 0) -> list[Recipient]:
    return [
        Recipient(BASE_PHONE + start + i, f"{prefix}{i}" if prefix else None) for i in range(count)
    ]


def refused(call: Callable[[], object], field: str, message: str = INVALID) -> BsgRejected:
    """Runs a call BSG must refuse: a 422 `BsgRejected` with BSG's message naming `field`."""
    with pytest.raises(BsgRejected) as caught:
        call()
    error = caught.value
    assert type(error) is BsgRejected, repr(error)
    assert error.status == 422
    assert error.message == message
    assert field in error.errors, error.errors
    assert error.errors[field] and all(error.errors[field])
    assert error.permanent and not error.may_have_been_accepted
    return error


def freeze(server: SandboxServer) -> datetime:
    """Freezes the sandbox clock; returns its now, to the second (BSG's dates have no fraction)."""
    clock = server.state.clock
    clock.freeze()
    fraction = clock.now() % 1
    clock.advance(1 - fraction if fraction else 0)
    return clock.now_datetime()


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> object:
    """Polls until `condition()` is truthy (work the sandbox finishes in another thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("the sandbox never got there")
        time.sleep(0.02)


def scheduled_status(client: BsgClient, server: SandboxServer, campaign_id: int) -> str | None:
    """The status once the 'creation' stage is over (1 s at speed 1; BSG's samples answer a
    new campaign with 'creation' whether it is scheduled or not)."""
    server.state.clock.advance(1.0 / server.config.speed)
    return client.campaign_get(campaign_id=campaign_id).status


def advance_until(
    client: BsgClient, server: SandboxServer, campaign_id: int, status: str, step: float = 0.005
) -> None:
    """Moves the frozen sandbox clock in small steps until the campaign reaches `status`."""
    for _ in range(2000):
        if client.campaign_get(campaign_id=campaign_id).status == status:
            return
        server.state.clock.advance(step)
    raise AssertionError(f"campaign {campaign_id} never reached {status!r}")


# --- sender (E1-E3; vendor pages: 1-11 alphanumeric, 1-15 digits) --------------------------------


@pytest.mark.parametrize(
    ("sender", "accepted"),
    [
        ("A", True),  # the pages allow 1 (the YAML says 3: we follow the pages and warn)
        ("Vet klinika", True),  # 11, with a space
        ("A" * 11, True),
        ("A" * 12, False),
        ("1" * 15, True),  # numeric: up to 15 digits
        ("1" * 16, False),
        ("+1234567890", True),  # 11 characters, "+" is an allowed symbol
        ("+12345678901", False),  # 12: not numeric because of "+", so at most 11
        ("A&B-C.D!?#", True),  # one-septet ASCII symbols
        ("Shop{1}", False),  # GSM-7 extension characters take two septets
        ("Shop`", False),  # no GSM-7 code at all
        ("Магазин", False),  # Cyrillic
        ("   ", False),
    ],
)
def test_sms_sender_boundaries(client: BsgClient, sender: str, accepted: bool) -> None:
    send = lambda: client.sms_send(phones=phones(1), text="Hello", sender=sender)  # noqa: E731
    if accepted:
        assert send().sender == sender
    else:
        refused(send, "sender")


def test_each_individual_message_checks_its_own_sender(client: BsgClient) -> None:
    messages = [
        IndividualMessage(BASE_PHONE, "Hi", "A" * 11),
        IndividualMessage(BASE_PHONE + 1, "Hi", "A" * 12),
    ]
    error = refused(lambda: client.sms_send_individual(messages=messages), "messages1sender")
    assert "messages0sender" not in error.errors
    assert error.field_paths == ("messages[1].sender",)


# --- phone numbers (9-15 digits, no "+", an integer: no leading zero) -----------------------------


@pytest.mark.parametrize(
    ("number", "accepted"),
    [
        ("1" * 9, True),
        ("1" * 8, False),
        ("1" * 15, True),
        ("1" * 16, False),
    ],
)
def test_phone_digit_boundaries_on_every_send_method(
    client: BsgClient, number: str, accepted: bool
) -> None:
    sends = [
        (
            "phones0number",
            lambda: client.sms_send(phones=[Recipient(number)], text="Hi", sender="Shop"),
        ),
        (
            "messages0phone",
            lambda: client.sms_send_individual(messages=[IndividualMessage(number, "Hi", "Shop")]),
        ),
        (
            "phones0number",
            lambda: client.rcs_send(phones=[Recipient(number)], sender="Agent", text="Hi"),
        ),
    ]
    for field, send in sends:
        if accepted:
            assert send().id > 0
        else:
            refused(send, field)


def test_a_leading_zero_is_refused_before_anything_is_sent(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    # BSG's `number` is a JSON integer: "0661231231" would silently become 661231231, a
    # different (9-digit, valid-looking) number. The client refuses instead of sending it.
    for send in (
        lambda: client.sms_send(phones=[Recipient("0661231231")], text="Hi", sender="Shop"),
        lambda: client.sms_send_individual(messages=[IndividualMessage("0661231231", "Hi", "S")]),
        lambda: client.contact_create(phone="0661231231"),
        lambda: client.price_estimate(sender="Shop", text="Hi", phones=["0661231231"]),
    ):
        with pytest.raises(ValueError, match="leading zero"):
            send()
    assert inspect(bsg_sandbox, "requests") == []
    # RCS numbers travel as strings, so BSG itself sees the zero and refuses it.
    refused(
        lambda: client.rcs_send(phones=[Recipient("0661231231")], sender="Agent", text="Hi"),
        "phones0number",
    )


# --- text: 765 GSM-7 / 335 UCS-2 characters, five parts ------------------------------------------


@pytest.mark.parametrize(
    ("text", "accepted", "parts"),
    [
        ("a" * 160, True, 1),
        ("a" * 161, True, 2),
        ("a" * 765, True, 5),
        ("a" * 766, False, None),
        # Extension characters count two septets and a pair is never split between parts.
        (("{" * 76 + "a") * 5, True, 5),  # 765 septets in five full parts
        (("{" * 76 + "a") * 5 + "a", False, None),  # 766 septets
        ("{" * 382 + "a", False, None),  # 765 septets, but six parts
        (CYRILLIC * 70, True, 1),
        (CYRILLIC * 71, True, 2),
        (CYRILLIC * 335, True, 5),
        (CYRILLIC * 336, False, None),
        ("a" * 334 + "\u2019", True, 5),  # one typographic apostrophe makes it all UCS-2
        ("a" * 335 + "\u2019", False, None),
        # An emoji outside the BMP is a surrogate pair: two UCS-2 units, never split.
        (("😀" * 33 + "a") * 5, True, 5),  # 335 units in five full parts
        ("😀" * 168, False, None),  # 336 units
        ("😀" * 167 + "a", False, None),  # 335 units, but six parts
        ("   ", False, None),
    ],
)
def test_sms_text_boundaries(
    client: BsgClient, text: str, accepted: bool, parts: int | None
) -> None:
    send = lambda: client.sms_send(phones=phones(2, "t"), text=text, sender="Shop")  # noqa: E731
    if not accepted:
        refused(send, "text")
        return
    campaign = send()
    messages = list(client.iter_messages(campaign_id=campaign.id))
    assert [message.parts for message in messages] == [parts, parts]
    assert {message.text for message in messages} == {text}
    estimate = client.price_estimate(sender="Shop", text=text, phones=[BASE_PHONE, BASE_PHONE + 1])
    assert estimate.price == Decimal("0.015") * parts * 2


def test_each_individual_text_is_checked_against_its_own_encoding(client: BsgClient) -> None:
    messages = [
        IndividualMessage(BASE_PHONE, "a" * 765, "Shop"),
        IndividualMessage(BASE_PHONE + 1, CYRILLIC * 335, "Shop"),
        IndividualMessage(BASE_PHONE + 2, CYRILLIC * 336, "Shop"),
    ]
    error = refused(lambda: client.sms_send_individual(messages=messages), "messages2text")
    assert set(error.errors) == {"messages2text"}
    campaign = client.sms_send_individual(messages=messages[:2])
    assert [m.parts for m in client.iter_messages(campaign_id=campaign.id)] == [5, 5]


# --- validity 1-72 hours, tariff 0-9 ------------------------------------------------------------


@pytest.mark.parametrize(("validity", "accepted"), [(0, False), (1, True), (72, True), (73, False)])
def test_validity_boundaries(client: BsgClient, validity: int, accepted: bool) -> None:
    sends = [
        (
            "validity",
            lambda: client.sms_send(phones=phones(1), text="Hi", sender="Shop", validity=validity),
        ),
        (
            "validity",
            lambda: client.sms_send_individual(
                messages=[IndividualMessage(BASE_PHONE, "Hi", "Shop")], validity=validity
            ),
        ),
        (
            "validity",
            lambda: client.rcs_send(phones=phones(1), sender="Agent", text="Hi", validity=validity),
        ),
        (
            "alternative_channelsmsvalidity",
            lambda: client.rcs_send(
                phones=phones(1, start=1),
                sender="Agent",
                text="Hi",
                sms_fallback=SmsFallback(text="Hi", sender="Shop", validity=validity),
            ),
        ),
    ]
    for index, (field, send) in enumerate(sends):
        if not accepted:
            refused(send, field)
            continue
        campaign = send()
        if index == 0:
            (message,) = client.iter_messages(campaign_id=campaign.id)
            assert message.validity == validity


@pytest.mark.parametrize(("tariff", "accepted"), [(0, True), (9, True), (10, False), (-1, False)])
def test_tariff_boundaries_for_sms_and_rcs(client: BsgClient, tariff: int, accepted: bool) -> None:
    group = client.group_create(name="Tariff list")
    client.contact_create(phone=BASE_PHONE + 500, groups=[group.id])
    sends = [
        lambda: client.sms_send(phones=phones(1), text="Hi", sender="Shop", tariff_code=tariff),
        lambda: client.sms_send_groups(
            groups=[group.id], text="Hi", sender="Shop", tariff_code=tariff
        ),
        lambda: client.sms_send_individual(
            messages=[IndividualMessage(BASE_PHONE, "Hi", "Shop")], tariff_code=tariff
        ),
        lambda: client.rcs_send(phones=phones(1), sender="Agent", text="Hi", tariff_code=tariff),
        # E6 sends the tariff as a JSON string (the RCS page's table); BSG reads it all the same.
        lambda: client.rcs_send_groups(
            groups=[group.id], sender="Agent", text="Hi", tariff_code=tariff
        ),
        lambda: client.price_estimate(
            sender="Shop", text="Hi", phones=[BASE_PHONE], tariff_code=tariff
        ),
    ]
    for send in sends:
        if accepted:
            send()
        else:
            refused(send, "tariff_code")


def test_a_valid_tariff_not_connected_to_the_account_is_not_found(
    client: BsgClient, bsg_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bsg_sandbox.config, "tariff_codes", frozenset({0}))
    # BSG answers this one without field errors ("errors": []), so `refused` does not apply.
    with pytest.raises(BsgRejected) as caught:
        client.sms_send(phones=phones(1), text="Hi", sender="Shop", tariff_code=3)
    error = caught.value
    assert (error.status, error.message, error.errors, error.field) == (
        422,
        "Tariff was not found",
        {},
        None,
    )
    assert client.sms_send(phones=phones(1), text="Hi", sender="Shop", tariff_code=0).id > 0


# --- 10,000 recipients (SMS), 5,000 (RCS) ---------------------------------------------------------


def test_ten_thousand_phones_pass_and_one_more_is_refused(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    campaign = client.sms_send(phones=phones(10_000, "p"), text="Hi", sender="Shop")
    (summary,) = inspect(bsg_sandbox, "campaigns")
    assert (summary["id"], summary["message_count"]) == (campaign.id, 10_000)
    refused(
        lambda: client.sms_send(phones=phones(10_001, start=20_000), text="Hi", sender="Shop"),
        "phones",
    )
    assert len(inspect(bsg_sandbox, "campaigns")) == 1


def test_ten_thousand_individual_messages_pass_and_one_more_is_refused(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    def messages(count: int, start: int) -> list[IndividualMessage]:
        return [IndividualMessage(BASE_PHONE + start + i, f"Hi {i}", "Shop") for i in range(count)]

    campaign = client.sms_send_individual(messages=messages(10_000, 0))
    assert inspect(bsg_sandbox, "campaigns")[0]["message_count"] == 10_000
    refused(lambda: client.sms_send_individual(messages=messages(10_001, 20_000)), "messages")
    assert [c["id"] for c in inspect(bsg_sandbox, "campaigns")] == [campaign.id]


def test_five_thousand_rcs_phones_pass_and_one_more_is_refused(client: BsgClient) -> None:
    client.rcs_send(phones=phones(5_000), sender="Agent", text="Hi", add_to_contact_book=False)
    refused(
        lambda: client.rcs_send(phones=phones(5_001, start=10_000), sender="Agent", text="Hi"),
        "phones",
    )


@pytest.mark.parametrize(("length", "accepted"), [(1, True), (40, True), (41, False)])
def test_rcs_agent_names_are_one_to_forty_characters(
    client: BsgClient, length: int, accepted: bool
) -> None:
    send = lambda: client.rcs_send(  # noqa: E731
        phones=phones(1), sender="A" * length, cards=[RcsCard(title="Sale", text="20% off")]
    )
    if accepted:
        assert send().message_type == "rcs"
    else:
        refused(send, "sender")


# --- start_at: at most 30 days ahead, read in BSG's time zone ------------------------------------


@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Tbilisi", "America/Sao_Paulo"])
def test_start_at_may_be_thirty_days_ahead_but_not_a_second_more(
    start_sandbox: Callable[..., SandboxServer], time_zone: str
) -> None:
    # BSG reads `start_at` as wall time in a zone it does not document (BSG_TIME_ZONE); client
    # and sandbox share the setting, so the boundary falls on the same instant in every zone.
    server = start_sandbox(time_zone=time_zone)
    client = make_client(server)
    now = freeze(server)

    def send(start_at: datetime, tag: str) -> object:
        return client.sms_send(phones=phones(1), text=f"Hi {tag}", sender="Shop", start_at=start_at)

    latest = now + timedelta(days=30)
    campaign = send(latest.astimezone(ZoneInfo("Europe/Kyiv")), "a")  # any aware datetime
    assert scheduled_status(client, server, campaign.id) == "scheduled"
    assert campaign.start_at == latest
    assert campaign.start_at.tzinfo == ZoneInfo(time_zone)
    refused(lambda: send(latest + timedelta(seconds=1), "b"), "start_at")
    refused(lambda: send(now + timedelta(days=31), "c"), "start_at")
    # A naive datetime never leaves the client: its zone would be a guess.
    with pytest.raises(ValueError, match="aware"):
        send(datetime(2030, 1, 1, 9, 0), "d")
    client.close()


def test_individual_sends_schedule_with_start_at_too(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    now = freeze(bsg_sandbox)
    message = IndividualMessage(BASE_PHONE, "Hi", "Shop")
    campaign = client.sms_send_individual(messages=[message], start_at=now + timedelta(days=30))
    assert campaign.start_at == now + timedelta(days=30)
    assert scheduled_status(client, bsg_sandbox, campaign.id) == "scheduled"
    refused(
        lambda: client.sms_send_individual(messages=[message], start_at=now + timedelta(days=31)),
        "start_at",
    )


def test_rcs_may_be_scheduled_until_the_end_of_the_thirtieth_day(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    # rcs-send-groups.txt: "30 days (including the current date) - until 23:59:59 of the 30th
    # day", counted in BSG's zone.
    server = start_sandbox(time_zone="Asia/Tbilisi")
    client = make_client(server)
    now = freeze(server)
    zone = ZoneInfo("Asia/Tbilisi")
    last_day = now.astimezone(zone).date() + timedelta(days=29)
    last_moment = datetime.combine(last_day, datetime.max.time().replace(microsecond=0), zone)
    send = lambda start_at, tag: client.rcs_send(  # noqa: E731
        phones=phones(1), sender="Agent", text=f"Hi {tag}", start_at=start_at
    )
    assert scheduled_status(client, server, send(last_moment, "a").id) == "scheduled"
    refused(lambda: send(last_moment + timedelta(seconds=1), "b"), "start_at")
    client.close()


# --- reference ids: unique within a request and across the account --------------------------------


def test_duplicate_reference_ids_are_refused_within_one_request(client: BsgClient) -> None:
    twice = [Recipient(BASE_PHONE, "same"), Recipient(BASE_PHONE + 1, "same")]
    error = refused(
        lambda: client.sms_send(phones=twice, text="Hi", sender="Shop"), "phones1reference_id"
    )
    assert error.errors["phones1reference_id"] == [DUPLICATE_IN_REQUEST]
    individual = [
        IndividualMessage(BASE_PHONE, "Hi", "Shop", "same"),
        IndividualMessage(BASE_PHONE + 1, "Hi", "Shop", "same"),
    ]
    error = refused(
        lambda: client.sms_send_individual(messages=individual), "messages1reference_id"
    )
    assert error.errors["messages1reference_id"] == [DUPLICATE_IN_REQUEST]


def test_a_reference_id_used_by_another_campaign_is_refused(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    first = client.sms_send(phones=[Recipient(BASE_PHONE, "order42")], text="A", sender="Shop")
    error = refused(
        lambda: client.sms_send(
            phones=[Recipient(BASE_PHONE + 1, "fresh"), Recipient(BASE_PHONE + 2, "order42")],
            text="B",
            sender="Shop",
        ),
        "phones1reference_id",
    )
    assert error.errors == {"phones1reference_id": [DUPLICATE_IN_ACCOUNT]}
    refused(
        lambda: client.sms_send_individual(
            messages=[IndividualMessage(BASE_PHONE, "C", "Shop", "order42")]
        ),
        "messages0reference_id",
    )
    # Nothing of a refused request was kept: "fresh" is still free.
    assert [c["id"] for c in inspect(bsg_sandbox, "campaigns")] == [first.id]
    client.sms_send(phones=[Recipient(BASE_PHONE + 1, "fresh")], text="D", sender="Shop")


@pytest.mark.parametrize(
    ("reference", "accepted"),
    [("A" * 32, True), ("A" * 33, False), ("abc-1", False), ("", False)],
)
def test_reference_id_format(client: BsgClient, reference: str, accepted: bool) -> None:
    send = lambda: client.sms_send(  # noqa: E731
        phones=[Recipient(BASE_PHONE, reference)], text="Hi", sender="Shop"
    )
    if accepted:
        campaign = send()
        (message,) = client.iter_messages(reference_ids=[reference])
        assert (message.campaign_id, message.reference_id) == (campaign.id, reference)
    else:
        refused(send, "phones0reference_id")


# --- BSG's guard against repeated requests (429) -------------------------------------------------


def test_an_identical_request_in_quick_succession_answers_429_and_creates_nothing(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    freeze(bsg_sandbox)
    send = lambda: client.sms_send(phones=phones(2, "r"), text="Hi", sender="Shop")  # noqa: E731
    send()
    with pytest.raises(BsgRateLimited) as caught:
        send()
    error = caught.value
    assert (error.status, error.message) == (429, "Too many duplicate request detected")
    assert error.may_have_been_accepted and not error.permanent
    assert error.retry_after is None  # BSG's guard sends no Retry-After
    assert len(inspect(bsg_sandbox, "campaigns")) == 1
    assert len(requests_to(bsg_sandbox, SMS_SEND)) == 2  # the client did not retry either


# --- stop --------------------------------------------------------------------------------------


def test_a_campaign_in_creation_stops(client: BsgClient, bsg_sandbox: SandboxServer) -> None:
    freeze(bsg_sandbox)
    campaign = client.sms_send(phones=phones(3), text="Hi", sender="Shop")
    assert campaign.status == "creation" and campaign.is_stoppable
    stopped = client.campaign_stop(campaign_id=campaign.id)
    assert (stopped.id, stopped.status) == (campaign.id, "stopped")


def test_a_scheduled_campaign_stops_and_never_sends(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    now = freeze(bsg_sandbox)
    campaign = client.sms_send(
        phones=phones(3), text="Hi", sender="Shop", start_at=now + timedelta(hours=1)
    )
    assert scheduled_status(client, bsg_sandbox, campaign.id) == "scheduled"
    assert client.campaign_stop(campaign_id=campaign.id).status == "stopped"
    bsg_sandbox.state.clock.advance(2 * 3600)
    after = client.campaign_get(campaign_id=campaign.id)
    assert (after.status, after.statistics.sent) == ("stopped", 0)


def test_a_sending_campaign_stops_with_what_was_dispatched(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    freeze(bsg_sandbox)
    campaign = client.sms_send(phones=phones(2_000), text="Hi", sender="Shop")
    advance_until(client, bsg_sandbox, campaign.id, "sending")
    stopped = client.campaign_stop(campaign_id=campaign.id)
    assert stopped.status == "stopped"
    bsg_sandbox.state.clock.advance(3600)
    final = client.campaign_get(campaign_id=campaign.id)
    assert final.status == "stopped"
    assert 0 < final.statistics.sent < 2_000


@pytest.mark.parametrize("final_status", ["done", "stopped"])
def test_a_finished_campaign_cannot_be_stopped(
    client: BsgClient, bsg_sandbox: SandboxServer, final_status: str
) -> None:
    freeze(bsg_sandbox)
    campaign = client.sms_send(phones=phones(3), text="Hi", sender="Shop")
    if final_status == "stopped":
        client.campaign_stop(campaign_id=campaign.id)
    else:
        advance_until(client, bsg_sandbox, campaign.id, "done", step=0.1)
        done = client.campaign_get(campaign_id=campaign.id)
        assert done.finished_at is not None and done.statistics.sent == 3
    with pytest.raises(BsgRejected) as caught:
        client.campaign_stop(campaign_id=campaign.id)
    error = caught.value
    assert type(error) is BsgRejected
    assert (error.status, error.message, error.errors) == (422, "Invalid campaign status", {})
    assert client.campaign_get(campaign_id=campaign.id).status == final_status


def test_an_unknown_campaign_is_not_found(client: BsgClient) -> None:
    for call in (
        lambda: client.campaign_stop(campaign_id=999_999),
        lambda: client.campaign_get(campaign_id=999_999),
        lambda: client.campaign_detail(campaign_id=999_999),
    ):
        with pytest.raises(BsgNotFound) as caught:
            call()
        assert (caught.value.status, caught.value.message) == (404, "Not Found")


# --- authentication: expired token, refresh, wrong key -------------------------------------------


def test_an_expired_token_is_replaced_by_exactly_one_new_login(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    freeze(bsg_sandbox)
    campaign = client.sms_send(phones=phones(1), text="Hi", sender="Shop")
    assert len(requests_to(bsg_sandbox, LOGIN)) == 1
    # BSG's clock passes the token's lifetime while ours does not notice: BSG answers 401.
    bsg_sandbox.state.clock.advance(bsg_sandbox.config.token_ttl + 1)

    assert client.campaign_get(campaign_id=campaign.id).id == campaign.id
    stopped_attempt = client.sms_send(phones=phones(1, start=1), text="Again", sender="Shop")

    logins = requests_to(bsg_sandbox, LOGIN)
    assert [entry["status"] for entry in logins] == [200, 200]
    assert all(entry["json"] == {"api_key": "***"} for entry in logins)
    reads = requests_to(bsg_sandbox, f"/api/campaigns/{campaign.id}")
    assert [entry["status"] for entry in reads] == [401, 200]
    assert [entry["status"] for entry in requests_to(bsg_sandbox, SMS_SEND)] == [200, 200]
    assert stopped_attempt.id != campaign.id


def test_a_post_refused_for_an_expired_token_is_repeated_once_and_created_once(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    freeze(bsg_sandbox)
    client.balance()
    bsg_sandbox.state.clock.advance(bsg_sandbox.config.token_ttl + 1)
    campaign = client.sms_send(phones=phones(2, "x"), text="Hi", sender="Shop")
    # 401 means BSG accepted nothing, so repeating the POST once is safe; the sandbox saw the
    # same body twice and processed it once.
    sends = requests_to(bsg_sandbox, SMS_SEND)
    assert [entry["status"] for entry in sends] == [401, 200]
    assert sends[0]["json"] == sends[1]["json"]
    assert [c["id"] for c in inspect(bsg_sandbox, "campaigns")] == [campaign.id]
    assert len(requests_to(bsg_sandbox, LOGIN)) == 2


def test_a_token_near_its_expiry_is_refreshed_not_replaced_by_a_login(
    client: BsgClient, bsg_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(bsg_sandbox)
    client.balance()
    # Both clocks move to 100 s before the token expires: inside the client's refresh margin.
    shift = bsg_sandbox.config.token_ttl - 100
    bsg_sandbox.state.clock.advance(shift)
    real_time = client_module.time
    monkeypatch.setattr(
        client_module,
        "time",
        SimpleNamespace(time=lambda: real_time.time() + shift, monotonic=real_time.monotonic),
    )
    client.balance()
    client.balance()
    assert [e["status"] for e in requests_to(bsg_sandbox, REFRESH)] == [200]
    assert len(requests_to(bsg_sandbox, LOGIN)) == 1
    assert [e["status"] for e in requests_to(bsg_sandbox, "/api/accounts/balance")] == [200] * 3


def test_clients_sharing_a_token_store_log_in_once(bsg_sandbox: SandboxServer) -> None:
    store = InMemoryTokenStore()
    web, worker = (
        make_client(bsg_sandbox, token_store=store),
        make_client(bsg_sandbox, token_store=store),
    )
    web.balance()
    worker.balance()
    assert len(requests_to(bsg_sandbox, LOGIN)) == 1


def test_a_wrong_api_key_is_not_authorised(bsg_sandbox: SandboxServer) -> None:
    client = BsgClient(bsg_sandbox.url, "live_wrongKey123", token_store=InMemoryTokenStore())
    with pytest.raises(BsgNotAuthorised) as caught:
        client.balance()
    assert caught.value.permanent and not caught.value.may_have_been_accepted
    assert "Invalid credentials." in caught.value.message
    assert requests_to(bsg_sandbox, "/api/accounts/balance") == []


# --- faults: what reached BSG decides the error class; POSTs are never repeated -----------------


def test_server_errors_map_to_unavailable_or_outcome_unknown_and_are_never_retried(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    client.balance()  # logged in before the faults start (they spare /api/auth/ anyway)
    bsg_sandbox.set_faults(Faults(error_5xx=1.0, path_prefix="/api/campaigns", seed=3))
    seen: dict[int, type[BsgError]] = {}
    for attempt in range(60):
        with pytest.raises(BsgError) as caught:
            client.sms_send(phones=phones(1), text=f"Try {attempt}", sender="Shop")
        seen.setdefault(caught.value.status, type(caught.value))
        if len(seen) == 4:
            break
    # 503 says "nothing was accepted"; a 500/502/504 can come after BSG stored the campaign.
    assert seen == {
        500: BsgOutcomeUnknown,
        502: BsgOutcomeUnknown,
        503: BsgUnavailable,
        504: BsgOutcomeUnknown,
    }
    sends = requests_to(bsg_sandbox, SMS_SEND)
    assert len(sends) == attempt + 1  # one POST per call: the client never repeats one
    assert len({entry["json"]["text"] for entry in sends}) == len(sends)
    assert inspect(bsg_sandbox, "campaigns") == []
    # A read failing the same way changed nothing: always "unavailable".
    for _ in range(8):
        with pytest.raises(BsgUnavailable):
            client.campaigns_page()


def test_an_injected_429_carries_retry_after(client: BsgClient, bsg_sandbox: SandboxServer) -> None:
    client.balance()
    bsg_sandbox.set_faults(Faults(error_429=1.0, retry_after=7, path_prefix=SMS_SEND))
    with pytest.raises(BsgRateLimited) as caught:
        client.sms_send(phones=phones(1), text="Hi", sender="Shop")
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)
    assert len(requests_to(bsg_sandbox, SMS_SEND)) == 1
    assert inspect(bsg_sandbox, "campaigns") == []


def test_a_send_that_is_never_answered_is_outcome_unknown_but_was_created(
    bsg_sandbox: SandboxServer,
) -> None:
    client = make_client(bsg_sandbox, read_timeout=0.5)
    client.balance()
    bsg_sandbox.set_faults(Faults(hang=1.0, hang_timeout=10.0, path_prefix=SMS_SEND))
    with pytest.raises(BsgOutcomeUnknown) as caught:
        client.sms_send(phones=phones(3, "hung"), text="Hi", sender="Shop")
    assert caught.value.may_have_been_accepted and caught.value.status is None

    # BSG did the work: the campaign exists, though its answer never came.
    (created,) = inspect(bsg_sandbox, "campaigns")
    assert created["reference_ids"] == ["hung0", "hung1", "hung2"]
    (sent,) = requests_to(bsg_sandbox, SMS_SEND, method="POST")  # exactly one POST
    assert (sent["status"], sent["processed_status"], sent["fault"]) == (None, 200, "hang")

    # The way out is to look the references up, never to send again.
    bsg_sandbox.set_faults(Faults())
    found = list(client.iter_messages(reference_ids=["hung0", "hung1", "hung2"]))
    assert {m.campaign_id for m in found} == {created["id"]}
    assert len(requests_to(bsg_sandbox, SMS_SEND, method="POST")) == 1
    client.close()


def test_a_slow_answer_within_the_timeout_is_just_slow(bsg_sandbox: SandboxServer) -> None:
    client = make_client(bsg_sandbox, read_timeout=5.0)
    bsg_sandbox.set_faults(Faults(slow=1.0, slow_delay=0.2, path_prefix=SMS_SEND))
    campaign = client.sms_send(phones=phones(1), text="Hi", sender="Shop")
    assert [c["id"] for c in inspect(bsg_sandbox, "campaigns")] == [campaign.id]
    client.close()


def test_a_slow_answer_past_the_read_timeout_is_outcome_unknown(
    bsg_sandbox: SandboxServer,
) -> None:
    client = make_client(bsg_sandbox, read_timeout=0.2)
    client.balance()
    bsg_sandbox.set_faults(Faults(slow=1.0, slow_delay=0.6, path_prefix="/api/campaigns"))
    with pytest.raises(BsgOutcomeUnknown):
        client.sms_send(phones=phones(1, "late"), text="Hi", sender="Shop")
    with pytest.raises(BsgUnavailable):  # the same on a read changed nothing
        client.campaigns_page()
    # BSG goes on with the send after we gave up waiting: it is created a little later.
    created = wait_for(lambda: inspect(bsg_sandbox, "campaigns"))
    bsg_sandbox.set_faults(Faults())
    (message,) = client.iter_messages(reference_ids=["late0"])
    assert message.campaign_id == created[0]["id"]
    wait_for(
        lambda: (
            len(requests_to(bsg_sandbox, "/api/campaigns")) == 1
            and all(
                entry["processed_status"] for entry in requests_to(bsg_sandbox, "/api/campaigns")
            )
        )
    )
    client.close()


def test_a_slow_request_outliving_a_reset_does_not_land_in_the_fresh_account(
    bsg_sandbox: SandboxServer,
) -> None:
    client = make_client(bsg_sandbox, read_timeout=0.1)
    client.balance()
    bsg_sandbox.set_faults(Faults(slow=1.0, slow_delay=0.3, path_prefix=SMS_SEND))
    with pytest.raises(BsgOutcomeUnknown):
        client.sms_send(phones=phones(1), text="Hi", sender="Shop")
    bsg_sandbox.reset()  # what the next test's fixture does
    time.sleep(0.6)  # the held request wakes up meanwhile, and must find its account gone
    assert inspect(bsg_sandbox, "campaigns") == []
    client.close()


def test_a_dropped_connection_on_a_send_is_outcome_unknown(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    client.balance()
    bsg_sandbox.set_faults(Faults(drop=1.0, path_prefix=SMS_SEND))
    with pytest.raises(BsgOutcomeUnknown):
        client.sms_send(phones=phones(1), text="Hi", sender="Shop")
    # The client cannot tell when the connection died, so it assumes the worst; here the sandbox
    # had created nothing, and one POST arrived.
    assert inspect(bsg_sandbox, "campaigns") == []
    assert len(requests_to(bsg_sandbox, SMS_SEND)) == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_unavailable_for_sends_and_reads() -> None:
    client = BsgClient(f"http://127.0.0.1:{free_port()}", SANDBOX_API_KEY, connect_timeout=1.0)
    for call in (
        lambda: client.sms_send(phones=phones(1), text="Hi", sender="Shop"),
        lambda: client.balance(),
    ):
        with pytest.raises(BsgUnavailable) as caught:
            call()
        assert not caught.value.may_have_been_accepted


# --- lists and iterators -----------------------------------------------------------------------


def test_iter_campaigns_walks_every_page_and_filters_by_type(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    now = freeze(bsg_sandbox)
    sms = [client.sms_send(phones=phones(1), text=f"Hi {i}", sender="Shop").id for i in range(65)]
    rcs = [client.rcs_send(phones=phones(1), sender="Agent", text=f"R {i}").id for i in range(3)]
    window = {"date_from": now - timedelta(hours=1), "date_to": now + timedelta(hours=1)}

    walked = list(client.iter_campaigns(**window, page_size=30))
    assert [c.id for c in walked] == sms
    pages = requests_to(bsg_sandbox, "/api/campaigns")
    assert [entry["query"]["page[offset]"] for entry in pages] == ["0", "30", "60"]
    assert [c.id for c in client.iter_campaigns(message_type="rcs", **window)] == rcs
    newest_first = list(client.iter_campaigns(**window, page_size=30, way="desc"))
    assert [c.id for c in newest_first] == sms[::-1]


def test_iter_campaigns_keeps_to_the_window_and_splits_spans_over_three_months(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    start = freeze(bsg_sandbox)
    clock = bsg_sandbox.state.clock
    created = []
    for day in (0, 100, 200):  # each step also outlives the token: the client logs in again
        created.append(client.sms_send(phones=phones(1), text=f"Day {day}", sender="Shop"))
        clock.advance(100 * 86_400)
    one_day = list(
        client.iter_campaigns(
            date_from=start + timedelta(days=99), date_to=start + timedelta(days=101)
        )
    )
    assert [c.id for c in one_day] == [created[1].id]
    # Seven months: the client asks in windows of at most three months, edges counted once.
    everything = list(client.iter_campaigns(date_from=start, date_to=start + timedelta(days=210)))
    assert [c.id for c in everything] == [c.id for c in created]
    assert len(requests_to(bsg_sandbox, "/api/campaigns")) >= 3


def test_a_window_longer_than_three_months_is_refused_on_one_page(client: BsgClient) -> None:
    now = datetime.now(UTC)
    refused(
        lambda: client.campaigns_page(date_from=now - timedelta(days=100), date_to=now),
        "filterfrom",
    )
    refused(lambda: client.campaigns_page(limit=29), "pagelimit")


def test_iter_messages_by_campaign_and_by_reference(client: BsgClient) -> None:
    first = client.sms_send(phones=phones(40, "a"), text="First", sender="Shop")
    second = client.sms_send(phones=phones(5, "b", start=100), text="Second", sender="Shop")
    by_campaign = list(client.iter_messages(campaign_id=first.id, page_size=15))
    assert len(by_campaign) == 40 and len({m.id for m in by_campaign}) == 40
    assert {m.campaign_id for m in by_campaign} == {first.id}
    assert {m.reference_id for m in by_campaign} == {f"a{i}" for i in range(40)}

    by_reference = list(client.iter_messages(reference_ids=["a7", "b3", "nobody"]))
    assert [(m.reference_id, m.campaign_id, m.phone) for m in by_reference] == [
        ("a7", first.id, BASE_PHONE + 7),
        ("b3", second.id, BASE_PHONE + 103),
    ]
    assert list(client.iter_messages(campaign_id=second.id, reference_ids=["a7"])) == []
    refused(lambda: client.messages_page(reference_id="not-valid!"), "filterreference_id")


def test_campaign_detail_and_lifecycle_reach_done(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    freeze(bsg_sandbox)
    campaign = client.sms_send(phones=phones(20), text="Hi", sender="Shop")
    advance_until(client, bsg_sandbox, campaign.id, "done", step=0.1)
    done = client.campaign_get(campaign_id=campaign.id)
    assert done.real_start_at is not None and done.finished_at is not None
    assert done.statistics.sent == 20 and 0 < done.statistics.delivered <= 20
    detail = client.campaign_detail(campaign_id=campaign.id)
    assert (detail.id, detail.status, detail.total_messages) == (campaign.id, "done", 20)
    assert detail.total_price == Decimal("0.300")
    assert detail.currency == "EUR"


# --- account: price and balance ------------------------------------------------------------------


def test_price_estimate_and_balance(client: BsgClient) -> None:
    group = client.group_create(name="Price list")
    for i in range(3):
        client.contact_create(phone=BASE_PHONE + i, groups=[group.id])
    by_phones = client.price_estimate(sender="Shop", text="a" * 161, phones=[BASE_PHONE])
    assert (by_phones.price, by_phones.currency) == (Decimal("0.03"), "EUR")
    by_group = client.price_estimate(sender="Shop", text="Hi", groups=[group.id])
    assert by_group.price == Decimal("0.045")
    refused(
        lambda: client.price_estimate(sender="A" * 12, text="Hi", phones=[BASE_PHONE]), "sender"
    )
    refused(lambda: client.price_estimate(sender="Shop", text="Hi", groups=[999]), "groups0")

    before = client.balance()
    assert (before.balance, before.currency) == (Decimal("1000"), "EUR")
    client.sms_send_groups(groups=[group.id], text="Hi", sender="Shop")
    assert client.balance().balance == Decimal("1000") - Decimal("0.045")


# --- contact book (E12-E13) and send-groups (E2, E6) ---------------------------------------------


@pytest.mark.parametrize(("length", "accepted"), [(2, False), (3, True), (50, True), (51, False)])
def test_group_names_are_three_to_fifty_characters(
    client: BsgClient, length: int, accepted: bool
) -> None:
    create = lambda: client.group_create(name="g" * length)  # noqa: E731
    if accepted:
        assert create().name == "g" * length
    else:
        refused(create, "name")


def test_contact_book_lists_contacts_fields_and_attach(
    client: BsgClient, bsg_sandbox: SandboxServer
) -> None:
    vip = client.group_create(name="VIP")
    # Past BSG's guard against an identical request in quick succession (a 429), the name is
    # refused for being taken.
    bsg_sandbox.state.clock.advance(bsg_sandbox.config.duplicate_window)
    with pytest.raises(BsgRejected) as caught:
        client.group_create(name="VIP")
    assert caught.value.message == "Contact group is already exists"

    city = client.field_create(name="c" * 30, type="text")
    assert city.type == "text"
    refused(lambda: client.field_create(name="c" * 31, type="text"), "name")
    refused(lambda: client.field_create(name="Colour", type="colour"), "type")
    assert [f.id for f in client.fields_list()] == [city.id]

    anna = client.contact_create(phone=BASE_PHONE, fields={city.id: "Kyiv"})
    assert (anna.phone, anna.fields, anna.groups) == (BASE_PHONE, {city.id: "Kyiv"}, ())
    refused(lambda: client.contact_create(phone=BASE_PHONE + 1, fields={999: "x"}), "fields0id")
    refused(lambda: client.contact_create(phone="12345678"), "phone")
    bsg_sandbox.state.clock.advance(bsg_sandbox.config.duplicate_window)
    with pytest.raises(BsgRejected) as caught:
        client.contact_create(phone=BASE_PHONE)
    assert caught.value.message == "Phone number is already exist in contact book"
    error = refused(lambda: client.contact_create(phone=BASE_PHONE + 2, groups=[999]), "groups0")
    assert error.errors["groups0"] == [GROUP_NOT_FOUND]

    client.groups_attach(contact_ids=[anna.id], group_ids=[vip.id])
    assert [c.id for c in client.iter_contacts(groups=[vip.id])] == [anna.id]
    assert [g.id for g in client.contact_get(contact_id=anna.id).groups] == [vip.id]
    error = refused(
        lambda: client.groups_attach(contact_ids=[anna.id, 999], group_ids=[vip.id]), "contacts1"
    )
    assert error.errors["contacts1"] == [CONTACT_NOT_FOUND]
    refused(
        lambda: client.groups_attach(contact_ids=list(range(1, 202)), group_ids=[vip.id]),
        "contacts",
    )
    page = client.groups_page()
    assert (page.total, [g.name for g in page.items]) == (1, ["VIP"])
    assert [g.contacts_count for g in client.iter_groups()] == [1]
    refused(lambda: client.groups_page(limit=14), "pagelimit")
    error = refused(lambda: client.fields_delete(field_ids=[999]), "ids0")
    assert error.errors["ids0"] == [FIELD_NOT_FOUND]


def test_send_groups_personalises_from_contact_fields(client: BsgClient) -> None:
    name = client.field_create(name="Name", type="text")
    group = client.group_create(name="Customers")
    client.contact_create(phone=BASE_PHONE, groups=[group.id], fields={name.id: "Anna"})
    client.contact_create(phone=BASE_PHONE + 1, groups=[group.id], fields={name.id: "Petro"})
    campaign = client.sms_send_groups(
        groups=[group.id], text=f"Hello {{{name.id}}}!", sender="Shop"
    )
    texts = sorted(m.text or "" for m in client.iter_messages(campaign_id=campaign.id))
    assert texts == ["Hello Anna!", "Hello Petro!"]
    refused(lambda: client.sms_send_groups(groups=[999], text="Hi", sender="Shop"), "groups0")
    refused(lambda: client.sms_send_groups(groups=[], text="Hi", sender="Shop"), "groups")


def test_rcs_send_groups_with_an_sms_fallback(client: BsgClient) -> None:
    group = client.group_create(name="RCS people")
    client.contact_create(phone=BASE_PHONE, groups=[group.id])
    campaign = client.rcs_send_groups(
        groups=[group.id],
        sender="Agent",
        cards=[RcsCard(title="Sale", text="20% off", media_url="https://example.test/a.png")],
        sms_fallback=SmsFallback(text="20% off", sender="Shop"),
    )
    assert campaign.message_type == "rcs" and campaign.calculated_price is not None
    refused(
        lambda: client.rcs_send_groups(
            groups=[group.id],
            sender="Agent",
            text="Hi",
            sms_fallback=SmsFallback(text="a" * 766, sender="Shop"),
        ),
        "alternative_channelsmstext",
    )


# --- secrets: the API key and tokens stay out of errors and logs, and go nowhere else -----------


def test_the_api_key_and_tokens_never_appear_in_errors_or_logs(
    bsg_sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(bsg_sandbox, read_timeout=0.3)
    errors: list[BaseException] = []

    def collect(call: Callable[[], object]) -> None:
        try:
            call()
        except BsgError as error:
            errors.append(error)

    collect(lambda: client.sms_send(phones=phones(1), text="a" * 766, sender="A" * 12))
    collect(lambda: client.campaign_stop(campaign_id=424242))
    bsg_sandbox.state.clock.advance(bsg_sandbox.config.token_ttl + 1)  # a 401, then a login
    collect(lambda: client.campaign_get(campaign_id=424242))
    for faults in (
        Faults(error_5xx=1.0),
        Faults(error_429=1.0),
        Faults(hang=1.0, hang_timeout=5.0),
        Faults(drop=1.0),
    ):
        bsg_sandbox.set_faults(faults)
        collect(lambda: client.sms_send(phones=phones(1), text="Hi", sender="Shop"))
        collect(lambda: client.balance())
    bsg_sandbox.set_faults(Faults())
    wrong = BsgClient(bsg_sandbox.url, "live_AnotherSecret999", token_store=InMemoryTokenStore())
    collect(lambda: wrong.balance())
    assert len(errors) == 12

    token = client._store.get(client._store_key)
    assert token
    secrets = [SANDBOX_API_KEY, "live_AnotherSecret999", token]
    texts = [repr(client), repr(vars(client)), repr(wrong), repr(vars(wrong))]
    for error in errors:
        chain: BaseException | None = error
        while chain is not None:
            texts += [str(chain), repr(chain), repr(vars(chain))]
            chain = chain.__cause__ or chain.__context__
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
    assert any(record.name == "bsg.client" for record in caplog.records)
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert "eyJ" not in text  # no JWT of any kind
    client.close()


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with a redirect (`redirect_to`) or records it (`received`)."""

    redirect_to: str | None = None
    received: list[tuple[str, str, bytes]]

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.received.append((self.command, self.path, body))
        if self.redirect_to:
            self.send_response(307)
            self.send_header("Location", self.redirect_to + self.path)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args: object) -> None:
        return None


def serve(redirect_to: str | None) -> tuple[http.server.ThreadingHTTPServer, list]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Handler", (_Recorder,), {"redirect_to": redirect_to, "received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def test_the_api_key_goes_only_to_the_configured_base_url() -> None:
    elsewhere, stolen = serve(redirect_to=None)
    elsewhere_url = f"http://127.0.0.1:{elsewhere.server_address[1]}"
    gateway, asked = serve(redirect_to=elsewhere_url)
    try:
        client = BsgClient(f"http://127.0.0.1:{gateway.server_address[1]}", SANDBOX_API_KEY)
        with pytest.raises(BsgBadResponse, match="not followed"):
            client.balance()
        assert [(method, path) for method, path, _ in asked] == [("POST", LOGIN)]
        assert stolen == []  # the redirect was not followed: the key went nowhere else
    finally:
        for server in (gateway, elsewhere):
            server.shutdown()
            server.server_close()


# --- property: the live sandbox, through the client, agrees with the rules as the pages word them


_SENDER_ALPHABET = string.ascii_letters + string.digits + " .&-_!?#+{}`ЖéÅ"
_ONE_SEPTET_SYMBOLS = set(string.punctuation) - set("^{}\\[~]|`")


def vendor_sender_ok(sender: str) -> bool:
    """sms-campaigns-all-methods.txt: "1 to 11 characters for the Sender alphanumeric name
    (consists of Latin letters, symbols, numbers, spaces); 1 to 15 characters for the Sender
    numeric name" ("symbols" read as one-septet ASCII punctuation: bsg/rules.py)."""
    if sender.isascii() and sender.isdigit():
        return len(sender) <= 15
    allowed = set(string.ascii_letters + string.digits + " ") | _ONE_SEPTET_SYMBOLS
    return 1 <= len(sender) <= 11 and set(sender) <= allowed and bool(sender.strip())


_examples = itertools.count()


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    sender=st.text(_SENDER_ALPHABET, min_size=1, max_size=17),
    digits=st.integers(min_value=7, max_value=17),
    validity=st.integers(min_value=-1, max_value=74),
    tariff=st.integers(min_value=-1, max_value=11),
)
def test_the_sandbox_refuses_exactly_what_the_vendor_pages_refuse(
    client: BsgClient, sender: str, digits: int, validity: int, tariff: int
) -> None:
    number = "4" * digits
    expected = {
        field
        for field, ok in (
            ("sender", vendor_sender_ok(sender)),
            ("phones0number", 9 <= digits <= 15),  # "From 9 to 15 digits"
            ("validity", 1 <= validity <= 72),  # "Integer from 1 to 72"
            ("tariff_code", 0 <= tariff <= 9),  # "an integer from 0 to 9"
        )
        if not ok
    }
    # A text of its own per example: BSG's guard refuses an identical body sent again at once.
    text = f"Property {next(_examples)}"
    try:
        client.sms_send(
            phones=[Recipient(number)],
            text=text,
            sender=sender,
            validity=validity,
            tariff_code=tariff,
        )
    except BsgRejected as error:
        assert error.message == INVALID
        assert set(error.errors) == expected
    else:
        assert expected == set()
