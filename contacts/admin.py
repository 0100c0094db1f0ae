"""Django admin for the contacts models; big tables use raw id widgets and no full counts.

Memberships have no page of their own (a composite primary key, which Django's admin cannot
register): each contact's form shows and sets its lists, and each list's page in the app shows
its members.

Phone searches read the query the way the contact pages do (selectors.phone_search_prefix), so
"+380 50 123", "050 123" and "380501 23" all find +380501234567; every admin write to lists,
fields, contacts and do-not-contact goes into the audit log.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedModelAdmin

from .models import Contact, ContactField, ContactImport, ContactList, DoNotContact
from .selectors import name_contains, phone_search_prefix
from .services import contact_lists_set

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


class ContactAdminForm(forms.ModelForm):
    """The contact with its lists. Memberships are keyed by their (list, contact) pair, which
    Django's admin cannot edit as inline rows (ListMembership): the lists are one choice here,
    saved as the contact's own form saves them (services.contact_lists_set)."""

    lists = forms.ModelMultipleChoiceField(
        queryset=ContactList.objects.order_by("name"),
        required=False,
        # Checkboxes: a handful of lists, readable and usable on a phone without scripts.
        widget=forms.CheckboxSelectMultiple,
        label=_("Lists"),
    )

    class Meta:
        model = Contact
        fields = ["phone", "name", "fields"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["lists"] = list(self.instance.lists.order_by("name"))


@admin.register(Contact)
class ContactAdmin(PhoneSearchMixin, AuditedModelAdmin):
    list_display = ["phone", "name", "bsg_contact_id", "created_at"]
    # Phone is a prefix search (served by its varchar_pattern_ops index), name a substring one.
    search_fields = ["^phone", "name"]
    list_filter = ["created_at"]
    readonly_fields = ["bsg_contact_id", "search_pending"]
    form = ContactAdminForm
    # A million rows: counting them for every changelist page would be the slowest part.
    show_full_result_count = False

    def save_related(
        self, request: HttpRequest, form: ContactAdminForm, formsets: list, change: bool
    ) -> None:
        # Before the audit entry (AuditedModelAdmin) is written, with the lists in it.
        contact_lists_set(
            contact=form.instance, list_ids=[each.pk for each in form.cleaned_data["lists"]]
        )
        super().save_related(request, form, formsets, change)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term and not _PHONE_LIKE.fullmatch(term):
            # As the contacts page searches names: served by the search indexes, and finding
            # the contacts an import left waiting for them (selectors.name_contains).
            return queryset.filter(name_contains(term)), False
        return super().get_search_results(request, queryset, search_term)


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
