"""Placeholders in an RCS campaign: its cards' titles and texts and its SMS fallback.

BSG's rcs/send takes ONE `options.cards` and ONE `alternative_channel.sms.text` for every phone
of the request (YAML `SendRcsCampaign`: `phones[]` holds only `number` and `reference_id`), so
unlike sms/send-individual it cannot carry a text per recipient. Personalised here therefore
means: render every recipient's cards and fallback (`{first_name}`, `{city|your city}`, as in
an SMS: campaigns.rendering), then group the recipients whose rendered content is the same and
send each group as its own rcs/send request (one CampaignPart, split again at 5,000 phones).
Recipients who share a rendered message share a request; a card that names a value every
recipient has differently costs one BSG campaign per recipient, which the send plan counts
("BSG campaigns") before anyone approves it. Sending each recipient alone would be the same
number of requests at worst and many more at best; one request for all could only be literal.

To BSG contact-book groups (rcs/send-groups) BSG sends one message to the whole group and
documents no placeholders for RCS (rcs-send-groups.txt), so there every card and the fallback
are literal and a placeholder that names contact data is refused beside its field.

Placeholders are filled in a card's title and text; a media URL and the buttons go to everyone
alike (a placeholder there is refused, so nobody gets a link with "{first_name}" in it).

`RcsTemplate.personalise` is the one way a recipient's values are found (the same
CompiledText.personalise as SMS, over the cards' slots then the fallback's): the send plan,
the engine's ledger, the preview and the approval digest all read the same values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from contacts.models import ContactField

from . import rendering
from .models import Campaign

# Card fields whose placeholders are filled per recipient; the others are sent as typed.
PERSONALISED_CARD_FIELDS = ("title", "text")
# Rendered contents remembered by RcsContents before it starts again (bounded memory).
CONTENTS_CACHE_MAX = 50_000


@dataclass(frozen=True)
class RcsTemplate:
    """An RCS campaign's cards and SMS fallback, cut into literal pieces and slots."""

    cards: tuple[dict[str, Any], ...]
    # (card index, card field, compiled) for each personalised card field with placeholders.
    card_texts: tuple[tuple[int, str, rendering.CompiledText], ...]
    fallback: rendering.CompiledText  # the SMS fallback text ("" when it is off)
    fallback_enabled: bool
    # (card index or None for the campaign's own field, field name, message).
    errors: tuple[tuple[int | None, str, str], ...]
    # Every slot: the cards' in order, then the fallback's (personalise's one pass).
    combined: rendering.CompiledText

    @property
    def slots(self) -> tuple[rendering.Slot, ...]:
        return self.combined.slots

    def personalise(
        self, *, phone: str, name: str, fields: Mapping[str, object]
    ) -> rendering.Personalised:
        return self.combined.personalise(phone=phone, name=name, fields=fields)

    def fallback_values(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """The fallback's share of a recipient's values (its slots come last)."""
        return values[len(values) - len(self.fallback.slots) :]

    def render(self, values: tuple[str, ...]) -> RcsRendered:
        cards = [dict(card) for card in self.cards]
        position = 0
        for index, name, compiled in self.card_texts:
            taken = values[position : position + len(compiled.slots)]
            position += len(compiled.slots)
            cards[index][name] = compiled.render_values(taken)
        fallback = (
            self.fallback.render_values(self.fallback_values(values))
            if self.fallback_enabled
            else ""
        )
        return RcsRendered(cards=cards, fallback_text=fallback)


@dataclass(frozen=True)
class RcsRendered:
    """One recipient's RCS message: the cards in the composer's shape, and the SMS fallback."""

    cards: list[dict[str, Any]]
    fallback_text: str

    def as_json(self) -> str:
        """A key equal for equal contents: recipients with the same key share one rcs/send."""
        return json.dumps(
            {"cards": self.cards, "fallback_text": self.fallback_text},
            ensure_ascii=False,
            sort_keys=True,
        )


def rcs_template(*, campaign: Campaign, fields: Mapping[str, ContactField]) -> RcsTemplate:
    """Compile the campaign's cards and fallback for its mode (see the module doc).

    `fields` is `contacts.selectors.fields_by_reference()`."""
    literal = campaign.sends_to_bsg_groups
    mode = rendering.MODE_LITERAL if literal else rendering.MODE_INDIVIDUAL
    cards = tuple(card for card in (campaign.rcs_cards or []) if isinstance(card, dict))
    errors: list[tuple[int | None, str, str]] = []
    card_texts: list[tuple[int, str, rendering.CompiledText]] = []
    for index, card in enumerate(cards):
        for name in PERSONALISED_CARD_FIELDS:
            value = card.get(name) or ""
            compiled = rendering.compile_text(value, fields=fields, mode=mode)
            errors += [(index, name, _for_groups(m) if literal else m) for m in compiled.errors]
            if compiled.slots and not compiled.errors:
                card_texts.append((index, name, compiled))
        errors += [(index, name, m) for name, m in _sent_as_typed_errors(card, fields)]
    fallback_source = campaign.fallback_text if campaign.fallback_enabled else ""
    fallback = rendering.compile_text(fallback_source, fields=fields, mode=mode)
    errors += [(None, "fallback_text", _for_groups(m) if literal else m) for m in fallback.errors]
    if fallback.errors:
        fallback = rendering.compile_text("", fields=fields, mode=mode)
    slots = tuple(slot for _index, _name, c in card_texts for slot in c.slots) + fallback.slots
    combined = rendering.CompiledText(
        source="", pieces=("",) * (len(slots) + 1), slots=slots, errors=()
    )
    return RcsTemplate(
        cards=cards,
        card_texts=tuple(card_texts),
        fallback=fallback,
        fallback_enabled=campaign.fallback_enabled,
        errors=tuple(errors),
        combined=combined,
    )


def _for_groups(message: str) -> str:
    # compile_text's literal-mode wording says "choose contact lists"; here that is a mode.
    return message.replace(
        str(rendering.LITERAL_REMEDY),
        _(
            "BSG sends one RCS message to a whole contact-book group and fills no placeholders "
            "in it; choose “To contact lists, personalised here” to personalise it."
        ),
    )


def _sent_as_typed_errors(
    card: dict[str, Any], fields: Mapping[str, ContactField]
) -> list[tuple[str, str]]:
    """A placeholder in a media URL or a button would reach everyone as typed: refused."""
    found: list[tuple[str, str]] = []
    targets = [("media_url", card.get("media_url") or "")]
    for number, suggestion in enumerate(card.get("suggestions") or [], start=1):
        typed = " ".join(str(suggestion.get(k) or "") for k in ("text", "url", "phone"))
        targets.append((f"suggestion_{number}", typed))
    for name, value in targets:
        compiled = rendering.compile_text(value, fields=fields, mode=rendering.MODE_INDIVIDUAL)
        if compiled.slots:
            tokens = ", ".join(dict.fromkeys(f"{{{slot.token}}}" for slot in compiled.slots))
            found.append(
                (
                    name,
                    _(
                        "%(placeholders)s: placeholders are filled in a card's title and text "
                        "only; a media URL and the buttons go to everyone as typed."
                    )
                    % {"placeholders": tokens},
                )
            )
    return found


class RcsContents:
    """Each recipient's rendered message as its grouping key, remembered by values: the send
    plan and the ledger both group recipients through one of these, so the number of BSG
    campaigns the plan shows is the number the engine makes."""

    def __init__(self, template: RcsTemplate) -> None:
        self.template = template
        self._keys: dict[tuple[str, ...], str] = {}

    def key(self, values: tuple[str, ...]) -> str:
        key = self._keys.get(values)
        if key is None:
            if len(self._keys) >= CONTENTS_CACHE_MAX:
                self._keys.clear()
            key = self.template.render(values).as_json()
            self._keys[values] = key
        return key


def rcs_content_from_key(key: str) -> dict[str, Any]:
    """The JSON kept on a CampaignPart (`content`) from a grouping key."""
    return json.loads(key)
