from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.models import Contact
from contacts.phones import InvalidPhone, normalize_phone

from . import engine, forms, selectors, sendplan, services
from .models import Campaign, CampaignPart, CampaignSchedule, TestSend


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/home.html")


@require_GET
def bsg_account_panel(request: HttpRequest) -> HttpResponse:
    """The BSG balance, loaded after the page so a slow BSG never delays the page itself."""
    return render(
        request,
        "campaigns/home.html#bsg-account",
        {"account": selectors.bsg_account_state()},
    )


# --- the composer ------------------------------------------------------------------------------

COMPOSE_TEMPLATES = {
    Campaign.Channel.SMS: "campaigns/compose_sms.html",
    Campaign.Channel.RCS: "campaigns/compose_rcs.html",
}


@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/list.html", {"campaigns": selectors.campaign_list()})


@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest, channel: str) -> HttpResponse:
    if channel not in Campaign.Channel.values:
        raise Http404("No such channel")
    return _compose(request, Campaign(channel=channel))


@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if not campaign.is_editable:
        messages.info(request, "This campaign is waiting to send; duplicate it to change it.")
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _compose(request, campaign)


def _compose(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """One page per channel: bind, save the draft (always, so nothing typed is lost), then do
    what the button asked: plan, send now or schedule."""
    form, cards = _bind(request, campaign)
    if request.method == "POST" and form.is_valid() and (cards is None or cards.is_valid()):
        action = request.POST.get("action", "save")
        draft, list_ids = _applied(form, cards)
        try:
            saved = services.campaign_save(campaign=draft, list_ids=list_ids, user=request.user)
        except services.CampaignNotEditable as refusal:
            messages.error(request, str(refusal))
            return redirect("campaigns:detail", campaign_id=campaign.pk)
        if action == "plan":
            services.send_plan_request(campaign_id=saved.pk, user=request.user)
            return redirect(reverse("campaigns:edit", args=[saved.pk]) + "#send-plan")
        if action in ("send", "schedule"):
            when = form.cleaned_data.get("start_at_moment") if action == "schedule" else None
            if action == "schedule" and when is None:
                form.add_error("start_at", "Choose the date and time to send it.")
            else:
                try:
                    services.campaign_request_send(
                        campaign_id=saved.pk, user=request.user, when=when
                    )
                except services.CampaignInvalid as invalid:
                    form.show_problems(invalid.problems)
                    if cards is not None:
                        cards.show_problems(invalid.problems)
                except services.CampaignNotEditable as refusal:
                    messages.error(request, str(refusal))
                else:
                    messages.success(
                        request,
                        "Scheduled." if action == "schedule" else "Sending has been requested.",
                    )
                    return redirect("campaigns:detail", campaign_id=saved.pk)
            campaign = saved
            return _render_compose(request, campaign, form, cards, status=422)
        messages.success(request, "Draft saved.")
        return redirect("campaigns:edit", campaign_id=saved.pk)
    status = 422 if request.method == "POST" else 200
    return _render_compose(request, campaign, form, cards, status=status)


def _bind(request: HttpRequest, campaign: Campaign):
    data = request.POST if request.method == "POST" else None
    if campaign.is_rcs:
        form = forms.RcsCampaignForm(data, instance=campaign)
        initial = [forms.card_initial(card) for card in campaign.rcs_cards or []]
        cards = forms.CardFormSet(data, initial=initial or None, prefix="card")
        return form, cards
    initial = None
    if not campaign.pk and not campaign.sender:
        default = next((s for s in selectors.saved_senders() if s.is_default), None)
        initial = {"sender": default.sender} if default else None
    return forms.SmsCampaignForm(data, instance=campaign, initial=initial), None


def _applied(form, cards):
    if cards is not None:
        return form.apply_with_cards(cards)
    return form.apply()


def _render_compose(request, campaign, form, cards, status=200) -> HttpResponse:
    fresh, plan = (False, None)
    if campaign.pk:
        fresh, plan = services.campaign_plan_is_fresh(campaign=campaign)
    context = {
        "campaign": campaign,
        "form": form,
        "cards": cards,
        "plan": plan,
        "plan_fresh": fresh,
        "senders": selectors.saved_senders(),
        "test_form": forms.TestSendForm(),
        "test_sends": selectors.test_sends_of(campaign_id=campaign.pk) if campaign.pk else [],
    }
    return render(request, COMPOSE_TEMPLATES[campaign.channel], context, status=status)


@require_POST
def campaign_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx, debounced): the form as typed, never saved."""
    channel = request.POST.get("channel", Campaign.Channel.SMS)
    campaign_id = request.POST.get("campaign_id") or None
    instance = Campaign(channel=channel if channel in Campaign.Channel.values else "sms")
    if campaign_id and str(campaign_id).isdigit():
        instance = Campaign.objects.filter(pk=campaign_id).first() or instance
    if instance.is_rcs:
        form = forms.RcsCampaignForm(request.POST, instance=instance)
        cards = forms.CardFormSet(request.POST, prefix="card")
        form.is_valid()
        cards.is_valid()
        campaign, list_ids = form.apply_with_cards(cards) if form.is_valid() else (instance, [])
        text = campaign.fallback_text if campaign.fallback_enabled else ""
        template = "campaigns/compose_rcs.html#preview"
    else:
        form = forms.SmsCampaignForm(request.POST, instance=instance)
        campaign, list_ids = form.apply() if form.is_valid() else (instance, [])
        text = campaign.text
        template = "campaigns/compose_sms.html#preview"
    preview = sendplan.campaign_preview(campaign=campaign, list_ids=list_ids, text=text)
    return render(request, template, {"campaign": campaign, "preview": preview})


@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.prefetch_related("lists"), pk=campaign_id)
    fresh, plan = services.campaign_plan_is_fresh(campaign=campaign)
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "plan": plan,
            "plan_fresh": fresh,
            "test_form": forms.TestSendForm(),
            "test_sends": selectors.test_sends_of(campaign_id=campaign.pk),
            **_engine_context(campaign),
        },
    )


# --- the engine's panel ------------------------------------------------------------------------


def _engine_context(campaign: Campaign) -> dict:
    parts = list(CampaignPart.objects.filter(campaign=campaign))
    return {
        "parts": parts,
        "totals": engine.campaign_totals(campaign_id=campaign.pk),
        "attention": [p for p in parts if p.state in ("needs_attention", "held")],
        "held": any(p.state == CampaignPart.State.HELD for p in parts),
        "events": list(campaign.events.select_related("user").order_by("-created_at", "-id")[:20]),
        # The panel polls only while something can still change.
        "live": campaign.status in (Campaign.Status.READY, Campaign.Status.SENDING),
    }


@require_GET
def campaign_parts(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The parts panel, polled while something can still change."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return render(
        request,
        "campaigns/detail.html#engine",
        {"campaign": campaign, **_engine_context(campaign)},
    )


@require_POST
def campaign_stop(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        report = engine.campaign_stop(campaign_id=campaign_id, user=request.user)
    except engine.EngineRefused as refusal:
        messages.error(request, str(refusal))
    else:
        if report.cancelled_locally:
            messages.success(request, "Cancelled: it had not been sent, and BSG was not called.")
        else:
            text = f"Stop sent: {len(report.stopped)} part(s) stopped at BSG"
            if report.cancelled_parts:
                text += f", {report.cancelled_parts} not yet submitted cancelled"
            for answer in report.refused.values():
                text += f"; {answer}"
            messages.success(request, text + ".")
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_POST
def part_resume(request: HttpRequest, part_id: int) -> HttpResponse:
    part = get_object_or_404(CampaignPart, pk=part_id)
    if engine.part_resume(part_id=part_id, user=request.user):
        messages.success(request, f"Part {part.number} resumed.")
    else:
        messages.error(request, f"Part {part.number} is not held or waiting for attention.")
    return redirect("campaigns:detail", campaign_id=part.campaign_id)


@require_GET
def campaign_ledger_csv(request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    response = StreamingHttpResponse(
        engine.ledger_csv_rows(campaign_id=campaign_id), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign_id}-ledger.csv"'
    return response


@require_POST
def campaign_retry_failed(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        retry = engine.campaign_retry_failed(campaign_id=campaign_id, user=request.user)
    except engine.EngineRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("campaigns:detail", campaign_id=campaign_id)
    messages.success(request, "A new campaign to the failed recipients is on its way.")
    return redirect("campaigns:detail", campaign_id=retry.pk)


@require_http_methods(["GET", "POST"])
def campaign_plan(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """GET: the plan panel (polled while the plan runs). POST: compute a new plan."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if request.method == "POST":
        services.send_plan_request(campaign_id=campaign.pk, user=request.user)
        if not request.htmx:
            return redirect(reverse("campaigns:edit", args=[campaign.pk]) + "#send-plan")
    fresh, plan = services.campaign_plan_is_fresh(campaign=campaign)
    return render(
        request,
        "campaigns/detail.html#send-plan",
        {"campaign": campaign, "plan": plan, "plan_fresh": fresh},
    )


