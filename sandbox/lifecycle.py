"""Campaign and message lifecycles as pure functions of time.

Nothing here runs in the background. A campaign is a ``Timeline`` fixed when it is created (and
once more when it is stopped); the status of the campaign and of each message at any moment is
computed from that timeline, the message's index and the sandbox seed. That makes the sandbox
cheap (no thread walks a million messages), deterministic (same seed, same outcomes) and
testable (freeze the clock and step through the stages).

The pace, at speed 1, of a 10,000-message campaign: 1 s in ``creation``; messages dispatched
evenly over the next 6 s (1 s + 5 s per 10,000); each stays ``accepted`` for 0.5 s, then
``sent``; 0.5-2.5 s later it reaches its final status; the last one does so about 10 s after
creation, and the campaign is ``done``. ``speed`` divides every duration. A scheduled campaign
waits in ``scheduled`` until its start.

Outcomes are drawn per message from a hash of (seed, campaign id, index): about 95 % delivered,
the rest undelivered, expired, failed or unknown. RCS messages that end undelivered, expired or
failed fall back to SMS when the campaign has an alternative SMS channel; half the delivered RCS
messages are read a little later.
"""

import hashlib
import struct
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace

SMS = "sms"
RCS = "rcs"

# Campaign statuses (vendor pages and the YAML's CampaignStatus enum).
CREATION = "creation"
SCHEDULED = "scheduled"
SENDING = "sending"
PAUSED = "paused"
MODERATION = "moderation"
DONE = "done"
STOPPED = "stopped"
SPAM = "spam"
# The union of the vendor pages (creation, paused, sending, scheduled) and the YAML (scheduled,
# sending, paused, moderation): see bsg-api.md "Disagreements".
STOPPABLE = frozenset({CREATION, SCHEDULED, SENDING, PAUSED, MODERATION})

# Message statuses (the YAML's MessageStatus enum) plus CANCELLED, which BSG does not document:
# what a message of a stopped campaign that was never dispatched becomes here.
ACCEPTED = "accepted"
SENT = "sent"
DELIVERED = "delivered"
UNDELIVERED = "undelivered"
EXPIRED = "expired"
FAILED = "failed"
UNKNOWN = "unknown"
READ = "read"
CANCELLED = "cancelled"
FINAL_OUTCOMES = (DELIVERED, UNDELIVERED, EXPIRED, FAILED, UNKNOWN)

# The pace at speed 1, in seconds.
CREATION_SECONDS = 1.0
DISPATCH_BASE_SECONDS = 1.0
DISPATCH_SECONDS_PER_10K = 5.0
ACCEPT_SECONDS = 0.5
DELIVERY_MIN_SECONDS = 0.5
DELIVERY_SPREAD_SECONDS = 2.0
READ_MIN_SECONDS = 0.5
READ_SPREAD_SECONDS = 1.5

# Cumulative shares of final outcomes: ~5 % of messages end badly, as on a real route.
_OUTCOME_THRESHOLDS = (
    (0.950, DELIVERED),
    (0.975, UNDELIVERED),
    (0.985, EXPIRED),
    (0.995, FAILED),
    (1.000, UNKNOWN),
)
RCS_READ_SHARE = 0.5
FALLBACK_DELIVERED_SHARE = 0.95
# RCS outcomes that hand the message to the alternative SMS channel (vendor page
# rcs-send-groups.txt: "in case of undeliverable rcs message").
FALLBACK_OUTCOMES = frozenset({UNDELIVERED, EXPIRED, FAILED})

_UNIT = 1.0 / 2**32


@dataclass(frozen=True, slots=True)
class Fate:
    """What happens to one message, at speed 1."""

    outcome: str
    delivery: float  # seconds from sent to the final status
    read: float | None  # RCS: seconds from delivered to read; None = never read
    fallback: float  # seconds from the RCS final status to the fallback SMS's final status
    fallback_delivered: bool


