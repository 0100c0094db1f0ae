"""What a send is made of, typed: recipients, individual messages, RCS cards, their buttons
and the SMS fallback. bsg.client turns them into the JSON of E1, E3 and E14 (bsg-api.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

# Recipient and IndividualMessage are named tuples, not frozen dataclasses: a submit makes
# 10,000 of them a request, and a frozen dataclass took 2.3 µs to make against 0.6 µs (a third
# of the worker's CPU per part went to making them: BENCHMARKS.md, session 23). Immutable
# either way.


class Recipient(NamedTuple):
    """One phone of E1 (`phones[]`) or E14. `number`: digits only, no '+' (9-15 digits)."""

    number: str | int
    reference_id: str | None = None


class IndividualMessage(NamedTuple):
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
