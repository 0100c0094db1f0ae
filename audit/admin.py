"""The audit log in Django admin (read-only, whoever is looking), and a base class that
records the admin's own writes to other models."""

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry
from .services import audit_record


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_display", "remote_addr", "action", "target_repr"]
    list_filter = [
        "action",
        "created_at",
        # Every user (few), not RelatedOnly's DISTINCT over the whole log (many).
        "actor",
        "target_content_type",
    ]
    search_fields = ["target_repr", "actor_name", "=target_object_id"]
    list_select_related = []
    show_full_result_count = False
    fields = [
        "created_at",
        "actor",
        "actor_name",
        "remote_addr",
        "action",
        "target_content_type",
        "target_object_id",
        "target_repr",
        "changes",
        "message",
    ]
    readonly_fields = fields

    @admin.display(description=_("who"), ordering="actor_name")
    def actor_display(self, entry: AuditEntry) -> str:
        return entry.actor_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose adds, changes and deletes go into the audit log like the app's own.

    Admin writes bypass the services, so without this a superuser's edit would be the one
    change the log never shows.
    """

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # After the object and its inlines are saved: one entry for the whole form.
        super().save_related(request, form, formsets, change)
        changes = {}
        for name in form.changed_data:
            before = _shown(form.initial.get(name)) if change else None
            after = _shown(form.cleaned_data.get(name))
            # A JSON field's form reports itself changed when its text was only rewritten.
            if before != after or not change:
                changes[name] = [before, after]
        for formset in formsets:
            removed = [str(o) for o in formset.deleted_objects]
            added = [str(o) for o in formset.new_objects]
            edited = [str(o) for o, _fields in formset.changed_objects]
            if removed or added or edited:
                changes[str(formset.model._meta.verbose_name_plural)] = [
                    removed or None,
                    (added + edited) or None,
                ]
        audit_record(
            action="admin-change" if change else "admin-add",
            target=form.instance,
            changes=changes,
            actor=request.user,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(action="admin-delete", target=obj, actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            audit_record(action="admin-delete", target=obj, actor=request.user)
        super().delete_queryset(request, queryset)


def _shown(value: Any) -> Any:
    """A form value as the log stores it: several chosen objects (a multiple choice's queryset
    or initial list) by their names, sorted, as the app's own entries show lists."""
    if isinstance(value, QuerySet) or (
        isinstance(value, list | tuple) and value and all(isinstance(v, Model) for v in value)
    ):
        return sorted(str(each) for each in value)
    return value
