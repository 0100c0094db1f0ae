"""Recurring campaigns: the list with its form, approval, and pause or resume."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import checks, forms, selectors
from ..engine import schedules
from ..models import CampaignSchedule


@require_http_methods(["GET", "POST"])
def schedule_index(request: HttpRequest) -> HttpResponse:
    """Recurring campaigns with their next run and approval; a small form adds one."""
    form = forms.ScheduleForm(request.POST or None, templates=selectors.schedule_template_choices())
    if request.method == "POST" and form.is_valid():
        try:
            schedules.schedule_create(**form.schedule(), user=request.user)
        except ValidationError as refusal:
            form.add_error(None, checks.refusal_text(refusal))
        else:
            messages.success(
                request,
                _(
                    "Recurring campaign saved. It runs once someone other than you and the "
                    "campaign's authors approves it."
                ),
            )
            return redirect("campaigns:schedules")
    rows = [
        {
            "schedule": schedule,
            "next_run": schedules.schedule_next_run(schedule=schedule),
            # What an approver approves, and whether this user may (four-eyes).
            "approval": selectors.campaign_approval_snapshot(campaign=schedule.template),
            "seen": schedules.schedule_approval_fingerprint(schedule=schedule)
            if not schedule.is_approved
            else "",
            "is_own": schedules.schedule_is_own(schedule=schedule, user=request.user),
            "when": schedules.schedule_when_text(schedule=schedule),
        }
        for schedule in selectors.campaign_schedules()
    ]
    return render(
        request,
        "campaigns/schedules.html",
        {"rows": rows, "form": form},
    )


@require_POST
def schedule_approve(request: HttpRequest, schedule_id: int) -> HttpResponse:
    form = forms.ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Press Approve on the schedule you read."))
        return redirect("campaigns:schedules")
    try:
        # Always compared, even when missing: see views.approval.campaign_approve.
        schedules.schedule_approve(
            schedule_id=schedule_id, user=request.user, seen=form.cleaned_data["seen"]
        )
    except CampaignSchedule.DoesNotExist:
        raise Http404("No such schedule") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(request, _("Approved: each run sends the campaign as you read it."))
    return redirect("campaigns:schedules")


@require_POST
def schedule_pause(request: HttpRequest, schedule_id: int) -> HttpResponse:
    form = forms.SchedulePauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Press Pause or Resume on the schedule."))
        return redirect("campaigns:schedules")
    paused = form.cleaned_data["paused"]
    try:
        schedules.schedule_set_paused(schedule_id=schedule_id, paused=paused, user=request.user)
    except CampaignSchedule.DoesNotExist:
        raise Http404("No such schedule") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(request, _("Paused.") if paused else _("Resumed."))
    return redirect("campaigns:schedules")
