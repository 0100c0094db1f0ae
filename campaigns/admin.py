from django.contrib import admin

from .models import (
    Campaign,
    CampaignEvent,
    CampaignPart,
    CampaignSchedule,
    Recipient,
    SavedSender,
    SendPlan,
    TestSend,
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "sms_mode", "status", "start_at", "created_by", "created_at")
    list_filter = ("channel", "sms_mode", "status", "created_elsewhere")
    search_fields = ("name", "text", "sender", "rcs_agent")
    filter_horizontal = ("lists",)
    raw_id_fields = ("duplicated_from", "retry_of", "schedule")
    readonly_fields = ("created_at", "updated_at", "send_requested_at", "send_requested_by")


@admin.register(SavedSender)
class SavedSenderAdmin(admin.ModelAdmin):
    list_display = ("name", "sender", "is_default")


@admin.register(SendPlan)
class SendPlanAdmin(admin.ModelAdmin):
    list_display = ("campaign", "status", "recipients_total", "created_at", "finished_at")
    list_filter = ("status",)
    raw_id_fields = ("campaign",)
    readonly_fields = ("result", "fingerprint")


@admin.register(TestSend)
class TestSendAdmin(admin.ModelAdmin):
    list_display = ("campaign", "phone", "bsg_method", "bsg_campaign_id", "bsg_status", "error")
    raw_id_fields = ("campaign", "contact")


# The engine's rows are written by the engine only: admins read them (a hand edit of a part's
# state could send it twice).
class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CampaignPart)
class CampaignPartAdmin(_ReadOnly):
    list_display = (
        "campaign",
        "number",
        "state",
        "bsg_campaign_id",
        "bsg_status",
        "sent",
        "delivered",
        "attempts",
        "submitted_at",
    )
    list_filter = ("state", "bsg_status")
    search_fields = ("bsg_campaign_id", "campaign__name")


@admin.register(Recipient)
class RecipientAdmin(_ReadOnly):
    list_display = ("campaign", "part", "phone", "reference_id", "status")
    list_filter = ("status",)
    search_fields = ("phone", "reference_id")
    show_full_result_count = False


@admin.register(CampaignEvent)
class CampaignEventAdmin(_ReadOnly):
    list_display = ("campaign", "kind", "message", "user", "created_at")
    list_filter = ("kind",)


@admin.register(CampaignSchedule)
class CampaignScheduleAdmin(admin.ModelAdmin):
    """The timing itself is the linked periodic task's crontab (django-celery-beat's admin)."""

    list_display = ("name", "template", "periodic_task", "frequency_cap_days", "last_run_at")
    raw_id_fields = ("template", "periodic_task")
    readonly_fields = ("last_run_at", "created_at", "created_by")
