"""Django admin for every contacts model; big tables use raw id widgets and no full counts."""

from django.contrib import admin

from .models import Contact, ContactField, ContactImport, ContactList, DoNotContact, ListMembership


@admin.register(ContactField)
class ContactFieldAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "bsg_field_id", "created_at"]
    search_fields = ["key", "label"]


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ["name", "bsg_group_id", "push_status", "archived_at", "created_at"]
    list_filter = ["push_status", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description"]
    readonly_fields = [
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
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone", "name", "bsg_contact_id", "created_at"]
    # Phone is a prefix search (served by its varchar_pattern_ops index), name a substring one.
    search_fields = ["^phone", "name"]
    list_filter = ["created_at"]
    inlines = [ListMembershipInline]
    # A million rows: counting them for every changelist page would be the slowest part.
    show_full_result_count = False


@admin.register(ListMembership)
class ListMembershipAdmin(admin.ModelAdmin):
    list_display = ["contact", "contact_list", "added_at", "pushed_to_bsg_at"]
    list_filter = ["contact_list"]
    raw_id_fields = ["contact", "contact_list"]
    search_fields = ["^contact__phone"]
    list_select_related = ["contact", "contact_list"]
    show_full_result_count = False


@admin.register(DoNotContact)
class DoNotContactAdmin(admin.ModelAdmin):
    list_display = ["phone", "source", "reason", "created_by", "created_at"]
    list_filter = ["source"]
    search_fields = ["^phone", "reason"]
    raw_id_fields = ["created_by"]
    show_full_result_count = False


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    """Imports are written by the import task only; admin shows them and may delete them."""

    list_display = ["original_name", "target", "contact_list", "status", "created_at"]
    list_filter = ["status", "target"]
    search_fields = ["original_name"]
    raw_id_fields = ["contact_list", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