_DRAW = struct.Struct("<5I")
_THRESHOLDS = tuple(threshold for threshold, _ in _OUTCOME_THRESHOLDS)
_OUTCOMES = tuple(name for _, name in _OUTCOME_THRESHOLDS)


def _draws(seed: int, campaign_id: int, start: int, stop: int) -> Iterator[tuple[int, ...]]:
    """The five 32-bit draws of each message index in [start, stop)."""
    prefix = f"{seed}:{campaign_id}:"
    blake2b, unpack = hashlib.blake2b, _DRAW.unpack
    for index in range(start, stop):
        yield unpack(blake2b(f"{prefix}{index}".encode(), digest_size=20).digest())


def _outcome(a: int) -> str:
    # The first threshold above the roll (a roll is < 1, so one always is).
    return _OUTCOMES[bisect_right(_THRESHOLDS, a * _UNIT)]


def fate(seed: int, campaign_id: int, index: int, kind: str) -> Fate:
    """The message's fate, a pure function of (seed, campaign id, index, kind)."""
    a, b, c, d, e = next(_draws(seed, campaign_id, index, index + 1))
    outcome = _outcome(a)
    read = None
    if kind == RCS and outcome == DELIVERED and c * _UNIT < RCS_READ_SHARE:
        read = READ_MIN_SECONDS + READ_SPREAD_SECONDS * (c * _UNIT / RCS_READ_SHARE)
    return Fate(
        outcome=outcome,
        delivery=DELIVERY_MIN_SECONDS + DELIVERY_SPREAD_SECONDS * (b * _UNIT),
        read=read,
        fallback=ACCEPT_SECONDS + DELIVERY_MIN_SECONDS + DELIVERY_SPREAD_SECONDS * (d * _UNIT),
        fallback_delivered=e * _UNIT < FALLBACK_DELIVERED_SHARE,
    )


@dataclass(frozen=True, slots=True)
class Timeline:
    """When a campaign does what, in sandbox seconds (unix time of the sandbox clock)."""

    campaign_id: int
    kind: str
    seed: int
    size: int  # messages in the campaign
    created: float
    creation_end: float  # the campaign leaves ``creation``
    start: float  # the first message is dispatched (real_start_at)
    window: float  # messages are dispatched evenly over this many seconds from ``start``
    accept: float  # seconds a message stays ``accepted`` before it is ``sent``
    speed: float
    fallback: bool  # RCS with an alternative SMS channel
    stopped_at: float | None = None

    @classmethod
    def plan(
        cls,
        *,
        campaign_id: int,
        kind: str,
        seed: int,
        size: int,
        created: float,
        start_at: float | None,
        speed: float,
        fallback: bool = False,
    ) -> "Timeline":
        """A new campaign's timeline; a ``start_at`` in the past means "now" (after creation)."""
        creation_end = created + CREATION_SECONDS / speed
        start = creation_end if start_at is None else max(start_at, creation_end)
        window = (DISPATCH_BASE_SECONDS + DISPATCH_SECONDS_PER_10K * min(size, 10_000) / 10_000) / (
            speed
        )
        return cls(
            campaign_id=campaign_id,
            kind=kind,
            seed=seed,
            size=size,
            created=created,
            creation_end=creation_end,
            start=start,
            window=window,
            accept=ACCEPT_SECONDS / speed,
            speed=speed,
            fallback=fallback,
        )

    def stopped(self, moment: float) -> "Timeline":
        return replace(self, stopped_at=moment)

    def dispatch_at(self, index: int) -> float:
        return self.start + self.window * index / self.size

    def sent_at(self, index: int) -> float:
        return self.dispatch_at(index) + self.accept

    def dispatched(self, moment: float) -> int:
        """How many messages were dispatched by ``moment`` (exactly those with
        ``dispatch_at(i) <= moment``, so counts agree with per-message statuses)."""
        return self._count(moment, 0.0)

    def past_accept(self, moment: float) -> int:
        """How many messages left ``accepted`` by ``moment`` (``sent_at(i) <= moment``)."""
        return self._count(moment, self.accept)

    def _count(self, moment: float, shift: float) -> int:
        if moment < self.start + shift:
            return 0
        guess = min(self.size, int((moment - shift - self.start) * self.size / self.window) + 1)
        # Float rounding can put the guess one off at a boundary: settle it on the exact rule.
        while guess > 0 and self.dispatch_at(guess - 1) + shift > moment:
            guess -= 1
        while guess < self.size and self.dispatch_at(guess) + shift <= moment:
            guess += 1
        return guess

    @property
    def kept(self) -> int:
        """Messages that go out: all of them, or those dispatched before the stop."""
        if self.stopped_at is None:
            return self.size
        return self.dispatched(self.stopped_at)


