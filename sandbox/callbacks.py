"""Status callbacks: what BSG POSTs to a send's ``callback_url`` when a message's status changes.

The YAML documents the payload only for RCS (RcsStatusCallback: id, msisdn, reference, status,
error, errorDescription, time_in, time_sent, time_dr, price, currency, on "message status is
changed") and, for SMS, only the ``callback_url`` field (CallbackUrl, at most 100 characters).
The sandbox sends that shape for SMS too: one object per POST when ``callback_batch`` is 1, as
the YAML describes, and a JSON list of up to ``callback_batch`` of them otherwise (a client
should take both; a million messages are two million changes).

Statuses are pure functions of time here (``lifecycle``), so nothing changes by itself: one
thread per sandbox looks every ``callback_interval`` seconds at the campaigns that gave a
``callback_url`` and POSTs each change whose moment the sandbox clock has passed: ``sent`` when a
message leaves ``accepted``, then its final status, then ``read`` for an RCS message that is
read. A message cancelled by a stop reports nothing. A POST that fails (no connection, a timeout,
an answer other than 2xx) is tried again later with backoff, ``callback_tries`` times in all, and
then given up; ``Faults.callback_loss`` drops a share of POSTs without trying at all, since BSG
promises nothing. ``GET /_sandbox/callbacks`` shows the counts.
"""

import json
import random
import threading
import time
import urllib.error
import urllib.request
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox import lifecycle
from sandbox.clock import SandboxClock
from sandbox.config import SandboxConfig
from sandbox.faults import Faults
from sandbox.shapes import Shapes, money
from sandbox.store import Campaign, Store

# Status codes in the plans' byte arrays.
_STATUSES = (
    lifecycle.SENT,
    lifecycle.DELIVERED,
    lifecycle.UNDELIVERED,
    lifecycle.EXPIRED,
    lifecycle.FAILED,
    lifecycle.UNKNOWN,
    lifecycle.READ,
)
_CODE = {status: code for code, status in enumerate(_STATUSES)}
# error and errorDescription: the YAML's sample shows only 0 / "No errors"; the others are ours.
_ERRORS = {
    lifecycle.UNDELIVERED: (1, "Undelivered"),
    lifecycle.EXPIRED: (2, "Expired"),
    lifecycle.FAILED: (3, "Failed"),
    lifecycle.UNKNOWN: (4, "Unknown"),
}
_NO_ERROR = (0, "No errors")
# Seconds before the second try of a POST, doubled for each further one, capped.
_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 30.0
# POSTs shown by GET /_sandbox/callbacks.
_RECENT = 200


class _Plan:
    """One campaign's status changes in time order, and how far they have been sent."""

    def __init__(self, timeline: lifecycle.Timeline) -> None:
        events: list[tuple[float, int, int]] = []
        speed = timeline.speed
        for index in range(timeline.size):
            destiny = lifecycle.fate(timeline.seed, timeline.campaign_id, index, timeline.kind)
            sent = timeline.sent_at(index)
            final = sent
            if destiny.outcome != lifecycle.FAILED:
                events.append((sent, index, _CODE[lifecycle.SENT]))
                final = sent + destiny.delivery / speed
            events.append((final, index, _CODE[destiny.outcome]))
            if destiny.read is not None:
                events.append((final + destiny.read / speed, index, _CODE[lifecycle.READ]))
        events.sort()
        self.times = array("d", (event[0] for event in events))
        self.indexes = array("I", (event[1] for event in events))
        self.codes = array("B", (event[2] for event in events))
        self.cursor = 0

    @property
    def done(self) -> bool:
        return self.cursor >= len(self.times)


@dataclass
class _Post:
    campaign_id: int
    url: str
    events: list[tuple[int, int]]  # (message index, status code)
    generation: int
    tries: int = 0
    due: float = 0.0  # time.monotonic() of the next try


@dataclass
class CallbackCounts:
    posts_sent: int = 0  # POSTs answered 2xx
    reports_sent: int = 0  # statuses in them
    failed_tries: int = 0  # POSTs that failed (and were tried again, or given up)
    reports_given_up: int = 0  # statuses in POSTs that failed every try
    reports_lost: int = 0  # statuses in POSTs dropped by Faults.callback_loss
    recent: deque = field(default_factory=lambda: deque(maxlen=_RECENT))


