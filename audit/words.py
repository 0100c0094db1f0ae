"""The audit log in a reader's words: what each action did ("List created", never
"list-create"), each changed field by its label, and moments in the reader's own language and
time zone (never ISO with microseconds). The log itself keeps the raw keys and values; the admin
shows those. campaigns.history says a campaign's entries in its own richer words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from .models import AuditEntry

# What each action of the app did, in words. An action missing here is said from its key
# ("schedule-pause" → "Schedule pause"), so a new one reads as words, not a code.
ACTION_WORDS: dict[str, Promise] = {
    "list-create": gettext_lazy("List created"),
    "list-update": gettext_lazy("List edited"),
    "list-archive": gettext_lazy("List archived"),
    "list-unarchive": gettext_lazy("List restored from the archive"),
    "list-delete": gettext_lazy("List deleted"),
    "list-link": gettext_lazy("Linked to a BSG contact book"),
    "list-unlink": gettext_lazy("Unlinked from the BSG contact book"),
    "list-push-start": gettext_lazy("Copy to BSG started"),
    "list-add-contacts": gettext_lazy("Contacts added"),
    "import-applied": gettext_lazy("Import applied"),
    "field-create": gettext_lazy("Field created"),
    "field-update": gettext_lazy("Field edited"),
    "field-delete": gettext_lazy("Field deleted"),
    "contact-create": gettext_lazy("Contact created"),
    "contact-update": gettext_lazy("Contact edited"),
    "contact-delete": gettext_lazy("Contact deleted"),
    "do-not-contact-add": gettext_lazy("Number added to the do-not-contact list"),
    "do-not-contact-remove": gettext_lazy("Number removed from the do-not-contact list"),
    "do-not-contact-import": gettext_lazy("Numbers imported to the do-not-contact list"),
    "do-not-contact-add-failures": gettext_lazy("Failed numbers added to the do-not-contact list"),
    "message-template-create": gettext_lazy("Template created"),
    "message-template-update": gettext_lazy("Template edited"),
    "message-template-delete": gettext_lazy("Template deleted"),
    "schedule-create": gettext_lazy("Schedule created"),
    "schedule-approve": gettext_lazy("Schedule approved"),
    "schedule-approval-void": gettext_lazy("Schedule approval void"),
    "schedule-pause": gettext_lazy("Schedule paused"),
    "schedule-resume": gettext_lazy("Schedule resumed"),
    "account-settings-update": gettext_lazy("Settings changed"),
    # Written before a person's language and time zone became one row (accounts/migrations/
    # 0003_account_settings); the log keeps its entries as they were.
    "language-choose": gettext_lazy("Language chosen"),
    "time-zone-choose": gettext_lazy("Time zone chosen"),
    "admin-add": gettext_lazy("Added in the admin"),
    "admin-change": gettext_lazy("Changed in the admin"),
    "admin-delete": gettext_lazy("Deleted in the admin"),
}

# Labels of the fields the app's services record (the models have no translated verbose names).
FIELD_LABELS: dict[str, Promise] = {
    "name": gettext_lazy("Name"),
    "description": gettext_lazy("Description"),
    "archived_at": gettext_lazy("Archived"),
    "bsg_group_id": gettext_lazy("BSG contact book"),
    "key": gettext_lazy("Key"),
    "label": gettext_lazy("Label"),
    "bsg_field_id": gettext_lazy("BSG field number"),
    "phone": gettext_lazy("Phone"),
    "fields": gettext_lazy("Fields"),
    "lists": gettext_lazy("Lists"),
    "reason": gettext_lazy("Reason"),
    "paused": gettext_lazy("Paused"),
    "text": gettext_lazy("Text"),
    "status": gettext_lazy("Status"),
    "language": gettext_lazy("Language"),
    "time_zone": gettext_lazy("Time zone"),
}
# Where a field's word depends on what it belongs to: a contact's "name" is a person's
# («Ім'я»), a list's or a campaign's is a title («Назва»). By "app_label.model" of the target.
FIELD_LABELS_OF: dict[str, dict[str, Promise]] = {
    "contacts.contact": {"name": pgettext_lazy("a person's name", "Name")},
}


@dataclass(frozen=True)
class HistoryEntry:
    """One audit entry as templates/audit/_entries.html shows it in words."""

    created_at: datetime
    actor_name: str
    remote_addr: str | None
    action: str
    what: str
    message: str
    lines: tuple[str, ...]
    target_repr: str = ""


def action_words(action: str, *, words: Mapping[str, Promise] | None = None) -> str:
    """What `action` did, in words: from `words`, else ACTION_WORDS, else from its key."""
    said = (words or {}).get(action) or ACTION_WORDS.get(action)
    if said is None:
        return action.replace("-", " ").capitalize()
    return str(said)


def field_label(key: str, *, model: str = "") -> str:
    """A changed field's label; `model` ("app_label.model" of what changed) where it matters."""
    label = FIELD_LABELS_OF.get(model, {}).get(key) or FIELD_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def moment_words(value: datetime, *, zone: bool = False) -> str:
    """A moment as its reader says it: in the active language's format (the one the pages use,
    "2026-12-06 20:15" or "06.12.2026 20:15") and the active time zone; `zone` names the zone
    too ("06.12.2026 22:15 EET"), as the pages do where a moment's zone matters."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    elif zone:
        return formats.date_format(value, _("Y-m-d H:i"))  # a naive moment has no zone to name
    return formats.date_format(value, _("Y-m-d H:i e") if zone else _("Y-m-d H:i"))


def value_words(value: Any) -> str:
    """A logged value in words: "—" for nothing, yes/no, lists joined, ISO moments formatted."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return moment_words(value)
    if isinstance(value, list | tuple):
        return ", ".join(value_words(v) for v in value)
    if isinstance(value, str) and "T" in value and value[:4].isdigit():
        try:
            return moment_words(datetime.fromisoformat(value))
        except ValueError:
            pass
    return str(value)


def change_lines(changes: Mapping[str, Any] | None, *, model: str = "") -> tuple[str, ...]:
    """One line per changed field, "Name: Spring → Summer"; a value that did not change is not
    said (an edit that saved the same value changed nothing). `model`: as field_label."""
    lines = []
    for key, pair in (changes or {}).items():
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            continue
        old, new = value_words(pair[0]), value_words(pair[1])
        if old == new:
            continue
        lines.append(
            _("%(label)s: %(words)s")
            % {"label": field_label(key, model=model), "words": f"{old} → {new}"}
        )
    return tuple(lines)


def entries_in_words(entries: Iterable[AuditEntry]) -> list[HistoryEntry]:
    """Plain audit entries (audit.selectors) in words, for templates/audit/_entries.html."""
    # Imported here: stored_text is campaigns' catalogue of the app's stored English sentences.
    from campaigns.stored_text import shown

    return [
        HistoryEntry(
            created_at=entry.created_at,
            actor_name=entry.actor_name,
            remote_addr=entry.remote_addr,
            action=entry.action,
            what=action_words(entry.action),
            message=shown(entry.message),
            lines=change_lines(entry.changes, model=_model_of(entry)),
            target_repr=entry.target_repr,
        )
        for entry in entries
    ]


def _model_of(entry: AuditEntry) -> str:
    # ContentType's own cache: no query per entry.
    kind = ContentType.objects.get_for_id(entry.target_content_type_id)
    return f"{kind.app_label}.{kind.model}"
