"""Remember who is asking and from where, for audit_record() deeper down the call stack.

Services take the acting user when they have one; this saves threading the remote address (and
the user, for services that do not take one) through every call. Outside a request (Celery,
management commands) nothing is set and entries are written as the system.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class AuditContext:
    request: HttpRequest
    remote_addr: str | None

    @property
    def user(self) -> Any | None:
        # request.user is lazy: resolved only when an entry is written.
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return user


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current_audit_context() -> AuditContext | None:
    return _current.get()


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n, the n-th X-Forwarded-For from the right.

    Each trusted proxy appends the address it received from, so the client is the n-th entry
    from the right; anything further left was written by the client and proves nothing.
    """
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            return _valid_ip(forwarded[-min(proxies, len(forwarded))])
    return _valid_ip(request.META.get("REMOTE_ADDR"))


class AuditContextMiddleware:
    """Place after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(AuditContext(request=request, remote_addr=client_address(request)))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
