from django.contrib import admin

from .models import Campaign, SavedSender, SendPlan, TestSend


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "sms_mode", "status", "start_at", "created_by", "created_at")
    list_filter = ("channel", "sms_mode", "status")
    search_fields = ("name", "text", "sender", "rcs_agent")
    filter_horizontal = ("lists",)
    raw_id_fields = ("duplicated_from",)
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
