"""Django admin for campaigns, for superusers.

What BSG told us (ids, statuses, figures, prices) and what the engine owns (status, parts,
events, the ledger) is read-only here: a hand edit could send a part twice or hide a paid send.
Content is editable while the campaign is a draft; every admin write is in the audit log.
The actions call the same engine and service functions as the pages.
"""

from __future__ import annotations

from celery.schedules import ParseException
from django import forms as django_forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from audit.admin import AuditedModelAdmin
from bsg.errors import BsgError
from contacts.phones import InvalidPhone, normalize_phone

from . import checks, message_templates, services
from .engine import poll, stop
from .models import (
    Campaign,
    CampaignEvent,
    CampaignPart,
    CampaignSchedule,
    DeliveryReport,
    MessageTemplate,
    Recipient,
    SavedSender,
    SendPlan,
    TestPhone,
    TestSend,
)
from .stored_text import STOPPED_PARTS_AUDIT

CAMPAIGN_APPROVAL_FIELDS = (
    "approval_requested_at",
    "approval_requested_by",
    "approval_send_at",
    "approved_at",
    "approved_by",
    "approval_snapshot",
    "sent_back_reason",
    "content_authors",
    "audience_changed_at",
)
# Set by the engine or BSG; never typed in admin.
CAMPAIGN_ENGINE_FIELDS = (
    "status",
    "created_elsewhere",
    "unit_price",
    "send_requested_at",
    "send_requested_by",
    "dispatched_at",
    "stopped_at",
    "stopped_by",
    "failure_hold_overridden",
    "duplicated_from",
    "retry_of",
    "schedule",
    "schedule_run_key",
    "created_by",
    "created_at",
    "updated_at",
    # Archived and restored from the detail page (campaigns.archive), audited there.
    "archived_at",
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CampaignPartInline(_ReadOnlyInline):
    model = CampaignPart
    fields = (
        "number",
        "state",
        "recipients",
        "bsg_campaign_id",
        "bsg_status",
        "sent",
        "delivered",
        "price",
        "currency",
        "attempts",
        "submitted_at",
        "finished_at",
        "error",
        "stop_answer",
    )
    readonly_fields = fields
    ordering = ("number",)


class CampaignEventInline(_ReadOnlyInline):
    model = CampaignEvent
    fields = ("created_at", "kind", "part", "message", "user")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CampaignEvent]:
        return super().get_queryset(request).select_related("user", "part")


