"""Where the client keeps its bearer token, and what it reads from a JWT (without verifying it).

The app passes an adapter over Django's cache (config.bsg), so every web and worker process
shares one token; tests and scripts use InMemoryTokenStore.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from typing import Any, Protocol


class TokenStore(Protocol):
    """Where the bearer token is kept; the app passes an adapter over Django's cache."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, timeout: float) -> None: ...

    def delete(self, key: str) -> None: ...


class InMemoryTokenStore:
    """The default store: one process, values forgotten after their timeout."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            value, deadline = item
            if time.monotonic() >= deadline:
                del self._items[key]
                return None
            return value

    def set(self, key: str, value: str, timeout: float) -> None:
        with self._lock:
            self._items[key] = (value, time.monotonic() + timeout)

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __repr__(self) -> str:
        return f"InMemoryTokenStore({len(self._items)} tokens)"


def token_store_key(base_url: str, api_key: str) -> str:
    """The store key for one account on one server: never the key itself, only a hash of it."""
    key_hash = hashlib.sha256(api_key.encode()).hexdigest()
    url_hash = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()
    return f"bsg:token:{url_hash[:16]}:{key_hash[:32]}"


def jwt_claims(token: str) -> dict[str, Any] | None:
    """A JWT's payload, decoded WITHOUT verifying it (we read `exp`); None if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def token_times(token: str) -> tuple[float, float | None] | None:
    """(exp, iat) in unix seconds, or None when the token is not a JWT with a numeric `exp`."""
    claims = jwt_claims(token)
    if claims is None:
        return None
    expires, issued = claims.get("exp"), claims.get("iat")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return None
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        issued = None
    return float(expires), (float(issued) if issued is not None else None)
