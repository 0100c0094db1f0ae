"""Count the BSG poll calls a campaign costs with pushed delivery statuses off and on (issue 16).

One personalised SMS campaign of N recipients (default 1,000,000: 100 parts of 10,000) is
dispatched and submitted to the sandbox, then followed by the engine's poll
(`campaigns.engine.poll.engine_poll`) from submission until its validity has passed, twice:

- off: no callback URL; the engine reads each part's messages (E9) as it does today;
- on: BSG_CALLBACK_BASE_URL points at this process's own web server (Django's WSGI app on a
  loopback port); the sandbox pushes every status change there, in batches, and the worker's
  function (`delivery_reports_apply`) applies them before each poll.

Time is simulated: the sandbox's clock is frozen and moved forward together with the `now` the
engine is given, a poll interval (BSG_POLL_INTERVAL) at a time while anything can still change
and straight to the next due read after that, so hours of validity take minutes. The calls are
counted from the sandbox's request log: every API call a poll made (E5, E7, E8 campaign figures,
which stay the same either way, and E9 message reads, which the pushed statuses spare).

The sandbox serves from a process of its own and is driven over its control endpoints
(/_sandbox/time, /_sandbox/requests, /_sandbox/callbacks): at 1,000,000 recipients the off
half reads some 17,000,000 messages, and the sandbox's half of that work (each message's
status, its JSON) then runs on the other core instead of taking turns with the engine's for
one interpreter.
Before each poll with pushes on, the statuses pushed so far are all applied (the worker's
function called until none is left, as its next runs would): its time budget is wall-clock, and
a poll that found some not yet applied would read messages the pushes had spared, so the count
would depend on the machine's speed.

    .venv/bin/python bench/callbacks.py [--recipients 1000000] [--validity-hours 6]

Runs in a database of its own beside DATABASE_URL's (`<name>_bench_callbacks`,
bench/_database.py), dropped at the end. Exit 1 if a recipient's status differs from BSG's at
the end, or if pushing saved nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SANDBOX_KEY = "bench_callbacks_key"
# Statuses per callback POST: the sandbox batches them (the YAML shows one object per call).
CALLBACK_BATCH = 500


@dataclass
class Counted:
    campaign_calls: int = 0  # E5, E7, E8: the campaigns' figures
    message_calls: int = 0  # E9: the recipients' statuses
    polls: int = 0
    reports_pushed: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.campaign_calls + self.message_calls


class _WebServer:
    """This process's Django app on a loopback port: where the sandbox pushes statuses."""

    def __init__(self) -> None:
        import warnings

        from django.core.wsgi import get_wsgi_application
        from werkzeug.serving import make_server

        # WhiteNoise warns that nothing was collected: no page with static files is served here.
        warnings.filterwarnings("ignore", message="No directory at")
        self._server = make_server("127.0.0.1", 0, get_wsgi_application(), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()


def _serve_sandbox(config, pipe) -> None:
    """The sandbox process: serve until the parent closes its end of `pipe`."""
    from sandbox.server import SandboxServer

    server = SandboxServer(config, port=0)
    server.start()
    pipe.send(server.url)
    with contextlib.suppress(EOFError):  # the parent closed it
        pipe.recv()
    server.shutdown()


class _Sandbox:
    """The sandbox in a process of its own: its BSG API at `url`, its clock, request log and
    callbacks through /_sandbox/."""

    def __init__(self, config) -> None:
        import multiprocessing

        import requests

        # spawn: the child needs none of this process's Django, database connections or threads.
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve_sandbox, args=(config, child), daemon=True)
        self._process.start()
        child.close()
        self.url = self._pipe.recv()
        self._session = requests.Session()
        self._session.trust_env = False  # loopback: never through a proxy

    def _control(self, method: str, path: str, **kwargs) -> dict:
        answer = self._session.request(method, f"{self.url}/_sandbox/{path}", timeout=60, **kwargs)
        answer.raise_for_status()
        return answer.json()["data"]

    def reset(self) -> None:
        self._control("POST", "reset")

    def freeze(self) -> None:
        self._control("POST", "time", json={"freeze": True})

    def advance(self, seconds: float) -> None:
        self._control("POST", "time", json={"advance": seconds})

    def requests_since(self, since: int) -> list[dict]:
        return self._control("GET", "requests", params={"path": "/api/", "since": since})

    def callbacks(self) -> dict:
        return self._control("GET", "callbacks")

    def close(self) -> None:
        self._session.close()
        self._pipe.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()


