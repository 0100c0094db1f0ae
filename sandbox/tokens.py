"""Bearer tokens as BSG issues them: JWTs carrying ``iat`` and ``exp``.

The real service signs RS256 with its own key (the YAML's sample token); the sandbox signs HS256
with a secret made at start, so a token from another sandbox run, or one edited by hand, is
refused like a forged one. The payload mirrors the YAML sample (iat, exp, roles, id) plus a
``jti`` so that two tokens issued within the same second still differ. Clients read ``exp``
without verifying the signature to refresh before expiry.
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets

from sandbox.clock import SandboxClock

# The account id in the YAML's sample token payload ({"iat":..,"exp":..,"roles":[],"id":208}).
SANDBOX_ACCOUNT_ID = 208


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, clock: SandboxClock, ttl: float, secret: bytes | None = None) -> None:
        self._clock = clock
        self._ttl = ttl
        self._secret = secret or secrets.token_bytes(32)

    def issue(self) -> str:
        now = self._clock.now()
        expires = now + self._ttl
        payload = {
            "iat": int(now),
            # Whole seconds as BSG sends them; a fractional lifetime (tests) keeps its fraction
            # so that a token meant to last 0.5 s does not expire at once or live a second.
            "exp": int(expires) if float(self._ttl).is_integer() else round(expires, 3),
            "roles": [],
            "id": SANDBOX_ACCOUNT_ID,
            "jti": secrets.token_hex(8),
        }
        header = {"typ": "JWT", "alg": "HS256"}
        signing_input = (
            f"{_b64encode(json.dumps(header, separators=(',', ':')).encode())}."
            f"{_b64encode(json.dumps(payload, separators=(',', ':')).encode())}"
        )
        return f"{signing_input}.{_b64encode(self._sign(signing_input))}"

    def valid(self, token: str) -> bool:
        """True for a token this sandbox signed that has not expired (sandbox clock)."""
        parts = token.split(".")
        if len(parts) != 3:
            return False
        signing_input = f"{parts[0]}.{parts[1]}"
        try:
            signature = _b64decode(parts[2])
            payload = json.loads(_b64decode(parts[1]))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return False
        if not hmac.compare_digest(signature, self._sign(signing_input)):
            return False
        expires = payload.get("exp") if isinstance(payload, dict) else None
        if not isinstance(expires, int | float) or not math.isfinite(expires):
            return False
        return self._clock.now() < expires

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
