"""A campaign's history in words: its audit entries (audit.selectors) as the campaign page
shows them, "Text changed", "Lists: Newsletter added", "Sender: Shop → Market", never a model
field's name nor a setting of the other channel. The log itself keeps the raw keys and values
(the admin shows those)."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from audit.models import AuditEntry
from audit.selectors import audit_entries_for
from audit.words import HistoryEntry, action_words, field_label, moment_words, value_words

from .models import Campaign, CampaignPart
from .selectors import APPROVAL_LABELS, APPROVAL_SET_KEYS
from .stored_text import shown

# What each of the campaign's audit actions did, in words.
ACTION_WORDS = {
    "campaign-create": gettext_lazy("Created"),
    "campaign-update": gettext_lazy("Edited"),
    "campaign-duplicate": gettext_lazy("Created as a copy"),
    "campaign-test-send": gettext_lazy("Test send"),
    "campaign-approval-request": gettext_lazy("Asked for approval"),
    "campaign-approve": gettext_lazy("Approved"),
    "campaign-reject": gettext_lazy("Sent back"),
    "campaign-approval-void": gettext_lazy("Approval void"),
    "campaign-request-send": gettext_lazy("Asked to send"),
    "campaign-unschedule": gettext_lazy("Back to draft"),
    "campaign-dispatch": gettext_lazy("Recipients resolved"),
    "campaign-dispatch-failed": gettext_lazy("Could not start"),
    "campaign-hold": gettext_lazy("Held"),
    "campaign-resume": gettext_lazy("Resumed"),
    "campaign-stop": gettext_lazy("Stopped"),
    "campaign-finish": gettext_lazy("Finished"),
    "campaign-retry-failed": gettext_lazy("Retry of the failed recipients"),
    "part-resume": gettext_lazy("Batch resumed"),
    "campaign-archive": gettext_lazy("Moved to the archive"),
    "campaign-restore": gettext_lazy("Restored from the archive"),
    "campaign-delete": gettext_lazy("Deleted"),
}

# The labels of what the composer edits (APPROVAL_LABELS), and of what only the log records.
LABELS = {
    **APPROVAL_LABELS,
    "start_at": gettext_lazy("Start"),
    "window_start": gettext_lazy("Send only from"),
    "window_end": gettext_lazy("Send only until"),
    "window_time_zone": gettext_lazy("Recipients' time zone"),
    "status": gettext_lazy("Status"),
    "approval_send_at": gettext_lazy("When"),
    "archived_at": gettext_lazy("Archived"),
}
# The composer's order: name, who receives it, sender, text, lists, then the rest.
ORDER = {key: index for index, key in enumerate(LABELS)}
# A resumed batch is logged under "part 2", its name when the log began (audit rows are never
# rewritten): said "Batch 2", as the page's table names it, its states in the table's words.
PART_KEY = re.compile(r"part (\d+)")
# Said as "Text changed": their before and after are too long to read side by side.
LONG_KEYS = frozenset({"text", "fallback_text", "rcs_cards"})
# Settings of the other channel, which the campaign's own never uses: an SMS campaign's log
# says nothing of RCS cards or the RCS stop list, and an RCS campaign's nothing of its SMS text.
RCS_ONLY_KEYS = frozenset(
    {
        "rcs_mode",
        "rcs_agent",
        "rcs_cards",
        "rcs_check_stop_list",
        "fallback_enabled",
        "fallback_text",
        "fallback_sender",
        "fallback_validity_hours",
    }
)
SMS_ONLY_KEYS = frozenset({"sms_mode", "text", "sender", "pasted_numbers", "missing_values"})
# The channel never changes once a campaign exists; the start's zone shows in the start itself.
UNSAID_KEYS = frozenset({"channel", "start_time_zone"})
SHORT_VALUE = 60


def campaign_history(*, campaign: Campaign, limit: int = 50) -> list[HistoryEntry]:
    """The newest audit entries of the campaign, in words (one query, as audit_entries_for)."""
    return [_in_words(entry, campaign) for entry in audit_entries_for(target=campaign, limit=limit)]


def _in_words(entry: AuditEntry, campaign: Campaign) -> HistoryEntry:
    hidden = UNSAID_KEYS | (RCS_ONLY_KEYS if campaign.is_sms else SMS_ONLY_KEYS)
    created = entry.action == "campaign-create"
    said = sorted(
        (key for key in entry.changes or {} if key not in hidden),
        key=lambda key: ORDER.get(key, len(ORDER)),
    )
    lines = tuple(
        line
        for key in said
        if isinstance(entry.changes[key], list | tuple) and len(entry.changes[key]) == 2
        # None when both values read the same ("as soon as approved" before and after).
        if (line := _change_line(key, entry.changes[key], created=created)) is not None
    )
    what = ACTION_WORDS.get(entry.action) or action_words(entry.action.removeprefix("campaign-"))
    return HistoryEntry(
        created_at=entry.created_at,
        actor_name=entry.actor_name,
        remote_addr=entry.remote_addr,
        action=entry.action,
        what=str(what),
        # Stored in English by the app (campaigns.stored_text), or a person's own words.
        message=shown(entry.message),
        lines=lines,
    )


def _change_line(key: str, pair: list[Any] | tuple[Any, ...], *, created: bool) -> str | None:
    label = LABELS.get(key) or field_label(key)
    before, after = pair
    batch = PART_KEY.fullmatch(key)
    if batch is not None:
        label = _("Batch %(number)s") % {"number": batch.group(1)}
        return _line(label, f"{_part_state_words(before)} → {_part_state_words(after)}")
    if key in APPROVAL_SET_KEYS and isinstance(after, list) and isinstance(before, list | None):
        added = [str(v) for v in after if v not in (before or [])]
        removed = [str(v) for v in before or [] if v not in after]
        if created:
            return _line(label, ", ".join(added) or _("none"))
        said = [_("%(items)s added") % {"items": ", ".join(added)}] if added else []
        said += [_("%(items)s removed") % {"items": ", ".join(removed)}] if removed else []
        return _line(label, "; ".join(said) or _("changed"))
    if key == "rcs_cards":
        return _cards_line(label, before, after, created=created)
    if created:
        return _line(label, _shortened(_value_words(key, after)))
    if key in LONG_KEYS:
        return _("%(label)s changed") % {"label": label}
    old, new = _value_words(key, before), _value_words(key, after)
    if old == new:
        return None
    if len(old) > SHORT_VALUE or len(new) > SHORT_VALUE:
        return _("%(label)s changed") % {"label": label}
    return _line(label, f"{old} → {new}")


def _cards_line(label: object, before: Any, after: Any, *, created: bool) -> str:
    """RCS cards as a reader can take them in: how many and their titles ("2 cards: Spring
    sale, Last call"), never the stored program data."""
    if created:
        return _line(label, _shortened(_cards_words(after)))
    old, new = _cards_words(before), _cards_words(after)
    if old == new or len(old) > SHORT_VALUE or len(new) > SHORT_VALUE:
        return _("%(label)s changed") % {"label": label}
    return _line(label, f"{old} → {new}")


def _cards_words(cards: Any) -> str:
    if not isinstance(cards, list) or not cards:
        return "—"
    titles = [
        " ".join(str(card.get("title") or "").split())
        for card in cards
        if isinstance(card, dict) and card.get("title")
    ]
    said = ngettext("%(count)s card", "%(count)s cards", len(cards)) % {"count": len(cards)}
    return f"{said}: {', '.join(titles)}" if titles else said


def _line(label: object, words: str) -> str:
    return _("%(label)s: %(words)s") % {"label": label, "words": words}


def _value_words(key: str, value: Any) -> str:
    if key in ("approval_send_at", "send_at") and not value:
        return _("as soon as approved")
    if value is None or value == "" or value == [] or isinstance(value, bool | list):
        return value_words(value)
    words = _choice_words(key, str(value))
    if words is not None:
        return str(words)
    if key in ("start_at", "approval_send_at", "send_at"):
        return _moment_words(str(value))
    if key in ("window_start", "window_end"):
        try:
            return time.fromisoformat(str(value)).strftime("%H:%M")
        except ValueError:
            return str(value)
    # The log's own words for a value ("3 number(s)") are stored in English.
    return shown(str(value)) if key == "pasted_numbers" else value_words(value)


def _part_state_words(state: Any) -> str:
    if state == "resumed":
        return _("Resumed")
    return str(dict(CampaignPart.State.choices).get(state) or value_words(state))


def _choice_words(key: str, value: str) -> str | None:
    choices = {
        "sms_mode": Campaign.SMS_MODE_WORDS,
        "rcs_mode": dict(Campaign.RcsMode.choices),
        "missing_values": dict(Campaign.MissingValues.choices),
        "status": dict(Campaign.Status.choices),
        "channel": dict(Campaign.Channel.choices),
    }.get(key)
    return None if choices is None else choices.get(value)


def _moment_words(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # already in words (an approval's "As soon as approved")
    if timezone.is_naive(moment):
        return value
    return moment_words(moment, zone=True)


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHORT_VALUE else f"{text[: SHORT_VALUE - 1]}…"
