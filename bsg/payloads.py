"""What a send is made of, typed: recipients, individual messages, RCS cards, their buttons
and the SMS fallback. bsg.client turns them into the JSON of E1, E3 and E14 (bsg-api.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipient:
    """One phone of E1 (`phones[]`) or E14. `number`: digits only, no '+' (9-15 digits)."""

    number: str | int
    reference_id: str | None = None


@dataclass(frozen=True)
class IndividualMessage:
    """One message of E3 `send-individual`: its own text and sender per phone."""

    phone: str | int
    text: str
    sender: str
    reference_id: str | None = None


@dataclass(frozen=True)
class LinkSuggestion:
    """An RCS button that opens `url`; sent with `"type": "link"` (YAML SuggestionLink)."""

    text: str
    url: str
    postback_data: str | None = None


@dataclass(frozen=True)
class CallSuggestion:
    """An RCS button that calls `phone`; sent with `"type": "call"` (YAML SuggestionCall)."""

    text: str
    phone: str
    postback_data: str | None = None


RcsSuggestion = LinkSuggestion | CallSuggestion


@dataclass(frozen=True)
class RcsCard:
    """One RCS card: optional title, text, media URL and up to 4 suggestions (YAML Card)."""

    text: str | None = None
    title: str | None = None
    media_url: str | None = None
    suggestions: Sequence[RcsSuggestion] = ()


@dataclass(frozen=True)
class SmsFallback:
    """`alternative_channel.sms`: the SMS sent when the RCS message cannot be delivered."""

    text: str
    sender: str
    validity: int | None = None
    check_stop_list: bool | None = None