class CallbackSender:
    def __init__(
        self,
        config: SandboxConfig,
        store: Store,
        clock: SandboxClock,
        shapes: Shapes,
        faults: Callable[[], Faults],
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._shapes = shapes
        self._faults = faults
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._thread: threading.Thread | None = None
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._generation = getattr(self, "_generation", 0) + 1
            self._plans: dict[int, _Plan] = {}
            self._outbox: deque[_Post] = deque()
            self._in_flight = getattr(self, "_in_flight", 0)  # POSTs under way survive a reset
            self._counts = CallbackCounts()
            self._rng = random.Random(f"bsg-sandbox-callbacks:{self._config.seed}")
        # A POST already under way belongs to the account as it was: let it end before the
        # reset returns, so that nothing of the old account reaches anyone afterwards (a test
        # suite's next test saw an earlier test's callback connect). At most one POST's timeout.
        deadline = time.monotonic() + self._config.callback_timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._in_flight:
                    return
            time.sleep(0.01)

    # --- the thread ------------------------------------------------------------------------------

    def start(self, closing: threading.Event) -> None:
        def run() -> None:
            while not closing.wait(self._config.callback_interval):
                self.tick()

        self._thread = threading.Thread(target=run, name="bsg-sandbox-callbacks", daemon=True)
        self._thread.start()

    def tick(self) -> None:
        """One round: queue the changes that are due, then make the POSTs that are due."""
        self._queue_due_changes()
        while True:
            post = self._next_due_post()
            if post is None:
                return
            try:
                self._deliver(post)
            finally:
                with self._lock:
                    self._in_flight -= 1

    def _queue_due_changes(self) -> None:
        now = self._clock.now()
        campaigns = self._store.campaigns_calling_back()
        with self._lock:
            for campaign in campaigns:
                plan = self._plans.get(campaign.id)
                if plan is None:
                    plan = self._plans[campaign.id] = _Plan(campaign.timeline)
                if plan.done:
                    continue
                end = bisect_right(plan.times, now)
                if end <= plan.cursor:
                    continue
                # A stop cancels the messages not yet dispatched: they report nothing.
                kept = campaign.timeline.kept
                events = [
                    (plan.indexes[i], plan.codes[i])
                    for i in range(plan.cursor, end)
                    if plan.indexes[i] < kept
                ]
                plan.cursor = end
                if plan.done:
                    plan.times, plan.indexes, plan.codes = array("d"), array("I"), array("B")
                    plan.cursor = 0
                size = self._config.callback_batch
                for start in range(0, len(events), size):
                    self._outbox.append(
                        _Post(
                            campaign.id,
                            campaign.callback_url or "",
                            events[start : start + size],
                            self._generation,
                        )
                    )

    def _next_due_post(self) -> _Post | None:
        now = time.monotonic()
        with self._lock:
            for _ in range(len(self._outbox)):
                post = self._outbox.popleft()
                if post.due <= now:
                    self._in_flight += 1
                    return post
                self._outbox.append(post)
        return None

    def _deliver(self, post: _Post) -> None:
        campaign = self._store.campaign(post.campaign_id)
        if campaign is None or post.generation != self._generation:
            return  # the account was reset meanwhile
        if post.tries == 0 and self._rng.random() < self._faults().callback_loss:
            with self._lock:
                self._counts.reports_lost += len(post.events)
            return
        body = self._body(campaign, post.events)
        post.tries += 1
        status = self._post(post.url, body)
        with self._lock:
            if post.generation != self._generation:
                return
            counts = self._counts
            counts.recent.append(
                {"url": post.url, "reports": len(post.events), "try": post.tries, "status": status}
            )
            if status is not None and 200 <= status < 300:
                counts.posts_sent += 1
                counts.reports_sent += len(post.events)
                return
            counts.failed_tries += 1
            if post.tries >= self._config.callback_tries:
                counts.reports_given_up += len(post.events)
                return
            delay = min(_BACKOFF_MAX, _BACKOFF_FIRST * 2 ** (post.tries - 1))
            post.due = time.monotonic() + delay
            self._outbox.append(post)

    def _post(self, url: str, body: bytes) -> int | None:
        """The answer's status, or None when none came."""
        if not url.startswith(("http://", "https://")):
            return None  # BSG calls the web: a file: or other scheme gets nothing
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "bsg-sandbox-callbacks"},
        )
        try:
            with self._opener.open(request, timeout=self._config.callback_timeout) as answer:
                answer.read()
                return answer.status
        except urllib.error.HTTPError as refused:
            return refused.code
        except Exception:  # no connection, a timeout, a socket the test suite blocks
            return None

    # --- what a POST says ----------------------------------------------------------------------

    def _body(self, campaign: Campaign, events: list[tuple[int, int]]) -> bytes:
        first = campaign.first_message_id
        rows = self._store.messages_by_id([first + index for index, _ in events])
        reports = [
            self._report(campaign, rows[first + index], index, _STATUSES[code])
            for index, code in events
            if first + index in rows
        ]
        payload: object = reports[0] if self._config.callback_batch == 1 else reports
        return json.dumps(payload, ensure_ascii=False).encode()

    def _report(self, campaign: Campaign, row, index: int, status: str) -> dict[str, object]:
        """One RcsStatusCallback (YAML), field for field."""
        timeline = campaign.timeline
        destiny = lifecycle.fate(timeline.seed, timeline.campaign_id, index, timeline.kind)
        sent = timeline.sent_at(index)
        final = (
            sent
            if destiny.outcome == lifecycle.FAILED
            else sent + destiny.delivery / (timeline.speed)
        )
        error, description = _ERRORS.get(status, _NO_ERROR)
        return {
            "id": row.id,
            "msisdn": str(row.phone),
            "reference": row.reference_id,
            "status": status,
            "error": error,
            "errorDescription": description,
            "time_in": self._shapes.when(campaign.created),
            "time_sent": None if destiny.outcome == lifecycle.FAILED else self._shapes.when(sent),
            "time_dr": None if status == lifecycle.SENT else self._shapes.when(final),
            "price": money(campaign.message_price(row.parts)),
            "currency": self._config.currency,
        }

    # --- inspection ------------------------------------------------------------------------------

    def counts(self) -> dict[str, object]:
        """What GET /_sandbox/callbacks answers."""
        with self._lock:
            counts = self._counts
            return {
                "posts_sent": counts.posts_sent,
                "reports_sent": counts.reports_sent,
                "failed_tries": counts.failed_tries,
                "reports_given_up": counts.reports_given_up,
                "reports_lost": counts.reports_lost,
                "reports_waiting": sum(len(post.events) for post in self._outbox),
                "recent": list(counts.recent),
            }

    def idle(self) -> bool:
        """Nothing due is left to send: every change the clock has passed was POSTed (or given
        up, or lost)."""
        now = self._clock.now()
        campaigns = self._store.campaigns_calling_back()
        with self._lock:
            if self._outbox or self._in_flight:
                return False
            for campaign in campaigns:
                plan = self._plans.get(campaign.id)
                if plan is None:
                    return False
                if not plan.done and bisect_right(plan.times, now) > plan.cursor:
                    return False
            return True