@admin.register(Campaign)
class CampaignAdmin(AuditedModelAdmin):
    list_display = (
        "name",
        "channel",
        "status",
        "sender_or_agent",
        "start_at",
        "part_count",
        "sent_total",
        "delivered_total",
        "price_total",
        "created_elsewhere",
        "created_at",
    )
    list_filter = (
        "status",
        "channel",
        "sms_mode",
        "rcs_mode",
        ("created_at", admin.DateFieldListFilter),
        "created_elsewhere",
    )
    date_hierarchy = "created_at"
    search_fields = ("name", "text", "sender", "rcs_agent")
    filter_horizontal = ("lists",)
    inlines = (CampaignPartInline, CampaignEventInline)
    actions = ("stop_campaigns", "refresh_campaigns", "duplicate_campaigns")
    list_select_related = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        # One query for the changelist's figures, whatever the number of rows on the page.
        return (
            super()
            .get_queryset(request)
            .annotate(
                _parts=Count("parts"),
                _sent=Sum("parts__sent"),
                _delivered=Sum("parts__delivered"),
                _price=Sum("parts__price"),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None):
        # The approval flow's fields are written by it alone, like the engine's; the BSG
        # method follows from channel and mode (an admin reads BSG's own name for it here).
        return [*CAMPAIGN_ENGINE_FIELDS, *CAMPAIGN_APPROVAL_FIELDS, "bsg_method"]

    def has_change_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        # Asked to send or taken by the engine: what was sent stays as it was sent (view only).
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        # The composer's one write path for drafts: it refuses a campaign that left the draft
        # state meanwhile, voids an approval the edit changes, and writes the audit entry.
        lists = form.cleaned_data.get("lists") or []
        services.campaign_save(campaign=obj, list_ids=[x.pk for x in lists], user=request.user)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # campaign_save set the lists (no form.save_m2m()); the inlines are read-only, so saving
        # their formsets writes nothing, but admin's change message reads what they did.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.display(description="sender / agent")
    def sender_or_agent(self, campaign: Campaign) -> str:
        return campaign.sender if campaign.is_sms else campaign.rcs_agent

    @admin.display(description="parts", ordering="_parts")
    def part_count(self, campaign: Campaign) -> int:
        return campaign._parts

    @admin.display(description="sent", ordering="_sent")
    def sent_total(self, campaign: Campaign) -> int:
        return campaign._sent or 0

    @admin.display(description="delivered", ordering="_delivered")
    def delivered_total(self, campaign: Campaign) -> int:
        return campaign._delivered or 0

    @admin.display(description="price", ordering="_price")
    def price_total(self, campaign: Campaign):
        return campaign._price

    def _link(self, campaign: Campaign) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
            campaign,
        )

    @admin.action(description="Stop")
    def stop_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset.order_by("pk"):
            try:
                report = stop.campaign_stop(campaign_id=campaign.pk, user=request.user)
            except ValidationError as refusal:
                self.message_user(
                    request,
                    format_html("{}: {}", self._link(campaign), checks.refusal_text(refusal)),
                    messages.WARNING,
                )
                continue
            if report.cancelled_locally:
                text = "cancelled before anything was sent."
            else:
                text = STOPPED_PARTS_AUDIT.stored(
                    stopped=len(report.stopped),
                    cancelled=report.cancelled_parts,
                    refused=len(report.refused),
                )
            level = messages.WARNING if report.refused else messages.SUCCESS
            self.message_user(request, format_html("{}: {}", self._link(campaign), text), level)

    @admin.action(description="Refresh now (poll BSG)")
    def refresh_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset.order_by("pk"):
            try:
                report = poll.campaigns_poll_now(campaign_ids=[campaign.pk])
            except BsgError as error:
                self.message_user(
                    request,
                    format_html("{}: BSG could not be read ({}).", self._link(campaign), error),
                    messages.ERROR,
                )
                continue
            if not report.parts:
                text, level = "nothing at BSG is still sending; nothing to refresh.", messages.INFO
            else:
                # The admin speaks English only (as its actions' names do).
                text = (
                    f"{report.parts} part{pluralize(report.parts)} refreshed, {report.changed} "
                    f"changed, {report.finished} finished ({report.api_calls} BSG "
                    f"call{pluralize(report.api_calls)})."
                )
                level = messages.SUCCESS
            self.message_user(request, format_html("{}: {}", self._link(campaign), text), level)

    @admin.action(description="Duplicate as draft")
    def duplicate_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset.order_by("pk"):
            copy = services.campaign_duplicate(campaign_id=campaign.pk, user=request.user)
            self.message_user(
                request,
                format_html("{}: duplicated as draft {}.", self._link(campaign), self._link(copy)),
                messages.SUCCESS,
            )


@admin.register(SavedSender)
class SavedSenderAdmin(AuditedModelAdmin):
    list_display = ("name", "sender", "is_default")


@admin.register(SendPlan)
class SendPlanAdmin(admin.ModelAdmin):
    list_display = ("campaign", "status", "recipients_total", "created_at", "finished_at")
    list_filter = ("status",)
    raw_id_fields = ("campaign",)
    readonly_fields = ("result", "fingerprint")
    list_select_related = ("campaign",)


@admin.register(TestSend)
class TestSendAdmin(admin.ModelAdmin):
    list_display = ("campaign", "phone", "bsg_method", "bsg_campaign_id", "bsg_status", "error")
    raw_id_fields = ("campaign", "contact")
    readonly_fields = ("bsg_campaign_id", "bsg_status", "delivered", "error", "checked_at")
    list_select_related = ("campaign",)


# The engine's rows are written by the engine only: admins read them (a hand edit of a part's
# state could send it twice).
class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
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
        "price",
        "attempts",
        "submitted_at",
    )
    list_filter = ("state", "bsg_status")
    search_fields = ("=bsg_campaign_id", "campaign__name")
    list_select_related = ("campaign",)


@admin.register(Recipient)
class RecipientAdmin(_ReadOnly):
    list_display = ("campaign", "part", "phone", "reference_id", "status")
    list_filter = ("status",)
    search_fields = ("^phone", "=reference_id")
    raw_id_fields = ("campaign", "part")
    list_select_related = ("campaign", "part")
    show_full_result_count = False


@admin.register(CampaignEvent)
class CampaignEventAdmin(_ReadOnly):
    list_display = ("campaign", "kind", "message", "user", "created_at")
    list_filter = ("kind",)
    list_select_related = ("campaign", "user")


