"""What can go wrong when we call BSG, in classes the campaign engine can act on.

Every class carries three flags so the engine decides without chains of `isinstance`:

- `permanent`: asking again with the same request cannot succeed (fix the request or the
  account first). Non-permanent errors may be retried later, with backoff.
- `may_have_been_accepted`: BSG may have accepted a request that changes something (a send,
  a stop). Never resend such a request blindly: each resend could be another paid SMS blast.
  Look the campaign or the messages' `reference_id`s up first. Only requests that change
  something (POST, PATCH, PUT, DELETE) ever raise an error with this flag set; a GET that fails
  in the same way raises `BsgUnavailable` or `BsgBadResponse` instead.
- `refuses_the_request`: BSG judged this request itself and said no (its `errors` name the
  fields): the request is at fault, not the account or the connection. A permanent error
  without it (a refused login) is the account's: the same request may go once that is fixed.

    BsgError                      permanent  may_have_been_accepted  refuses_the_request
      BsgRejected                 yes        no                      yes   4xx refusal:
                                                                           BSG's message, fields
        BsgNotFound               yes        no                      yes   404
      BsgNotAuthorised            yes        no                      no    login refused, or 401
                                                                           after one re-login
        BsgNoApiKey               yes        no                      no    no key configured:
                                                                           nothing was sent
      BsgRateLimited              no         yes                     no    429 "Too many
                                                                           duplicate request"
      BsgUnavailable              no         no                      no    5xx on a read or 503,
                                                                           no connection, DNS,
                                                                           connect timeout:
                                                                           nothing reached BSG
      BsgOutcomeUnknown           no         yes                     no    read timeout,
                                                                           connection dropped
                                                                           after sending,
                                                                           unusable 2xx answer,
                                                                           5xx but 503 on a write
      BsgBadResponse              no         no                      no    a read answered
                                                                           what we cannot use

No error ever holds the API key or a bearer token: the client removes both from any text BSG
sends back before it builds an error, and errors keep only BSG's message, the HTTP method,
path and status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

# The key under which BSG's messages that name no field are kept. Django forms use the same
# name for non-field errors, so a form can pass `errors` through unchanged.
NON_FIELD_ERRORS = "__all__"


class BsgError(Exception):
    """Base of every error the BSG client raises."""

    permanent: ClassVar[bool] = False
    may_have_been_accepted: ClassVar[bool] = False
    refuses_the_request: ClassVar[bool] = False
    # The fields BSG named and its messages for each (only a refusal names any).
    errors: Mapping[str, list[str]] = MappingProxyType({})

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else ""
        status = f"HTTP {self.status}" if self.status is not None else ""
        context = ", ".join(part for part in (where, status) if part)
        return f"{self.message} ({context})" if context else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, method={self.method!r}, "
            f"path={self.path!r}, status={self.status!r})"
        )


class BsgRejected(BsgError):
    """BSG refused the request (4xx): nothing was accepted, and asking again will not help.

    `errors` maps each field BSG names to its messages. BSG flattens nested field names
    (`messages0phone` is `messages[0].phone`); the keys are kept exactly as BSG sent them, and
    `field_path()` / `field_parts()` turn them back into something readable on a best-effort
    basis. Messages that name no field are under `NON_FIELD_ERRORS`.
    """

    permanent = True
    may_have_been_accepted = False
    refuses_the_request = True

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: Mapping[str, list[str]] | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.errors: dict[str, list[str]] = {
            key: list(value) for key, value in (errors or {}).items()
        }
        self.fields: tuple[str, ...] = tuple(key for key in self.errors if key != NON_FIELD_ERRORS)
        self.field: str | None = self.fields[0] if self.fields else None

    @property
    def field_paths(self) -> tuple[str, ...]:
        """The named fields, un-flattened for people: `messages0phone` -> `messages[0].phone`."""
        return tuple(field_path(field) for field in self.fields)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, method={self.method!r}, "
            f"path={self.path!r}, status={self.status!r}, errors={self.errors!r})"
        )


class BsgNotFound(BsgRejected):
    """BSG answered 404: the campaign, list, contact or field does not exist."""


class BsgNotAuthorised(BsgError):
    """BSG refused our API key, or a fresh token was refused again (401 twice)."""

    permanent = True
    may_have_been_accepted = False


class BsgNoApiKey(BsgNotAuthorised):
    """No API key is configured: nothing was sent to BSG, and nothing will be until an admin
    sets one (BSG_API_KEY)."""


class BsgRateLimited(BsgError):
    """BSG answered 429 "Too many duplicate request detected" (YAML, every POST method).

    It is BSG's guard against a request identical to a recent one, not a request-rate limit
    (none is documented). For a send it means an identical send arrived shortly before, and
    that one may have been accepted: look it up before sending again.
    """

    permanent = False
    may_have_been_accepted = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = 429,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.retry_after = retry_after


class BsgUnavailable(BsgError):
    """BSG could not be reached or was down: nothing was accepted, asking again later is safe."""

    permanent = False
    may_have_been_accepted = False


class BsgOutcomeUnknown(BsgError):
    """The request was sent but no usable answer came back: BSG may have accepted it."""

    permanent = False
    may_have_been_accepted = True


class BsgBadResponse(BsgError):
    """A read (GET) got an answer we cannot use. Nothing changed at BSG; a later read may work."""

    permanent = False
    may_have_been_accepted = False


def normalise_errors(value: object) -> dict[str, list[str]]:
    """BSG's `errors` in one shape, from the three it uses (bsg-api.md, Errors).

    `[]` or missing -> `{}`; `["msg", ...]` -> `{NON_FIELD_ERRORS: [...]}`;
    `{"field": ["msg", ...]}` (or a bare string per field) -> the same, with strings.
    """
    if isinstance(value, Mapping):
        normalised: dict[str, list[str]] = {}
        for key, messages in value.items():
            if isinstance(messages, list | tuple):
                normalised[str(key)] = [str(message) for message in messages]
            elif messages is not None:
                normalised[str(key)] = [str(messages)]
        return normalised
    if isinstance(value, list | tuple):
        messages = [str(message) for message in value if message is not None]
        return {NON_FIELD_ERRORS: messages} if messages else {}
    if isinstance(value, str) and value:
        return {NON_FIELD_ERRORS: [value]}
    return {}


_INDEX = re.compile(r"(\d+)")


def field_parts(flat: str) -> tuple[str | int, ...]:
    """Best-effort split of a flattened BSG field name at its list indexes.

    `messages0phone` -> `("messages", 0, "phone")`; `groups1` -> `("groups", 1)`;
    `sender` -> `("sender",)`. BSG drops the separators, so a name that itself holds digits
    would be split too; none of the fields we send does.
    """
    parts: list[str | int] = []
    for piece in _INDEX.split(flat):
        if not piece:
            continue
        parts.append(int(piece) if piece.isdigit() else piece.strip("._"))
    return tuple(part for part in parts if part != "")


def field_path(flat: str) -> str:
    """`messages0phone` -> `messages[0].phone`: a flattened BSG field name, readable again."""
    text = ""
    for part in field_parts(flat):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or flat
