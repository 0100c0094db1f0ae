from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.home, name="home"),
    path("bsg/account/", views.bsg_account_panel, name="bsg-account"),
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/new/<str:channel>/", views.campaign_new, name="new"),
    path("campaigns/preview/", views.campaign_preview, name="preview"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="edit"),
    path("campaigns/<int:campaign_id>/plan/", views.campaign_plan, name="plan"),
    path("campaigns/<int:campaign_id>/duplicate/", views.campaign_duplicate, name="duplicate"),
    path("campaigns/<int:campaign_id>/unschedule/", views.campaign_unschedule, name="unschedule"),
    path("campaigns/<int:campaign_id>/test-send/", views.campaign_test_send, name="test-send"),
    path("campaigns/<int:campaign_id>/stop/", views.campaign_stop, name="stop"),
    path(
        "campaigns/<int:campaign_id>/approval/request/",
        views.campaign_approval_request,
        name="approval-request",
    ),
    path("campaigns/<int:campaign_id>/approval/approve/", views.campaign_approve, name="approve"),
    path("campaigns/<int:campaign_id>/approval/reject/", views.campaign_reject, name="reject"),
    path("campaigns/<int:campaign_id>/parts/", views.campaign_parts, name="parts"),
    path("sending-now/", views.home_sending, name="home-sending"),
    path("campaigns/live/", views.campaign_list_live, name="list-live"),
    path("campaigns/<int:campaign_id>/chart/", views.campaign_chart, name="chart"),
    path(
        "campaigns/<int:campaign_id>/stop/confirm/",
        views.campaign_stop_confirm,
        name="stop-confirm",
    ),
    path("campaigns/<int:campaign_id>/recipients/", views.campaign_recipients, name="recipients"),
    path("campaigns/parts/<int:part_id>/resume/", views.part_resume, name="part-resume"),
    path("campaigns/<int:campaign_id>/ledger.csv", views.campaign_ledger_csv, name="ledger-csv"),
    path(
        "campaigns/<int:campaign_id>/retry-failed/",
        views.campaign_retry_failed,
        name="retry-failed",
    ),
    path("campaigns/<int:campaign_id>/resume/", views.campaign_resume, name="resume"),
    path(
        "campaigns/<int:campaign_id>/do-not-contact-failures/",
        views.campaign_dnc_failures,
        name="dnc-failures",
    ),
    path("campaigns/schedules/", views.schedule_index, name="schedules"),
    path(
        "campaigns/schedules/<int:schedule_id>/pause/",
        views.schedule_pause,
        name="schedule-pause",
    ),
    path(
        "campaigns/test-sends/<int:test_send_id>/", views.test_send_status, name="test-send-status"
    ),
]
