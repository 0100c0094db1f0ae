"""The sandbox pushes message statuses to a send's callback_url, the way the YAML's
RcsStatusCallback describes: each change once, retried when the receiver fails, dropped on
purpose by Faults.callback_loss."""

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.server import Faults, SandboxConfig, SandboxServer
from tests.sandbox.test_sandbox import API_KEY, Bsg

# RcsStatusCallback's properties (YAML), in the order of its sample.
REPORT_KEYS = {
    "id",
    "msisdn",
    "reference",
    "status",
    "error",
    "errorDescription",
    "time_in",
    "time_sent",
    "time_dr",
    "price",
    "currency",
}


class Receiver:
    """A web server on loopback that records every callback body; `refuse` answers 500 to the
    first calls."""

    def __init__(self) -> None:
        self.bodies: list[object] = []
        self.refuse = 0
        self.calls = 0
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/bsg/status/secret/"

    def _app(self, environ, start_response):
        request = Request(environ)
        self.calls += 1
        if self.refuse > 0:
            self.refuse -= 1
            return Response("no", status=500)(environ, start_response)
        self.bodies.append(json.loads(request.get_data()))
        return Response("{}", mimetype="application/json")(environ, start_response)

    @property
    def reports(self) -> list[dict]:
        found: list[dict] = []
        for body in self.bodies:
            found += body if isinstance(body, list) else [body]
        return found

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def sandboxes() -> Iterator[Callable[..., Bsg]]:
    """Start a sandbox whose clock is frozen and which pushes statuses every 20 ms."""
    servers: list[SandboxServer] = []

    def start(**options: object) -> Bsg:
        settings = {"api_key": API_KEY, "seed": 7, "token_ttl": 86_400.0, **options}
        settings.setdefault("callback_interval", 0.02)
        settings.setdefault("callback_tries", 3)
        server = SandboxServer(SandboxConfig(**settings), port=0)  # type: ignore[arg-type]
        server.state.clock.freeze()
        server.start()
        servers.append(server)
        return Bsg(server)

    yield start
    for server in servers:
        server.shutdown()


def settle(bsg: Bsg, seconds: float = 30) -> None:
    """Move the sandbox clock past every message's final status and wait for the POSTs."""
    bsg.advance(seconds)
    deadline = time.monotonic() + 10
    while not bsg.server.state.callbacks.idle():
        assert time.monotonic() < deadline, bsg.server.state.callbacks.counts()
        time.sleep(0.02)


def test_each_status_change_is_pushed_once_in_the_documented_shape(sandboxes, receiver):
    bsg = sandboxes()
    created = bsg.send_sms(phones=40, prefix="cb", callback_url=receiver.url)
    settle(bsg)

    reports = receiver.reports
    messages = bsg.get("/api/messages", **{"filter[campaign_id]": created["id"]}).json()["data"]
    final = {m["reference_id"]: m["status"] for m in messages}
    assert all(set(report) == REPORT_KEYS for report in reports)
    by_reference: dict[str, list[str]] = {}
    for report in reports:
        by_reference.setdefault(report["reference"], []).append(report["status"])
    assert set(by_reference) == set(final)
    for reference, statuses in by_reference.items():
        # "sent" when it left "accepted" (a message that failed outright never was), then the
        # status E9 shows now: each once, in that order.
        assert statuses[-1] == final[reference]
        assert statuses in (["sent", final[reference]], [final[reference]])
    delivered = next(r for r in reports if r["status"] == "delivered")
    assert delivered["error"] == 0 and delivered["errorDescription"] == "No errors"
    assert delivered["msisdn"].startswith("38066") and delivered["currency"] == "EUR"
    assert delivered["time_dr"] and delivered["time_sent"]
    counts = bsg.get("/_sandbox/callbacks").json()["data"]
    assert counts["reports_sent"] == len(reports) and counts["reports_waiting"] == 0
    assert counts["idle"] is True
    # A client driving the clock from another process waits on this: changes due, not yet
    # sent (the first POST refused, the next try half a second later).
    receiver.refuse = 1
    bsg.send_sms(phones=3, prefix="cc", callback_url=receiver.url)
    bsg.advance(30)
    assert bsg.get("/_sandbox/callbacks").json()["data"]["idle"] is False
    settle(bsg)
    assert bsg.get("/_sandbox/callbacks").json()["data"]["idle"] is True


def test_one_status_a_post_as_the_yaml_shows_it(sandboxes, receiver):
    bsg = sandboxes(callback_batch=1)
    bsg.send_sms(phones=2, callback_url=receiver.url)
    settle(bsg)

    assert receiver.bodies and all(isinstance(body, dict) for body in receiver.bodies)
    assert {body["reference"] for body in receiver.bodies} == {"r0", "r1"}


def test_send_individual_pushes_too_and_a_send_without_a_url_pushes_nothing(sandboxes, receiver):
    bsg = sandboxes()
    bsg.send_sms(phones=3, prefix="quiet")
    body = {
        "messages": [
            {"phone": 380661231231, "text": "Hello", "sender": "Shop", "reference_id": "ind1"}
        ],
        "callback_url": receiver.url,
    }
    assert bsg.post("/api/campaigns/sms/send-individual", body).status_code == 200
    settle(bsg)

    assert {report["reference"] for report in receiver.reports} == {"ind1"}


def test_a_failing_receiver_is_tried_again_and_then_given_up(sandboxes, receiver):
    bsg = sandboxes(callback_batch=100)
    receiver.refuse = 2
    bsg.send_sms(phones=1, callback_url=receiver.url)
    bsg.advance(30)
    deadline = time.monotonic() + 10
    while bsg.get("/_sandbox/callbacks").json()["data"]["reports_sent"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    counts = bsg.get("/_sandbox/callbacks").json()["data"]
    # Both changes came due together (one POST): two refusals, then the third try got through.
    assert counts["failed_tries"] == 2 and counts["reports_given_up"] == 0
    assert receiver.reports[0]["status"] == "sent"

    receiver.refuse = 10
    bsg.send_sms(phones=1, prefix="lost", callback_url=receiver.url)
    bsg.advance(30)
    deadline = time.monotonic() + 10
    while bsg.get("/_sandbox/callbacks").json()["data"]["reports_given_up"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_callback_loss_drops_the_posts_without_trying(sandboxes, receiver):
    bsg = sandboxes()
    bsg.server.set_faults(Faults(callback_loss=1.0))
    bsg.send_sms(phones=5, callback_url=receiver.url)
    settle(bsg)

    assert receiver.calls == 0
    assert bsg.get("/_sandbox/callbacks").json()["data"]["reports_lost"] >= 5


def test_messages_a_stop_cancels_report_nothing(sandboxes, receiver):
    bsg = sandboxes()
    created = bsg.send_sms(phones=50, callback_url=receiver.url)
    bsg.advance(1.5)  # out of creation, a few messages dispatched
    assert bsg.patch(f"/api/campaigns/{created['id']}/stop").status_code == 200
    settle(bsg)

    kept = bsg.server.state.store.campaign(created["id"]).timeline.kept
    assert 0 < kept < 50
    assert {r["reference"] for r in receiver.reports} == {f"r{i}" for i in range(kept)}


def test_a_callback_url_over_100_characters_is_refused(sandboxes):
    bsg = sandboxes()
    url = "https://example.com/" + "x" * 81
    answer = bsg.post(
        "/api/campaigns/sms/send",
        {"sender": "Shop", "text": "Hi", "phones": [{"number": 380661000000}], "callback_url": url},
    )
    assert answer.status_code == 422
    assert "callback_url" in answer.json()["errors"]