@require_POST
def campaign_duplicate(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    copy = services.campaign_duplicate(campaign_id=campaign_id, user=request.user)
    messages.success(request, f"“{copy.name}” is a new draft.")
    return redirect("campaigns:edit", campaign_id=copy.pk)


@require_POST
def campaign_unschedule(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        services.campaign_unschedule(campaign_id=campaign_id)
    except services.CampaignNotEditable as refusal:
        messages.error(request, str(refusal))
        return redirect("campaigns:detail", campaign_id=campaign_id)
    messages.success(request, "Back to draft: nothing was sent.")
    return redirect("campaigns:edit", campaign_id=campaign_id)


@require_POST
def campaign_test_send(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = forms.TestSendForm(request.POST)
    error = None
    if form.is_valid():
        contact_id = form.cleaned_data.get("contact_id")
        contact_phone = (form.cleaned_data.get("contact_phone") or "").strip()
        try:
            if contact_phone and not contact_id:
                contact_id = _contact_id_by_phone(phone=contact_phone)
            services.campaign_test_send(
                campaign_id=campaign.pk,
                phone=form.cleaned_data["phone"],
                contact_id=contact_id,
                user=request.user,
            )
        except InvalidPhone as invalid:
            error = f"That number cannot be used: {invalid}."
        except LookupError as missing:
            error = str(missing)
        except services.CampaignInvalid as invalid:
            error = "Fix the campaign first: " + " ".join(invalid.problems.all_messages())
    else:
        error = "Give a phone number."
    context = {
        "campaign": campaign,
        "test_form": form,
        "test_error": error,
        "test_sends": selectors.test_sends_of(campaign_id=campaign.pk),
    }
    if request.htmx:
        return render(request, "campaigns/detail.html#test-send", context)
    if error:
        messages.error(request, error)
    return redirect("campaigns:detail", campaign_id=campaign.pk)


def _contact_id_by_phone(*, phone: str) -> int:
    number = normalize_phone(phone)
    contact = Contact.objects.filter(phone=number).values_list("id", flat=True).first()
    if contact is None:
        raise LookupError(f"No contact has the number +{number}.")
    return contact


@require_GET
def test_send_status(request: HttpRequest, test_send_id: int) -> HttpResponse:
    """One test send's row, polled by htmx until BSG reports a final status."""
    test = get_object_or_404(TestSend, pk=test_send_id)
    test = services.test_send_refresh(test_send_id=test.pk)
    return render(request, "campaigns/detail.html#test-send-row", {"test": test})


@require_POST
def campaign_resume(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Resume a campaign the guard rails held (failure rate, balance)."""
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        resumed = engine.campaign_resume(campaign_id=campaign_id, user=request.user)
    except engine.EngineRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Resumed: {resumed} held part(s) will be sent.")
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_POST
def campaign_dnc_failures(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Add this campaign's repeatedly failing recipients to do-not-contact."""
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        added = engine.do_not_contact_add_repeated_failures(
            campaign_id=campaign_id, user=request.user
        )
    except engine.EngineRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{added} recipient(s) added to do-not-contact.")
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_http_methods(["GET", "POST"])
def schedule_index(request: HttpRequest) -> HttpResponse:
    """Recurring campaigns with their next run; a small form adds one."""
    error = ""
    if request.method == "POST":
        cap = request.POST.get("frequency_cap_days", "").strip()
        try:
            if cap and not cap.isdigit():
                raise engine.ScheduleInvalid("The frequency cap is a whole number of days.")
            template_id = request.POST.get("template", "")
            engine.schedule_create(
                name=request.POST.get("name", ""),
                template_id=int(template_id) if template_id.isdigit() else 0,
                minute=request.POST.get("minute", "0"),
                hour=request.POST.get("hour", "9"),
                day_of_week=request.POST.get("day_of_week", "*"),
                day_of_month=request.POST.get("day_of_month", "*"),
                month_of_year=request.POST.get("month_of_year", "*"),
                time_zone=request.POST.get("time_zone", ""),
                frequency_cap_days=int(cap) if cap else None,
                user=request.user,
            )
        except engine.ScheduleInvalid as refusal:
            error = str(refusal)
        else:
            messages.success(request, "Recurring campaign saved.")
            return redirect("campaigns:schedules")
    rows = [
        (schedule, engine.schedule_next_run(schedule=schedule))
        for schedule in engine.campaign_schedules()
    ]
    return render(
        request,
        "campaigns/schedules.html",
        {
            "rows": rows,
            "templates": engine.schedule_template_choices(),
            "error": error,
            "form": request.POST if error else {},
        },
        status=422 if error else 200,
    )


@require_POST
def schedule_pause(request: HttpRequest, schedule_id: int) -> HttpResponse:
    paused = request.POST.get("paused") == "1"
    try:
        engine.schedule_set_paused(schedule_id=schedule_id, paused=paused)
    except CampaignSchedule.DoesNotExist:
        raise Http404("No such schedule") from None
    except engine.ScheduleInvalid as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Paused." if paused else "Resumed.")
    return redirect("campaigns:schedules")
