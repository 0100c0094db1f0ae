"""Django admin for every contacts model; big tables use raw id widgets and no full counts.

Phone searches read the query the way the contact pages do (selectors.phone_search_prefix), so
"+380 50 123", "050 123" and "380501 23" all find +380501234567; every admin write to lists,
fields, contacts and do-not-contact goes into the audit log.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin

from .models import Contact, ContactField, ContactImport, ContactList, DoNotContact, ListMembership
from .selectors import name_contains, phone_search_prefix

# A search that is only a phone number as people type one: digits with +, spaces, dots,
# dashes and brackets. Anything else (a name, a reason) goes to the ordinary search.
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-]*\d[\d\s().\-]*")


class PhoneSearchMixin:
    """Search by phone prefix in stored digits, however the number is typed."""

    phone_lookup = "phone"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if _PHONE_LIKE.fullmatch(term):
            prefix = phone_search_prefix(term)
            if prefix:
                # Served by the phone columns' varchar_pattern_ops indexes.
                return queryset.filter(**{f"{self.phone_lookup}__startswith": prefix}), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(ContactField)
class ContactFieldAdmin(AuditedModelAdmin):
    list_display = ["key", "label", "bsg_field_id", "created_at"]
    search_fields = ["key", "label"]


@admin.register(ContactList)
class ContactListAdmin(AuditedModelAdmin):
    list_display = ["name", "bsg_group_id", "push_status", "archived_at", "created_at"]
    list_filter = ["push_status", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description"]
    # What BSG and the push task wrote.
    readonly_fields = [
        "bsg_group_id",
        "push_status",
        "push_total",
        "push_done",
        "push_error",
        "push_started_at",
        "push_heartbeat_at",
        "push_finished_at",
    ]


class ListMembershipInline(admin.TabularInline):
    model = ListMembership
    fk_name = "contact"
    raw_id_fields = ["contact_list"]
    readonly_fields = ["added_at", "pushed_to_bsg_at"]
    extra = 0


@admin.register(Contact)
class ContactAdmin(PhoneSearchMixin, AuditedModelAdmin):
    list_display = ["phone", "name", "bsg_contact_id", "created_at"]
    # Phone is a prefix search (served by its varchar_pattern_ops index), name a substring one.
    search_fields = ["^phone", "name"]
    list_filter = ["created_at"]
    readonly_fields = ["bsg_contact_id", "search_pending"]
    inlines = [ListMembershipInline]
    # A million rows: counting them for every changelist page would be the slowest part.
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term and not _PHONE_LIKE.fullmatch(term):
            # As the contacts page searches names: served by the search indexes, and finding
            # the contacts an import left waiting for them (selectors.name_contains).
            return queryset.filter(name_contains(term)), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(ListMembership)
class ListMembershipAdmin(PhoneSearchMixin, admin.ModelAdmin):
    phone_lookup = "contact__phone"
    list_display = ["contact", "contact_list", "added_at", "pushed_to_bsg_at"]
    list_filter = ["contact_list"]
    raw_id_fields = ["contact", "contact_list"]
    search_fields = ["^contact__phone"]
    list_select_related = ["contact", "contact_list"]
    show_full_result_count = False


@admin.register(DoNotContact)
class DoNotContactAdmin(PhoneSearchMixin, AuditedModelAdmin):
    list_display = ["phone", "source", "reason", "created_by", "created_at"]
    list_filter = ["source", "created_at"]
    search_fields = ["^phone", "reason"]
    raw_id_fields = ["created_by"]
    list_select_related = ["created_by"]
    show_full_result_count = False


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    """Imports are written by the import task only; admin shows them and may delete them."""

    list_display = ["original_name", "target", "contact_list", "status", "created_at"]
    list_filter = ["status", "target"]
    search_fields = ["original_name"]
    raw_id_fields = ["contact_list", "created_by"]
    list_select_related = ["contact_list"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ContactImport | None = None) -> bool:
        return False