@admin.register(DeliveryReport)
class DeliveryReportAdmin(_ReadOnly):
    """What BSG pushed, as it came: for reading when a recipient's status is in doubt."""

    list_display = ("key", "status", "phone", "received_at", "applied_at", "matched")
    list_filter = ("status", "matched")
    search_fields = ("=reference_id", "=bsg_message_id", "^phone")
    readonly_fields = tuple(field.name for field in DeliveryReport._meta.fields)
    show_full_result_count = False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The worker prunes them once applied and old (DELIVERY_REPORTS_KEEP_DAYS).
        return False


@admin.register(CampaignSchedule)
class CampaignScheduleAdmin(AuditedModelAdmin):
    """The timing itself is the linked periodic task's crontab (django-celery-beat's admin)."""

    list_display = (
        "name",
        "template",
        "periodic_task",
        "frequency_cap_days",
        "approved_at",
        "paused",
        "last_run_at",
    )
    raw_id_fields = ("periodic_task",)
    # Approval, pausing and the template are the schedules page's (four-eyes, audited, beat
    # kept in step); an admin edit of them would walk around the approval.
    readonly_fields = (
        "template",
        "paused",
        "approved_at",
        "approved_by",
        "approved_content",
        "approval_void_reason",
        "last_run_at",
        "created_at",
        "created_by",
    )
    list_select_related = ("template", "periodic_task")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Made on the schedules page, which also makes its beat task.
        return False


class TestPhoneForm(django_forms.ModelForm):
    class Meta:
        model = TestPhone
        fields = ("phone", "label", "owner")

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone as problem:
            raise ValidationError(str(problem)) from None


@admin.register(TestPhone)
class TestPhoneAdmin(AuditedModelAdmin):
    """The phones test sends may go to (campaigns.services.campaign_test_send)."""

    list_display = ("label", "phone", "owner", "created_by", "created_at")
    search_fields = ("label", "phone")
    raw_id_fields = ("owner",)
    readonly_fields = ("created_by", "created_at")

    form = TestPhoneForm

    def save_model(self, request: HttpRequest, obj: TestPhone, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class MessageTemplateForm(django_forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("name", "channel", "text", "rcs_cards", "fallback_text")

    def clean(self) -> dict:
        # The pages' checks (campaigns.message_templates), so admin cannot save words the
        # library would refuse; card errors land on the cards' JSON.
        cleaned = super().clean()
        if cleaned.get("rcs_cards") is None:
            cleaned["rcs_cards"] = []
        candidate = MessageTemplate(
            name=cleaned.get("name") or "",
            channel=cleaned.get("channel") or Campaign.Channel.SMS,
            text=cleaned.get("text") or "",
            rcs_cards=cleaned.get("rcs_cards") or [],
            fallback_text=cleaned.get("fallback_text") or "",
        )
        problems = message_templates.message_template_check(template=candidate)
        for name, messages_ in problems.errors.items():
            for message in messages_:
                self.add_error(name if name in self.fields else None, message)
        for message in [m for m in problems.all_messages() if m.startswith("Card ")]:
            self.add_error("rcs_cards", message)
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedModelAdmin):
    """The saved message templates (the library page's, campaigns.message_templates)."""

    form = MessageTemplateForm
    list_display = ("name", "channel", "created_by", "updated_at")
    list_filter = ("channel",)
    search_fields = ("name", "text", "fallback_text")
    readonly_fields = ("created_by", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


# --- django-celery-beat's admin (the timing of recurring campaigns), two of its 500s mended ---


class _CheckedPeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def clean(self) -> dict:
        # Beat's clean reads cleaned_data["task"], absent when the task field was refused (a NUL,
        # 200 characters and more): a KeyError. The field's own error says what is wrong.
        if "task" not in self.cleaned_data and not self.cleaned_data.get("regtask"):
            return self.cleaned_data
        return super().clean()


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    form = _CheckedPeriodicTaskForm


class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
    readonly_fields = ("described",)
    fields = ("described", *beat_admin.CrontabScheduleAdmin.fields[1:])
    list_display = ("__str__", "described")

    @admin.display(description="human readable")
    def described(self, crontab: CrontabSchedule) -> str:
        # Beat's human_readable raises on a value its own validators then refuse ("-1"), and
        # the form that shows that error renders it.
        try:
            return crontab.human_readable
        # celery's parser raises its own ParseException beside ValueError.
        except (ValueError, KeyError, TypeError, ParseException):
            return "—"


for _model, _model_admin in (
    (PeriodicTask, PeriodicTaskAdmin),
    (CrontabSchedule, CrontabScheduleAdmin),
):
    admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