def _count_since(sandbox: _Sandbox, since: int, counted: Counted) -> int:
    """Add the API calls the sandbox logged after entry `since`; the last entry's id."""
    last = since
    for entry in sandbox.requests_since(since):
        last = max(last, int(entry["id"]))
        if entry["path"].startswith("/api/auth/"):
            continue
        if entry["path"] == "/api/messages":
            counted.message_calls += 1
        else:
            counted.campaign_calls += 1
    return last


def _wait_for_pushes(sandbox: _Sandbox, limit: float = 600.0) -> None:
    deadline = time.monotonic() + limit
    while not (counts := sandbox.callbacks())["idle"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"statuses not pushed: {counts}")
        time.sleep(0.05)


def follow(
    *, campaign_id: int, sandbox: _Sandbox, start: datetime, validity_hours: int, pushed: bool
) -> Counted:
    """Poll the campaign from `start` until its validity has passed (and its last read is
    done), moving the sandbox clock with the engine's `now`."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db.models import Min

    from campaigns.engine import delivery_reports, poll
    from campaigns.models import Campaign, CampaignPart

    counted = Counted()
    interval = timedelta(seconds=settings.BSG_POLL_INTERVAL)
    end = start + timedelta(hours=validity_hours, minutes=45)
    now = start
    since = _count_since(sandbox, 0, Counted())
    started = time.perf_counter()
    while now <= end:
        if pushed:
            _wait_for_pushes(sandbox)
            while delivery_reports.delivery_reports_apply(now=now).reports:
                pass
        cache.delete(poll.POLL_LOCK_KEY)
        poll.engine_poll(now=now)
        counted.polls += 1
        since = _count_since(sandbox, since, counted)
        parts = CampaignPart.objects.filter(campaign_id=campaign_id)
        live = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).exists()
        due = parts.aggregate(next=Min("next_messages_poll_at"))["next"]
        if live or (pushed and not sandbox.callbacks()["idle"]):
            step = interval
        elif due is None:
            break
        elif due <= now:
            continue  # more parts due than one poll reads (MESSAGE_POLL_PARTS_PER_CYCLE)
        else:
            # Nothing changes until the next read: the beats in between do nothing.
            step = max(interval, due - now)
        sandbox.advance(step.total_seconds())
        now += step
    counted.seconds = round(time.perf_counter() - started, 1)
    counted.reports_pushed = sandbox.callbacks()["reports_sent"]
    return counted


def _statuses_agree(campaign_id: int) -> bool:
    """Every ledger row holds the status BSG gives its message now."""
    from campaigns.models import CampaignPart, Recipient
    from config.bsg import bsg_client

    with bsg_client() as client:
        for part in CampaignPart.objects.filter(campaign_id=campaign_id):
            truth = {
                m.reference_id: (m.status or "").lower()
                for m in client.iter_messages(campaign_id=part.bsg_campaign_id)
            }
            ours = dict(Recipient.objects.filter(part=part).values_list("reference_id", "status"))
            if ours != truth:
                return False
    return True


def run_once(*, list_id: int, sandbox: _Sandbox, validity_hours: int, pushed: bool) -> Counted:
    from django.conf import settings
    from django.utils import timezone

    from bench.send_plan import TEXT
    from campaigns.engine import dispatch, submit
    from campaigns.models import Campaign, CampaignPart

    sandbox.reset()
    sandbox.freeze()
    settings.BSG_CALLBACK_BASE_URL = settings.BENCH_WEB_URL if pushed else ""
    campaign = Campaign.objects.create(
        name=f"bench callbacks {'on' if pushed else 'off'}",
        text=TEXT,
        sender="BenchShop",
        sms_mode="individual",
        validity_hours=validity_hours,
        status=Campaign.Status.READY,
    )
    campaign.lists.set([list_id])
    try:
        start = timezone.now()
        result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
        for part_id in result.part_ids:
            outcome = submit.part_submit(part_id=part_id, now=start)
            if outcome is None or outcome.state != CampaignPart.State.SUBMITTED:
                raise RuntimeError(f"part {part_id} not submitted: {outcome}")
        counted = follow(
            campaign_id=campaign.pk,
            sandbox=sandbox,
            start=start,
            validity_hours=validity_hours,
            pushed=pushed,
        )
        if not _statuses_agree(campaign.pk):
            raise RuntimeError("a recipient's status differs from BSG's at the end")
    finally:
        campaign.delete()
    return counted


def run(*, recipients: int, validity_hours: int, sandbox: _Sandbox, web_url: str) -> dict:
    from django.conf import settings

    from bench.send_plan import _cleanup, _load

    settings.BENCH_WEB_URL = web_url
    list_id, _ = _load(recipients, 7)
    try:
        off, on = (
            run_once(list_id=list_id, sandbox=sandbox, validity_hours=validity_hours, pushed=pushed)
            for pushed in (False, True)
        )
    finally:
        _cleanup(list_id)
    saved = 100.0 * (off.total - on.total) / off.total if off.total else 0.0
    return {"off": off, "on": on, "saved_percent": round(saved, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument(
        "--validity-hours",
        type=int,
        default=6,
        help="the campaign's validity: messages are read until it ends, so the calls without "
        "pushed statuses grow with it (BSG's default and ours is 72: about 80 reads a part, "
        "hours of reading at 1,000,000 recipients; 6 keeps a run under an hour)",
    )
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings

    from bench._database import own_database
    from sandbox.server import SandboxConfig

    sandbox = _Sandbox(
        SandboxConfig(
            api_key=SANDBOX_KEY,
            balance=Decimal("100000000"),
            currency="EUR",
            callback_batch=CALLBACK_BATCH,
            callback_interval=0.05,
            # Identical E9 page requests in one simulated instant are not duplicates to refuse.
            duplicate_window=0,
        )
    )
    settings.BSG_API_URL, settings.BSG_API_KEY = sandbox.url, SANDBOX_KEY
    # Only the web server's own host: the callback URL is http on loopback here.
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    web = None
    try:
        with own_database("bench_callbacks"):
            web = _WebServer()
            figures = run(
                recipients=args.recipients,
                validity_hours=args.validity_hours,
                sandbox=sandbox,
                web_url=web.url,
            )
    finally:
        if web is not None:
            web.close()
        sandbox.close()
    off, on = figures["off"], figures["on"]
    print(f"recipients {args.recipients:,}, validity {args.validity_hours} h")
    for label, counted in (("off", off), ("on", on)):
        print(
            f"callbacks {label}: {counted.total:,} poll calls "
            f"({counted.campaign_calls:,} campaign figures, {counted.message_calls:,} message "
            f"reads) in {counted.polls:,} polls, {counted.reports_pushed:,} statuses pushed, "
            f"{counted.seconds} s"
        )
    print(f"figure: poll calls, callbacks off = {off.total} calls")
    print(f"figure: poll calls, callbacks on = {on.total} calls")
    print(f"figure: message reads, callbacks off = {off.message_calls} calls")
    print(f"figure: message reads, callbacks on = {on.message_calls} calls")
    print(f"figure: poll calls saved = {figures['saved_percent']} %")
    if on.total >= off.total:
        print("FAILED: pushing statuses saved no poll call", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