@dataclass(frozen=True, slots=True)
class MessageState:
    status: str
    sent_at: float | None
    delivered_at: float | None
    fallback_status: str | None  # the alternative SMS's status; None when there is none (yet)


def message_state(timeline: Timeline, index: int, moment: float) -> MessageState:
    """Status of message ``index`` of the campaign at ``moment``."""
    if index >= timeline.kept:
        return MessageState(CANCELLED, None, None, None)
    if moment < timeline.dispatch_at(index):
        return MessageState(SCHEDULED, None, None, None)
    sent = timeline.sent_at(index)
    if moment < sent:
        return MessageState(ACCEPTED, None, None, None)
    destiny = fate(timeline.seed, timeline.campaign_id, index, timeline.kind)
    if destiny.outcome == FAILED:
        final, sent_at = sent, None
    else:
        final, sent_at = sent + destiny.delivery / timeline.speed, sent
        if moment < final:
            return MessageState(SENT, sent_at, None, None)
    status = destiny.outcome
    delivered_at = final if status == DELIVERED else None
    if destiny.read is not None and moment >= final + destiny.read / timeline.speed:
        status = READ
    fallback_status = None
    if timeline.fallback and destiny.outcome in FALLBACK_OUTCOMES:
        fallback_status = _fallback_status(timeline, destiny, final, moment)
    return MessageState(status, sent_at, delivered_at, fallback_status)


def _fallback_status(timeline: Timeline, destiny: Fate, rcs_final: float, moment: float) -> str:
    if moment < rcs_final + timeline.accept:
        return ACCEPTED
    if moment < rcs_final + destiny.fallback / timeline.speed:
        return SENT
    return DELIVERED if destiny.fallback_delivered else UNDELIVERED


def campaign_status(timeline: Timeline, finish: float, moment: float) -> str:
    if timeline.stopped_at is not None:
        return STOPPED
    if moment < timeline.creation_end:
        return CREATION
    if moment < timeline.start:
        return SCHEDULED
    if moment < finish:
        return SENDING
    return DONE


def real_start_at(timeline: Timeline, moment: float) -> float | None:
    """When sending began, once it has (a campaign stopped before its start never began)."""
    began = timeline.start if timeline.stopped_at is None else timeline.stopped_at
    if moment >= timeline.start and began >= timeline.start:
        return timeline.start
    return None


