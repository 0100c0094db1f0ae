"""The sandbox's own clock: wall-clock time, optionally moved forward or frozen.

Every moment the sandbox reasons about (token expiry, campaign timelines, the duplicate-request
window, the E5 time window) reads this clock, so a test can freeze it and step a campaign through
creation, sending and done without sleeping, and a demo can jump to a scheduled start.
Time only moves forward: campaigns are ordered by creation and tokens by issue time.
"""

import threading
import time
from datetime import UTC, datetime


class SandboxClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        """Unix seconds, sandbox time."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of wall-clock time (while frozen: as of now)."""
        return self.now() - time.time()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("The sandbox clock only moves forward.")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self) -> None:
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time() + self._offset

    def unfreeze(self) -> None:
        """Runs on from the frozen moment (never jumps back to wall-clock time)."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None
