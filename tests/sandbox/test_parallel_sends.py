"""Sends answered in parallel: the sandbox checks and stores a campaign in two short steps under
its store's lock and does the per-message work between them (sandbox/store.py), as BSG answers
concurrent requests. What must not change: one reference id is accepted once, every message is
stored exactly once, ids and creation times keep their order, a reset starts a fresh account.

Each test starts its own sandbox on a free loopback port.
"""

import itertools
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
import requests

from sandbox import lifecycle
from sandbox.server import SandboxConfig, SandboxServer
from sandbox.store import FIRST_CAMPAIGN_ID
from sandbox.validation.fields import DUPLICATE_IN_ACCOUNT

API_KEY = "test_parallel_key"
INDIVIDUAL = "/api/campaigns/sms/send-individual"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    sandbox = SandboxServer(
        SandboxConfig(api_key=API_KEY, speed=1000.0, seed=3, balance=Decimal(1_000_000)), port=0
    )
    sandbox.start()
    yield sandbox
    sandbox.shutdown()


def _session(sandbox: SandboxServer) -> requests.Session:
    """A logged-in session; each thread gets its own (requests.Session is not thread-safe)."""
    session = requests.Session()
    answer = session.post(f"{sandbox.url}/api/auth/login", json={"api_key": API_KEY}, timeout=5)
    session.headers["Authorization"] = f"Bearer {answer.json()['bearer']}"
    return session


def _individual(references: list[str], first_phone: int) -> dict:
    return {
        "messages": [
            {
                "phone": first_phone + index,
                "text": f"Hello {reference}",
                "sender": "Shop",
                "reference_id": reference,
            }
            for index, reference in enumerate(references)
        ]
    }


def _send(session: requests.Session, sandbox: SandboxServer, body: dict) -> requests.Response:
    return session.post(f"{sandbox.url}{INDIVIDUAL}", json=body, timeout=30)


def _at_once(sandbox: SandboxServer, bodies: list[dict]) -> list[requests.Response]:
    """The answers to these sends, made by one thread each, released together."""
    sessions = [_session(sandbox) for _ in bodies]
    barrier = threading.Barrier(len(bodies))
    answers: list[requests.Response] = [requests.Response()] * len(bodies)

    def send(index: int) -> None:
        barrier.wait(5)
        answers[index] = _send(sessions[index], sandbox, bodies[index])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def _totals(sandbox: SandboxServer) -> dict[str, int]:
    return requests.get(f"{sandbox.url}/_sandbox/messages", timeout=10).json()["data"]


@pytest.fixture
def held_creation(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], tuple]:
    """Holds the creation of a campaign of ``size`` messages after its reservation, while it
    plans its statuses (outside the store's lock), until the test lets it go on."""

    def hold(size: int) -> tuple[threading.Event, threading.Event]:
        reserved, go_on = threading.Event(), threading.Event()
        real_tally = lifecycle.Tally

        def tally(timeline: lifecycle.Timeline) -> lifecycle.Tally:
            if timeline.size == size and not go_on.is_set():
                reserved.set()
                assert go_on.wait(10), "the test never let the held creation go on"
            return real_tally(timeline)

        monkeypatch.setattr(lifecycle, "Tally", tally)
        return reserved, go_on

    return hold


def test_a_reference_id_held_by_a_send_in_progress_is_refused_to_a_concurrent_one(
    server: SandboxServer, held_creation: Callable[[int], tuple]
) -> None:
    reserved, go_on = held_creation(3)
    answers: dict[str, requests.Response] = {}

    def first() -> None:
        body = _individual(["a0", "a1", "shared1"], 380_661_000_000)
        answers["first"] = _send(_session(server), server, body)

    sending = threading.Thread(target=first)
    sending.start()
    try:
        assert reserved.wait(10)
        session = _session(server)
        # The first send is reserved but not stored: its reference ids are taken all the same.
        overlapping = _send(session, server, _individual(["shared1", "b1"], 380_662_000_000))
        # And the store is not locked meanwhile: a send of other reference ids goes through.
        other = _send(session, server, _individual(["c0", "c1"], 380_663_000_000))
    finally:
        go_on.set()
        sending.join(10)

    assert overlapping.status_code == 422, overlapping.text
    assert overlapping.json()["errors"] == {"messages0reference_id": [DUPLICATE_IN_ACCOUNT]}
    assert other.status_code == 200, other.text
    assert answers["first"].status_code == 200, answers["first"].text
    first_id = answers["first"].json()["data"]["id"]
    other_id = other.json()["data"]["id"]
    # Ids follow the reservations, whichever finished first.
    assert first_id < other_id
    campaigns = requests.get(f"{server.url}/_sandbox/campaigns", timeout=10).json()["data"]
    assert [(c["id"], c["reference_ids"]) for c in campaigns] == [
        (first_id, ["a0", "a1", "shared1"]),
        (other_id, ["c0", "c1"]),
    ]
    assert campaigns[0]["first_message_id"] + 3 == campaigns[1]["first_message_id"]
    assert _totals(server) == {"campaigns": 2, "messages": 5, "phones": 5, "reference_ids": 5}


