"""Writing the audit log. Call audit_record() inside the service's transaction, after the change,
so that the entry and the change are committed or rolled back together."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.text import slugify

from .middleware import current_audit_context
from .models import AuditEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

_REPR_MAX = AuditEntry._meta.get_field("target_repr").max_length
_ACTION_MAX = AuditEntry._meta.get_field("action").max_length


def audit_value(value: Any) -> Any:
    """A JSON-friendly form of a field value: objects by their str, sets and querysets as lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): audit_value(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((audit_value(v) for v in value), key=str)
    if isinstance(value, Iterable):
        return [audit_value(v) for v in value]
    return str(value)


def audit_snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audit form of some fields of obj, to diff before and after a change; a many-to-many
    field is the sorted list of its members' str (one query each)."""
    snapshot: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            if obj.pk is None:
                snapshot[name] = []
            else:
                snapshot[name] = sorted(str(o) for o in getattr(obj, name).all())
        else:
            snapshot[name] = audit_value(getattr(obj, name))
    return snapshot


def audit_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{"field": [old, new]} for each key whose value differs between two snapshots."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = audit_value(before.get(key)), audit_value(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


def audit_record(
    *,
    action: str,
    target: models.Model,
    changes: Mapping[str, Any] | None = None,
    message: str = "",
    actor: AbstractBaseUser | None = None,
) -> AuditEntry:
    """Append one entry to the audit log.

    actor defaults to the user of the current request, and the address always comes from it
    (audit.middleware); outside a request both are empty and the entry reads "system".
    changes maps a field name to [old, new].
    """
    if not action or slugify(action) != action or len(action) > _ACTION_MAX:
        raise ValueError(
            f"Audit action must be a slug of at most {_ACTION_MAX} characters, got {action!r}."
        )
    if not isinstance(target, models.Model) or target.pk is None:
        raise ValueError(f"Audit target must be a saved model instance, got {target!r}.")
    normalised: dict[str, list[Any]] = {}
    for field, pair in (changes or {}).items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"Audit changes map a field to [old, new]; {field!r} has {pair!r}.")
        normalised[str(field)] = [audit_value(pair[0]), audit_value(pair[1])]

    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser: whoever the request says, or the system
    context = current_audit_context()
    if actor is None and context is not None:
        actor = context.user
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        remote_addr=context.remote_addr if context is not None else None,
        action=action,
        target_content_type=ContentType.objects.get_for_model(target),
        target_object_id=str(target.pk),
        target_repr=str(target)[:_REPR_MAX],
        changes=normalised,
        message=message,
    )
