"""Fault injection: how the sandbox misbehaves on purpose, repeatably.

A real network and a real vendor fail in a handful of ways that each call for a different answer
from the client: a 5xx before anything happened (safe to retry), a 429 (wait, then retry), a
slow answer (the timeout decides), an answer that never comes although the work was done (never
blindly retry a paid send: look the reference ids up), and a connection dropped before the work
(nothing happened). Each is a probability drawn from one seeded RNG, so a test or a demo that
sends the same requests in the same order sees the same faults.

Faults apply only to BSG paths (/api/...) other than /api/auth/*: logging in must keep working
so that the faults are the only thing under test.
"""

import random
import threading
from dataclasses import asdict, dataclass, fields

DROP = "drop"
ERROR_5XX = "5xx"
ERROR_429 = "429"
HANG = "hang"
SLOW = "slow"

# Status codes a broken upstream answers with: 500 from the application itself, 502/503/504
# from the proxy in front of it (those come with an HTML body, as a real nginx would send).
SERVER_ERROR_STATUSES = (500, 502, 503, 504)

_PROBABILITIES = ("error_5xx", "error_429", "slow", "hang", "drop")


class FaultsError(ValueError):
    """Invalid fault settings; ``errors`` maps each field to its messages (BSG's 422 shape)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Faults:
    """Fault probabilities (0..1 each, at most one fault per request, so they add up to <= 1)."""

    error_5xx: float = 0.0  # answer 500/502/503/504 before processing: nothing created
    error_429: float = 0.0  # answer 429 with Retry-After before processing: nothing created
    slow: float = 0.0  # wait slow_delay seconds, then process and answer normally
    hang: float = 0.0  # process (the campaign exists), then never answer
    drop: float = 0.0  # close the connection before processing: nothing created
    slow_delay: float = 2.0  # seconds a slow answer waits before processing
    hang_timeout: float = 30.0  # seconds a hung connection is held unless the client leaves first
    retry_after: int = 1  # Retry-After header (seconds) sent with an injected 429
    path_prefix: str = ""  # only paths starting with this ("" = every /api/ path but auth)
    seed: int | None = None  # RNG seed for the draws; None = the sandbox's seed
    # Share of status callbacks the sandbox never makes (sandbox.callbacks): BSG promises none,
    # and a client must end with the right statuses without them. Not a fault of a request.
    callback_loss: float = 0.0

    def __post_init__(self) -> None:
        errors = _check(self)
        if errors:
            raise FaultsError(errors)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> "Faults":
        """Faults from JSON (PUT /_sandbox/faults); absent fields take their defaults."""
        if not isinstance(data, dict):
            raise FaultsError({"faults": ["Expected a JSON object."]})
        known = {f.name: f for f in fields(cls)}
        errors: dict[str, list[str]] = {}
        values: dict[str, object] = {}
        for key, value in data.items():
            if key not in known:
                errors[key] = ["Unknown fault setting."]
                continue
            values[key] = value
        for key, value in values.items():
            if key == "path_prefix":
                if not isinstance(value, str):
                    errors[key] = ["This value should be of type string."]
            elif key in ("retry_after", "seed"):
                if value is None and key == "seed":
                    continue
                if isinstance(value, bool) or not isinstance(value, int):
                    errors[key] = ["This value should be of type integer."]
            elif isinstance(value, bool) or not isinstance(value, int | float):
                errors[key] = ["This value should be of type number."]
        if errors:
            raise FaultsError(errors)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def any(self) -> bool:
        return any(getattr(self, name) > 0 for name in _PROBABILITIES)


def _check(faults: Faults) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in (*_PROBABILITIES, "callback_loss"):
        value = getattr(faults, name)
        if not 0.0 <= value <= 1.0:
            errors[name] = ["This value should be between 0 and 1."]
    if not errors and sum(getattr(faults, name) for name in _PROBABILITIES) > 1.0 + 1e-9:
        errors["faults"] = ["At most one fault applies per request: probabilities add up to 1."]
    for name in ("slow_delay", "hang_timeout"):
        if getattr(faults, name) < 0:
            errors[name] = ["This value should be greater than or equal to 0."]
    if faults.retry_after < 0:
        errors["retry_after"] = ["This value should be greater than or equal to 0."]
    if faults.path_prefix and not faults.path_prefix.startswith("/"):
        errors["path_prefix"] = ["A path prefix starts with /, e.g. /api/campaigns."]
    return errors


class FaultInjector:
    """Draws the fault (or none) for each request from a seeded RNG; thread-safe."""

    def __init__(self, faults: Faults, default_seed: int) -> None:
        self._lock = threading.Lock()
        self._default_seed = default_seed
        self.set(faults)

    def set(self, faults: Faults) -> None:
        """Replaces the settings and restarts the RNG, so a run after set() repeats exactly."""
        with self._lock:
            self._faults = faults
            seed = self._default_seed if faults.seed is None else faults.seed
            self._rng = random.Random(f"bsg-sandbox-faults:{seed}")

    @property
    def faults(self) -> Faults:
        return self._faults

    @staticmethod
    def applies(faults: Faults, path: str) -> bool:
        if not path.startswith("/api/") or path.startswith("/api/auth/"):
            return False
        return path.startswith(faults.path_prefix or "/api/")

    def draw(self, path: str) -> tuple[str | None, int]:
        """(fault name or None, status for a 5xx). Draws only for paths faults apply to, so
        requests the faults cannot touch do not shift the sequence."""
        with self._lock:
            faults = self._faults
            if not faults.any or not self.applies(faults, path):
                return None, 0
            roll = self._rng.random()
            threshold = 0.0
            for name, fault in (
                ("drop", DROP),
                ("error_5xx", ERROR_5XX),
                ("error_429", ERROR_429),
                ("hang", HANG),
                ("slow", SLOW),
            ):
                threshold += getattr(faults, name)
                if roll < threshold:
                    status = self._rng.choice(SERVER_ERROR_STATUSES) if fault == ERROR_5XX else 0
                    return fault, status
            return None, 0