class Tally:
    """Messages per status at any moment in O(log n), from sorted arrays of transition times.

    Built once when a campaign is created (and again when it is stopped): one pass over its
    messages' fates. Dispatch and accept times follow a formula, so only final, read and
    fallback times are stored: about 8 bytes per message.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        finals: dict[str, list[float]] = {name: [] for name in FINAL_OUTCOMES}
        reads: list[float] = []
        fallback_started: list[float] = []
        fallback_delivered: list[float] = []
        fallback_undelivered: list[float] = []
        finish = timeline.start
        speed = timeline.speed
        # ``fate`` and ``sent_at`` inlined (the same arithmetic, in the same order): this loop
        # runs once per message of every campaign created, ten thousand a request.
        start, window, accept = timeline.start, timeline.window, timeline.accept
        size = timeline.size
        reads_possible = timeline.kind == RCS
        fallback = timeline.fallback
        fallback_least = ACCEPT_SECONDS + DELIVERY_MIN_SECONDS  # fate() adds these first too
        draws = _draws(timeline.seed, timeline.campaign_id, 0, timeline.kept)
        for index, (a, b, c, d, e) in enumerate(draws):
            outcome = _outcome(a)
            sent = start + window * index / size + accept
            if outcome == FAILED:
                final = sent
            else:
                delivery = DELIVERY_MIN_SECONDS + DELIVERY_SPREAD_SECONDS * (b * _UNIT)
                final = sent + delivery / speed
            finals[outcome].append(final)
            end = final
            if reads_possible and outcome == DELIVERED and c * _UNIT < RCS_READ_SHARE:
                read = READ_MIN_SECONDS + READ_SPREAD_SECONDS * (c * _UNIT / RCS_READ_SHARE)
                reads.append(final + read / speed)
            if fallback and outcome in FALLBACK_OUTCOMES:
                fallback_started.append(final)
                end = final + (fallback_least + DELIVERY_SPREAD_SECONDS * (d * _UNIT)) / speed
                delivered = e * _UNIT < FALLBACK_DELIVERED_SHARE
                (fallback_delivered if delivered else fallback_undelivered).append(end)
            if end > finish:
                finish = end
        self._finals = {name: array("d", sorted(times)) for name, times in finals.items()}
        self._reads = array("d", sorted(reads))
        self._fallback_started = array("d", sorted(fallback_started))
        self._fallback_delivered = array("d", sorted(fallback_delivered))
        self._fallback_undelivered = array("d", sorted(fallback_undelivered))
        self.finish = finish

    def counts(self, moment: float) -> dict[str, int]:
        """Messages per status (SCHEDULED, ACCEPTED, SENT, the outcomes, READ, CANCELLED)."""
        timeline = self.timeline
        kept = timeline.kept
        dispatched = min(timeline.dispatched(moment), kept)
        past_accept = min(timeline.past_accept(moment), kept)
        finals = {name: bisect_right(times, moment) for name, times in self._finals.items()}
        read = bisect_right(self._reads, moment)
        return {
            SCHEDULED: kept - dispatched,
            ACCEPTED: dispatched - past_accept,
            SENT: past_accept - sum(finals.values()),
            DELIVERED: finals[DELIVERED] - read,
            READ: read,
            UNDELIVERED: finals[UNDELIVERED],
            EXPIRED: finals[EXPIRED],
            FAILED: finals[FAILED],
            UNKNOWN: finals[UNKNOWN],
            CANCELLED: timeline.size - kept,
        }

    def fallback_counts(self, moment: float) -> dict[str, int]:
        """The alternative SMS channel's messages per status."""
        started = bisect_right(self._fallback_started, moment)
        past_accept = bisect_right(self._fallback_started, moment - self.timeline.accept)
        delivered = bisect_right(self._fallback_delivered, moment)
        undelivered = bisect_right(self._fallback_undelivered, moment)
        return {
            ACCEPTED: started - past_accept,
            SENT: past_accept - delivered - undelivered,
            DELIVERED: delivered,
            UNDELIVERED: undelivered,
        }

    @property
    def has_fallback(self) -> bool:
        return self.timeline.fallback


def short_statistics(counts: dict[str, int]) -> dict[str, int]:
    """The campaign object's {delivered, sent}: vendor page rcs-send-groups.txt counts as sent
    every message past dispatch (DELIVERED SENT ACCEPTED SENDING UNDELIVERED FAILED EXPIRED
    UNKNOWN) and as delivered DELIVERED and READ. Both are 0 at creation."""
    delivered = counts.get(DELIVERED, 0) + counts.get(READ, 0)
    sent = delivered + sum(
        counts.get(name, 0) for name in (ACCEPTED, SENT, UNDELIVERED, EXPIRED, FAILED, UNKNOWN)
    )
    return {"delivered": delivered, "sent": sent}
