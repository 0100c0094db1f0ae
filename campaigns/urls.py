from django.urls import path

from .views import (
    approval,
    archive,
    callbacks,
    compose,
    dashboard,
    message_templates,
    schedules,
    sending,
)

app_name = "campaigns"

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("bsg/account/", dashboard.bsg_account_panel, name="bsg-account"),
    # BSG pushes delivery statuses here; the token is the secret (engine.delivery_reports).
    path("bsg/status/<str:token>/", callbacks.bsg_status_callback, name="bsg-status-callback"),
    path("campaigns/", dashboard.campaign_list, name="list"),
    path("campaigns/new/<str:channel>/", compose.campaign_new, name="new"),
    path("campaigns/preview/", compose.campaign_preview, name="preview"),
    path(
        "campaigns/preview/recipient/",
        compose.campaign_preview_recipient,
        name="preview-recipient",
    ),
    path("campaigns/<int:campaign_id>/", dashboard.campaign_detail, name="detail"),
    path("campaigns/<int:campaign_id>/edit/", compose.campaign_edit, name="edit"),
    path(
        "campaigns/<int:campaign_id>/recipient/",
        compose.campaign_recipient,
        name="recipient",
    ),
    path("campaigns/<int:campaign_id>/plan/", compose.campaign_plan, name="plan"),
    path("campaigns/<int:campaign_id>/duplicate/", compose.campaign_duplicate, name="duplicate"),
    path("campaigns/<int:campaign_id>/unschedule/", compose.campaign_unschedule, name="unschedule"),
    path("campaigns/<int:campaign_id>/test-send/", compose.campaign_test_send, name="test-send"),
    path("campaigns/<int:campaign_id>/stop/", sending.campaign_stop, name="stop"),
    path(
        "campaigns/<int:campaign_id>/approval/request/",
        approval.campaign_approval_request,
        name="approval-request",
    ),
    path(
        "campaigns/<int:campaign_id>/approval/approve/", approval.campaign_approve, name="approve"
    ),
    path("campaigns/<int:campaign_id>/approval/reject/", approval.campaign_reject, name="reject"),
    path("campaigns/<int:campaign_id>/parts/", dashboard.campaign_parts, name="parts"),
    path("sending-now/", dashboard.home_sending, name="home-sending"),
    path("campaigns/live/", dashboard.campaign_list_live, name="list-live"),
    path("campaigns/<int:campaign_id>/chart/", dashboard.campaign_chart, name="chart"),
    path(
        "campaigns/<int:campaign_id>/stop/confirm/",
        dashboard.campaign_stop_confirm,
        name="stop-confirm",
    ),
    path(
        "campaigns/<int:campaign_id>/recipients/", dashboard.campaign_recipients, name="recipients"
    ),
    path("campaigns/parts/<int:part_id>/resume/", sending.part_resume, name="part-resume"),
    path("campaigns/<int:campaign_id>/ledger.csv", sending.campaign_ledger_csv, name="ledger-csv"),
    path(
        "campaigns/<int:campaign_id>/retry-failed/",
        sending.campaign_retry_failed,
        name="retry-failed",
    ),
    path("campaigns/<int:campaign_id>/resume/", sending.campaign_resume, name="resume"),
    path(
        "campaigns/<int:campaign_id>/do-not-contact-failures/",
        sending.campaign_dnc_failures,
        name="dnc-failures",
    ),
    path("campaigns/schedules/", schedules.schedule_index, name="schedules"),
    path(
        "campaigns/schedules/<int:schedule_id>/approve/",
        schedules.schedule_approve,
        name="schedule-approve",
    ),
    path(
        "campaigns/schedules/<int:schedule_id>/pause/",
        schedules.schedule_pause,
        name="schedule-pause",
    ),
    path("campaigns/<int:campaign_id>/archive/", archive.campaign_archive, name="archive"),
    path("campaigns/<int:campaign_id>/restore/", archive.campaign_restore, name="restore"),
    path("campaigns/<int:campaign_id>/delete/", archive.campaign_delete, name="delete"),
    path("campaigns/templates/", message_templates.template_index, name="templates"),
    path("campaigns/templates/new/", message_templates.template_new, name="template-new"),
    path(
        "campaigns/templates/<int:message_template_id>/edit/",
        message_templates.template_edit,
        name="template-edit",
    ),
    path(
        "campaigns/templates/<int:message_template_id>/delete/",
        message_templates.template_delete,
        name="template-delete",
    ),
    path(
        "campaigns/templates/<int:message_template_id>/use/",
        message_templates.template_use,
        name="template-use",
    ),
    path(
        "campaigns/test-sends/<int:test_send_id>/",
        compose.test_send_status,
        name="test-send-status",
    ),
]
