"""Saved message templates: the words people reuse (an SMS text, or RCS cards and their SMS
fallback), checked like the composer checks them, audited, and the start of a new campaign.

A template holds only what is said. Who gets it decides how its placeholders are filled (here,
by BSG for contact-book groups, or not at all for pasted numbers), so a template's placeholders
are checked as the personalised-here composer checks them: every `{field}` must name a contact
field (a fallback, `{city|your city}`, is welcome); the composer applies the rules of the way
the campaign is sent once it is chosen.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_diff, audit_record, audit_snapshot
from bsg import smstext
from bsg.rules import MAX_RCS_CARDS
from contacts.selectors import fields_by_reference

from . import rendering, selectors, services
from .checks import Problems, rcs_card_errors, too_many_cards
from .engine.events import person_or_none
from .models import Campaign, MessageTemplate
from .stored_text import MESSAGE_TEMPLATE_DELETED, STARTED_FROM_TEMPLATE

# What an audit entry of a template compares.
MESSAGE_TEMPLATE_AUDITED = ("name", "channel", "text", "rcs_cards", "fallback_text")


def message_templates() -> list[MessageTemplate]:
    """The library, by name."""
    return list(MessageTemplate.objects.select_related("created_by"))


def message_template_check(*, template: MessageTemplate) -> Problems:
    """What is wrong with a template's words, keyed by the template form's field names (RCS
    cards as `card-<index>-<field>`, like the composer's)."""
    problems = Problems()
    if not template.name.strip():
        problems.add("name", _("Give the template a name, so people can find it."))
    fields = fields_by_reference()
    if template.is_rcs:
        cards = template.rcs_cards if isinstance(template.rcs_cards, list) else []
        if not cards:
            problems.add("rcs_cards", _("Add at least one card."))
        if len(cards) > MAX_RCS_CARDS:
            problems.add("rcs_cards", too_many_cards(len(cards)))
        for index, card in enumerate(cards):
            for name, message in rcs_card_errors(card):
                problems.add_card(index, name, message)
            for name in ("title", "text"):
                for message in _placeholder_errors(card.get(name) or "", fields):
                    problems.add_card(index, name, message)
        _check_sms_text(problems, "fallback_text", template.fallback_text, fields, required=False)
    else:
        _check_sms_text(problems, "text", template.text, fields, required=True)
    return problems


def _placeholder_errors(text: str, fields: dict) -> tuple[str, ...]:
    return rendering.compile_text(text, fields=fields, mode=rendering.MODE_INDIVIDUAL).errors


def _check_sms_text(
    problems: Problems, name: str, text: str, fields: dict, *, required: bool
) -> None:
    if not text.strip():
        if required:
            problems.add(name, _("Write the text of the SMS."))
        return
    compiled = rendering.compile_text(text, fields=fields, mode=rendering.MODE_INDIVIDUAL)
    for message in compiled.errors:
        problems.add(name, message)
    if not compiled.errors:
        # The words alone, placeholders empty: each recipient's text is counted when it is sent.
        problems.add(name, smstext.limit_error(compiled.render_values([""] * len(compiled.slots))))


def message_template_save(*, template: MessageTemplate, user: Any) -> MessageTemplate:
    """Create or change a template, refused field by field (Problems.refusal) when its words
    could not be sent; audited."""
    problems = message_template_check(template=template)
    if problems:
        raise problems.refusal()
    who = person_or_none(user)
    if not template.is_rcs:
        template.rcs_cards, template.fallback_text = [], ""
    else:
        template.text = ""
    with transaction.atomic():
        if template.pk:
            current = MessageTemplate.objects.select_for_update().filter(pk=template.pk).first()
            if current is None:
                raise MessageTemplate.DoesNotExist
            before = audit_snapshot(current, MESSAGE_TEMPLATE_AUDITED)
            template.created_by_id = current.created_by_id
        else:
            before = {}
            template.created_by = who
        template.name = template.name.strip()
        template.save()
        changes = audit_diff(before, audit_snapshot(template, MESSAGE_TEMPLATE_AUDITED))
        if not before:
            changes = {k: v for k, v in changes.items() if v[1] not in ("", [], None)}
            audit_record(
                action="message-template-create", target=template, changes=changes, actor=who
            )
        elif changes:
            audit_record(
                action="message-template-update", target=template, changes=changes, actor=who
            )
    return template


def message_template_delete(*, template_id: int, user: Any) -> str:
    """Delete a template (campaigns started from it keep their own copy); returns its name."""
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().filter(pk=template_id).first()
        if template is None:
            raise MessageTemplate.DoesNotExist
        name = template.name
        audit_record(
            action="message-template-delete",
            target=template,
            changes={
                field: [value, None]
                for field, value in audit_snapshot(template, MESSAGE_TEMPLATE_AUDITED).items()
                if value not in ("", [], None)
            },
            message=MESSAGE_TEMPLATE_DELETED.stored(name=name, id=template.pk),
            actor=person_or_none(user),
        )
        template.delete()
    return name


def campaign_from_template(*, template_id: int, user: Any) -> Campaign:
    """A new draft with the template's words, to choose its recipients, sender and time in the
    composer. It is the composer's draft from then on: the template is not linked to it."""
    template = MessageTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise MessageTemplate.DoesNotExist
    draft = Campaign(name=template.name, channel=template.channel)
    if template.is_rcs:
        draft.rcs_mode = Campaign.RcsMode.LISTS
        draft.rcs_cards = list(template.rcs_cards)
        draft.fallback_text = template.fallback_text
        draft.fallback_enabled = bool(template.fallback_text)
    else:
        draft.text = template.text
        # The sender the composer would preselect for a new SMS.
        default = next((s for s in selectors.saved_senders() if s.is_default), None)
        draft.sender = default.sender if default else ""
    return services.campaign_save(
        campaign=draft,
        list_ids=[],
        user=person_or_none(user),
        message=STARTED_FROM_TEMPLATE.stored(name=template, id=template.pk),
    )
