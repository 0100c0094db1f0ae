from django.contrib import admin

from audit.admin import AuditedModelAdmin

from .models import AccountSettings


@admin.register(AccountSettings)
class AccountSettingsAdmin(AuditedModelAdmin):
    list_display = ["user", "language", "time_zone", "changed_at"]
    list_select_related = ["user"]
    list_filter = ["language", "time_zone"]
    search_fields = ["user__username"]
    # Every user would be one <option>: typed by id instead, with a lookup.
    raw_id_fields = ["user"]
    readonly_fields = ["changed_at"]
