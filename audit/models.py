"""The audit log: who did what to which object, from where, and what changed.

Append-only. The model refuses updates and deletes, and on PostgreSQL triggers refuse UPDATE,
DELETE (migration 0001) and TRUNCATE (0002, also when another table's TRUNCATE … CASCADE reaches
the log) to raw SQL as well, so neither a bug nor a hand-run query can rewrite history. The
one write the triggers let through is the database clearing `actor` when that user is deleted:
`actor_name` keeps who it was.

What lets a TRUNCATE through, and why the app cannot: PostgreSQL skips ordinary triggers under
`session_replication_role = replica`, which only a superuser may set (pg_restore uses it). The
test suite's flush between transactional tests sets it for that one statement (SET LOCAL,
tests/conftest.py); nothing in the app does, and the app's database role in production must not
be a superuser. Then no statement the app's connection can send empties or rewrites the log;
only DDL that drops the trigger would, and the app runs DDL only in migrations, which are
reviewed. The other choice, a custom setting the trigger checks, guards against nothing: any
session may set one.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class AuditLogIsAppendOnly(Exception):
    """An attempt to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit entries cannot be updated.")

    def delete(self) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who it was when the entry was written, kept when the user is renamed or deleted; empty
    # means the system (a Celery task, a management command).
    actor_name = models.CharField(max_length=150, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    action = models.SlugField(max_length=64, db_index=False)
    # PROTECT: removing a model's content type must not silently orphan its history.
    target_content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    # Text so that any primary key fits; the target may be deleted later, target_repr remains.
    target_object_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    # {"field": [old, new]}
    changes = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            # "The entries of one object, newest first" (audit_entries_for).
            models.Index(
                fields=["target_content_type", "target_object_id", "-created_at", "-id"],
                name="audit_entry_target_newest",
            ),
            # The newest entries about one kind of object (the do-not-contact page).
            models.Index(
                fields=["target_content_type", "-created_at", "-id"],
                name="audit_entry_type_newest",
            ),
            models.Index(fields=["action", "-created_at"], name="audit_entry_action_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_display} {self.action} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit entries cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")

    @property
    def actor_display(self) -> str:
        return self.actor_name or gettext("system")