def test_two_concurrent_sends_with_overlapping_reference_ids_never_both_accept_one(
    server: SandboxServer,
) -> None:
    size, overlap, rounds = 400, 100, 12
    accepted_references: list[str] = []
    for number in range(rounds):
        shared = [f"r{number}s{i}" for i in range(overlap)]
        bodies = [
            _individual(
                [f"r{number}t{side}m{i}" for i in range(size - overlap)] + shared,
                380_670_000_000 + (2 * number + side) * size,
            )
            for side in (0, 1)
        ]
        answers = _at_once(server, bodies)
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 422], [a.text[:200] for a in answers]
        winner = next(side for side in (0, 1) if answers[side].status_code == 200)
        loser = answers[1 - winner]
        assert loser.json()["errors"] == {
            f"messages{index}reference_id": [DUPLICATE_IN_ACCOUNT]
            for index in range(size - overlap, size)
        }
        accepted_references += [m["reference_id"] for m in bodies[winner]["messages"]]

    messages = rounds * size
    assert _totals(server) == {
        "campaigns": rounds,
        "messages": messages,
        "phones": messages,
        "reference_ids": messages,
    }
    campaigns = requests.get(f"{server.url}/_sandbox/campaigns", timeout=10).json()["data"]
    assert sorted(r for c in campaigns for r in c["reference_ids"]) == sorted(accepted_references)


def test_many_concurrent_sends_store_every_message_exactly_once(server: SandboxServer) -> None:
    clients, sends_each, size = 8, 4, 500
    created: dict[int, list[str]] = {}
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(number: int) -> None:
        session = _session(server)
        barrier.wait(5)
        for send in range(sends_each):
            part = number * sends_each + send
            references = [f"p{part}m{i}" for i in range(size)]
            answer = _send(session, server, _individual(references, 380_680_000_000 + part * size))
            with lock:
                if answer.status_code == 200:
                    created[answer.json()["data"]["id"]] = references
                else:
                    failures.append(answer.text[:200])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    messages = clients * sends_each * size
    assert _totals(server) == {
        "campaigns": clients * sends_each,
        "messages": messages,
        "phones": messages,
        "reference_ids": messages,
    }
    campaigns = requests.get(f"{server.url}/_sandbox/campaigns", timeout=10).json()["data"]
    # Consecutive campaign ids, each campaign's messages a block of ids right after the last
    # one's, creation times in id order, and each campaign holds what its own request sent.
    ids = [c["id"] for c in campaigns]
    assert ids == list(range(FIRST_CAMPAIGN_ID, FIRST_CAMPAIGN_ID + len(ids)))
    for before, after in itertools.pairwise(campaigns):
        assert after["first_message_id"] == before["first_message_id"] + size
        assert after["created_at"] >= before["created_at"]
    assert {c["id"]: c["reference_ids"] for c in campaigns} == created
    session = _session(server)
    found = session.get(
        f"{server.url}/api/messages", params={"filter[reference_id]": "p17m250"}, timeout=10
    ).json()["data"]
    assert [(m["reference_id"], m["phone"]) for m in found] == [
        ("p17m250", 380_680_000_000 + 17 * size + 250)
    ]


def test_a_send_caught_by_a_reset_is_created_in_the_fresh_account(
    server: SandboxServer, held_creation: Callable[[int], tuple]
) -> None:
    session = _session(server)
    assert _send(session, server, _individual(["old0", "old1"], 380_690_000_000)).ok
    reserved, go_on = held_creation(3)
    answers: list[requests.Response] = []
    sending = threading.Thread(
        target=lambda: answers.append(
            _send(session, server, _individual(["n0", "n1", "n2"], 380_691_000_000))
        )
    )
    sending.start()
    try:
        assert reserved.wait(10)
        server.reset()
    finally:
        go_on.set()
        sending.join(10)

    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["data"]["id"] == FIRST_CAMPAIGN_ID
    assert _totals(server) == {"campaigns": 1, "messages": 3, "phones": 3, "reference_ids": 3}
    # The fresh account is charged for this campaign alone (three one-part SMS).
    assert server.state.balance == server.config.balance - 3 * server.config.sms_part_price


