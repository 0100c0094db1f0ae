"""Recurring campaigns: the list with its form, and pause or resume."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .. import checks, forms, selectors
from ..engine.schedules import schedule_create, schedule_next_run, schedule_set_paused
from ..models import CampaignSchedule


@require_http_methods(["GET", "POST"])
def schedule_index(request: HttpRequest) -> HttpResponse:
    """Recurring campaigns with their next run; a small form adds one."""
    form = forms.ScheduleForm(request.POST or None, templates=selectors.schedule_template_choices())
    if request.method == "POST" and form.is_valid():
        try:
            schedule_create(**form.schedule(), user=request.user)
        except ValidationError as refusal:
            form.add_error(None, checks.refusal_text(refusal))
        else:
            messages.success(request, "Recurring campaign saved.")
            return redirect("campaigns:schedules")
    rows = [
        (schedule, schedule_next_run(schedule=schedule))
        for schedule in selectors.campaign_schedules()
    ]
    return render(
        request,
        "campaigns/schedules.html",
        {"rows": rows, "form": form},
        status=422 if form.errors else 200,
    )


@require_POST
def schedule_pause(request: HttpRequest, schedule_id: int) -> HttpResponse:
    form = forms.SchedulePauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Press Pause or Resume on the schedule.")
        return redirect("campaigns:schedules")
    paused = form.cleaned_data["paused"]
    try:
        schedule_set_paused(schedule_id=schedule_id, paused=paused)
    except CampaignSchedule.DoesNotExist:
        raise Http404("No such schedule") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(request, "Paused." if paused else "Resumed.")
    return redirect("campaigns:schedules")
