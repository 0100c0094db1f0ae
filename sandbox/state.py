"""Everything a running sandbox holds, and the in-process view of it (``server.state``).

The HTTP inspection endpoints under /_sandbox/ answer exactly what these methods return, so a
test can look in-process or over HTTP and see the same thing.
"""

import hashlib
import threading
from collections import OrderedDict
from decimal import Decimal

from sandbox import lifecycle
from sandbox.callbacks import CallbackSender
from sandbox.clock import SandboxClock
from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector, Faults
from sandbox.requestlog import RequestLog
from sandbox.shapes import Shapes, money
from sandbox.store import Store


class DuplicateGuard:
    """BSG's 429 "Too many duplicate request detected": an identical body sent to the same path
    within ``window`` seconds of one that was processed is refused without being processed.

    The window runs from the last *processed* request: a client that retries every second gets
    through again once the window has passed, as it would with a guard keyed on a short-lived
    cache entry. Requests answered by an injected fault before processing do not count.
    """

    def __init__(self, window: float, clock: SandboxClock) -> None:
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def refuses(self, method: str, path: str, body: bytes) -> bool:
        if self._window <= 0:
            return False
        digest = hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).digest()
        now = self._clock.now()
        with self._lock:
            # Entries are kept in processing order: drop those past the window from the front.
            while self._seen:
                oldest, moment = next(iter(self._seen.items()))
                if now - moment < self._window:
                    break
                del self._seen[oldest]
            if digest in self._seen:
                return True
            self._seen[digest] = now
            return False

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock()
        self.store = Store(config)
        self.log = RequestLog(config.request_log_size)
        self.injector = FaultInjector(config.faults, config.seed)
        self.guard = DuplicateGuard(config.duplicate_window, self.clock)
        self.shapes = Shapes(config, self.store.sent_parts)
        # Pushes message statuses to the callback_url of the sends that gave one (its thread is
        # started by the server).
        self.callbacks = CallbackSender(
            config, self.store, self.clock, self.shapes, lambda: self.injector.faults
        )
        # Counts resets: a request held by a "slow" fault across a reset must not land in the
        # fresh account (a test's late request would create a campaign in the next test).
        self.generation = 0

    # --- what GET /_sandbox/requests, /campaigns and /faults answer ------------------------------

    @property
    def requests(self) -> list[dict[str, object]]:
        """Every BSG request received (oldest first): method, path, query, JSON body (api_key
        masked, long arrays cut), status answered (None if none), processed_status, fault."""
        return self.log.entries()

    def find_requests(
        self, *, path_prefix: str = "", method: str = "", since: int = 0
    ) -> list[dict[str, object]]:
        return self.log.entries(path_prefix=path_prefix, method=method, since=since)

    @property
    def campaigns(self) -> list[dict[str, object]]:
        """Campaigns created, with their message count and reference ids."""
        moment = self.clock.now()
        summaries = []
        for campaign in self.store.all_campaigns():
            timeline = campaign.timeline
            summaries.append(
                {
                    "id": campaign.id,
                    "message_type": campaign.kind,
                    "endpoint": campaign.endpoint,
                    "name": campaign.name,
                    "sender": campaign.sender,
                    "status": lifecycle.campaign_status(timeline, campaign.tally.finish, moment),
                    "created_at": self.shapes.when(campaign.created),
                    "start_at": self.shapes.when(campaign.requested_start),
                    "stopped_at": self.shapes.when(timeline.stopped_at),
                    "message_count": campaign.size,
                    "first_message_id": campaign.first_message_id,
                    "reference_ids": self.store.reference_ids(campaign),
                    "price": money(campaign.price - campaign.refunded),
                    "currency": self.config.currency,
                }
            )
        return summaries

    @property
    def faults(self) -> Faults:
        return self.injector.faults

    def set_faults(self, faults: Faults) -> None:
        self.injector.set(faults)

    @property
    def balance(self) -> Decimal:
        with self.store.lock:
            return self.store.balance

    def time(self) -> dict[str, object]:
        now = self.clock.now()
        return {
            "now": self.shapes.when(now),
            "timestamp": now,
            "offset": round(self.clock.offset, 6),
            "frozen": self.clock.frozen,
            "time_zone": self.config.time_zone,
        }

    def reset(self) -> None:
        """A fresh account: no campaigns, messages, contacts, lists or fields, no faults, an
        empty request log, the configured balance and wall-clock time. Tokens stay valid."""
        self.generation += 1
        self.store.reset()
        self.log.clear()
        self.guard.clear()
        self.clock.reset()
        self.injector.set(Faults())
        self.callbacks.reset()
