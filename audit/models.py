"""The audit log: who did what to which object, from where, and what changed.

Append-only. The model refuses updates and deletes, and on PostgreSQL a trigger (migration 0001)
refuses them to raw SQL as well, so neither a bug nor a hand-run query can rewrite history. The
one write the trigger lets through is the database clearing `actor` when that user is deleted:
`actor_name` keeps who it was.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


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
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
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
        return self.actor_name or "system"