def test_send_individual_checks_each_message_in_full_whatever_looks_plain(
    server: SandboxServer,
) -> None:
    """Messages that look almost valid go through the full readers and get their errors."""
    session = _session(server)
    ok = {"phone": 380661231231, "text": "Hello", "sender": "Shop"}
    messages = [
        ok | {"phone": True},  # JSON true is not a phone
        ok | {"phone": 99_999_999},  # 8 digits
        ok | {"phone": 1_000_000_000_000_000},  # 16 digits
        ok | {"phone": -380661231231},
        ok | {"phone": "380661231236", "reference_id": "str0"},  # a digit string is taken
        ok | {"phone": 380661231237, "reference_id": ""},
        ok | {"phone": 380661231238, "reference_id": "a-b"},
        ok | {"phone": 380661231239, "reference_id": "x" * 33},
        ok | {"phone": 380661231240, "reference_id": "é1"},
        ok | {"phone": 380661231241, "reference_id": 7},
        ok | {"phone": 380661231242, "sender": ""},
        ok | {"phone": 380661231243, "sender": "Shop~"},
        ok | {"phone": 380661231244, "text": "   "},
        ok | {"phone": 380661231245, "text": "a" * 766},
        "not an object",
        ok | {"phone": 100_000_000, "reference_id": "x" * 32},  # the lowest phone, longest id
        ok | {"phone": 999_999_999_999_999},  # the highest phone
    ]

    answer = _send(session, server, {"messages": messages})

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == {
        "messages0phone": ["This value should be of type integer."],
        "messages1phone": ["This value is too short. It should have 9 characters or more."],
        "messages2phone": ["This value is too long. It should have 15 characters or less."],
        "messages3phone": ["This value is not valid."],
        "messages5reference_id": ["This value is too short. It should have 1 character or more."],
        "messages6reference_id": ["This value is not valid."],
        "messages7reference_id": ["This value is too long. It should have 32 characters or less."],
        "messages8reference_id": ["This value is not valid."],
        "messages9reference_id": ["This value should be of type string."],
        "messages10sender": ["This value should not be blank."],
        "messages11sender": ["This value is not valid."],
        "messages12text": ["This value should not be blank."],
        "messages13text": ["This value is too long. It should have 765 characters or less."],
        "messages14": ["This value should be of type object."],
    }
    valid = [messages[4], messages[15], messages[16]]
    created = _send(session, server, {"messages": valid})
    assert created.status_code == 200, created.text
    assert _totals(server)["messages"] == 3


def test_sms_send_checks_each_phone_in_full_whatever_looks_plain(server: SandboxServer) -> None:
    session = _session(server)
    phones = [
        {"number": True},
        {"number": 99_999_999},
        {"number": 1_000_000_000_000_000},
        {"number": -380661231231},
        {"number": "380661231236", "reference_id": "str0"},  # a digit string is taken
        {"number": 380661231237, "reference_id": ""},
        {"number": 380661231238, "reference_id": "a-b"},
        {"number": 380661231239, "reference_id": "é1"},
        {"number": 380661231240, "reference_id": 7},
        "not an object",
        {"number": 100_000_000, "reference_id": "x" * 32},  # the lowest phone, longest id
        {"number": 999_999_999_999_999},  # the highest phone
    ]
    body = {"sender": "Shop", "text": "Hello"}

    answer = session.post(
        f"{server.url}/api/campaigns/sms/send", json=body | {"phones": phones}, timeout=10
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == {
        "phones0number": ["This value should be of type integer."],
        "phones1number": ["This value is too short. It should have 9 characters or more."],
        "phones2number": ["This value is too long. It should have 15 characters or less."],
        "phones3number": ["This value is not valid."],
        "phones5reference_id": ["This value is too short. It should have 1 character or more."],
        "phones6reference_id": ["This value is not valid."],
        "phones7reference_id": ["This value is not valid."],
        "phones8reference_id": ["This value should be of type string."],
        "phones9": ["This value should be of type object."],
    }
    valid = [phones[4], phones[10], phones[11]]
    created = session.post(
        f"{server.url}/api/campaigns/sms/send", json=body | {"phones": valid}, timeout=10
    )
    assert created.status_code == 200, created.text
    assert _totals(server)["messages"] == 3
