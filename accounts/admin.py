from django.contrib import admin

from audit.admin import AuditedModelAdmin

from .models import LanguageChoice, TimeZoneChoice


@admin.register(LanguageChoice)
class LanguageChoiceAdmin(AuditedModelAdmin):
    list_display = ["user", "language", "changed_at"]
    list_select_related = ["user"]
    list_filter = ["language"]
    search_fields = ["user__username"]
    # Every user would be one <option>: typed by id instead, with a lookup.
    raw_id_fields = ["user"]
    readonly_fields = ["changed_at"]


@admin.register(TimeZoneChoice)
class TimeZoneChoiceAdmin(AuditedModelAdmin):
    list_display = ["user", "time_zone", "changed_at"]
    list_select_related = ["user"]
    list_filter = ["time_zone"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["changed_at"]
