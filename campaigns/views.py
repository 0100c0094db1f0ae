import hashlib

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.selectors import audit_entries_for
from config import access, paging
from contacts.models import Contact
from contacts.phones import InvalidPhone, normalize_phone

from . import approval, checks, dashboard, filters, forms, selectors, sendplan, services
from .engine import followup, resume, schedules, stop
from .models import Campaign, CampaignPart, CampaignSchedule, TestSend


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "campaigns/home.html",
        {
            "sending": dashboard.campaigns_sending_now(),
            "totals": dashboard.dashboard_totals(),
            "attention": dashboard.parts_needing_attention(),
            "imports": dashboard.recent_imports(),
        },
    )


@require_GET
def home_sending(request: HttpRequest) -> HttpResponse:
    """The home page's "sending now" panel, polled while anything in it is sending."""
    return render(
        request, "campaigns/home.html#sending", {"sending": dashboard.campaigns_sending_now()}
    )


@require_GET
def bsg_account_panel(request: HttpRequest) -> HttpResponse:
    """The BSG balance, loaded after the page so a slow BSG never delays the page itself."""
    return render(
        request,
        "campaigns/home.html#bsg-account",
        {"account": dashboard.bsg_account_state()},
    )


# --- the composer ------------------------------------------------------------------------------

COMPOSE_TEMPLATES = {
    Campaign.Channel.SMS: "campaigns/compose_sms.html",
    Campaign.Channel.RCS: "campaigns/compose_rcs.html",
}


@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    form = filters.CampaignFilterForm(request.GET)
    results: dict = {"results": None}
    if form.is_valid():
        results = _campaign_list_results(form)
    return render(
        request,
        "campaigns/list.html",
        {"form": form, "senders": _sender_choices(), **results},
        status=200 if results["results"] is not None else 400,
    )


def _campaign_list_results(form: filters.CampaignFilterForm) -> dict:
    """The rows, poller and pager of a valid list request, as HTML (`results`, with the page
    and its links when they were read now, not found in the cache), kept in the cache for
    CAMPAIGN_LIST_CACHE_SECONDS under the normalised filters and cursor.

    Nothing in it depends on who asks (the permission-dependent buttons are outside it), so
    every user shares it; the live rows in it refresh themselves through campaigns:list-live,
    which is never cached. The price is a list up to that many seconds old on a reload, on the
    page people open most: rendering it costs ~5 ms of the web process's CPU a request, the
    whole budget of one (BENCHMARKS.md "Web under load")."""
    data = form.cleaned_data
    after, before = data["after"], data["before"]
    wanted = form.filters()
    seconds = settings.CAMPAIGN_LIST_CACHE_SECONDS
    key = "campaigns:list:" + hashlib.sha256(repr((wanted, after, before)).encode()).hexdigest()
    if seconds:
        found = cache.get(key)
        if found is not None:
            # Rendered (autoescaped) by the template below, by an earlier request.
            return {"results": mark_safe(found)}  # noqa: S308
    page = dashboard.campaign_page(filters=wanted, after=after, before=before)
    links = paging.page_links(_list_filters_query(wanted), page)
    context = {
        "form": form,
        "page": page,
        "older_query": links["next_query"],
        "newer_query": links["previous_query"],
    }
    html = render_to_string("campaigns/list.html#results", context)
    if seconds:
        cache.set(key, html, seconds)
    return {**context, "results": mark_safe(html)}  # noqa: S308 - autoescaped by the template


def _sender_choices() -> list[str]:
    """The sender filter's suggestions, shared like the list's rows (a sender saved now is
    suggested at most CAMPAIGN_LIST_CACHE_SECONDS later)."""
    seconds = settings.CAMPAIGN_LIST_CACHE_SECONDS
    if not seconds:
        return dashboard.sender_choices()
    return cache.get_or_set("campaigns:list:senders", dashboard.sender_choices, seconds)


def _list_filters_query(wanted: dashboard.CampaignFilters) -> dict[str, str]:
    """The filters of the list's page links as understood, not as typed: the cached results
    are shared by every query string that means the same."""
    query = {
        "q": wanted.search,
        "status": wanted.status,
        "channel": wanted.channel,
        "sender": wanted.sender,
        "created_from": wanted.created_from.isoformat() if wanted.created_from else "",
        "created_to": wanted.created_to.isoformat() if wanted.created_to else "",
    }
    return {key: value for key, value in query.items() if value}


@require_GET
def campaign_list_live(request: HttpRequest) -> HttpResponse:
    """The campaigns page's active rows, polled: each row swaps itself in place (out of band)
    and the poller comes back asking only for the rows still active, or without its trigger."""
    form = forms.LiveRowsForm(request.GET)
    if not form.is_valid():
        return HttpResponse(" ".join(form.errors["ids"]), status=400)
    rows = dashboard.campaign_rows(campaign_ids=form.cleaned_data["ids"])
    live_ids = [row.campaign.pk for row in rows if row.campaign.is_live]
    return render(request, "campaigns/list.html#live-rows", {"rows": rows, "live_ids": live_ids})


@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest, channel: str) -> HttpResponse:
    if channel not in Campaign.Channel.values:
        raise Http404("No such channel")
    return _compose(request, Campaign(channel=channel))


@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if campaign.status == Campaign.Status.AWAITING_APPROVAL:
        messages.info(request, "This campaign is waiting for approval; withdraw it to change it.")
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    if not campaign.is_editable:
        messages.info(request, "This campaign is waiting to send; duplicate it to change it.")
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _compose(request, campaign)


def _compose(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """One page per channel: bind, save the draft (always, so nothing typed is lost), then do
    what the button asked: plan, send now or schedule."""
    form, cards = _bind(request, campaign)
    if request.method == "POST" and form.is_valid() and (cards is None or cards.is_valid()):
        asked = forms.ComposeActionForm(request.POST)
        # An unknown button saves: nothing typed is lost, and nothing goes out unasked.
        action = (asked.cleaned_data["action"] if asked.is_valid() else "") or "save"
        draft, list_ids = _applied(form, cards)
        try:
            saved = services.campaign_save(campaign=draft, list_ids=list_ids, user=request.user)
        except ValidationError as refusal:
            messages.error(request, checks.refusal_text(refusal))
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
                    # Asks for approval (four-eyes), or sends when this user may approve it.
                    submitted = approval.campaign_submit(
                        campaign_id=saved.pk, user=request.user, when=when
                    )
                except ValidationError as refusal:
                    form.show_problems(refusal)
                    if cards is not None:
                        cards.show_problems(refusal)
                else:
                    if submitted.status == Campaign.Status.AWAITING_APPROVAL:
                        text = "Sent for approval: it goes out once someone else approves it."
                    else:
                        text = (
                            "Scheduled." if action == "schedule" else "Sending has been requested."
                        )
                    messages.success(request, text)
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
    target = forms.PreviewTargetForm(request.POST)
    # A preview is never refused: an unknown channel or campaign previews a new SMS (only the
    # fields that validated are in cleaned_data).
    target.is_valid()
    asked = target.cleaned_data
    instance = Campaign(channel=asked.get("channel") or Campaign.Channel.SMS)
    if asked.get("campaign_id"):
        instance = Campaign.objects.filter(pk=asked["campaign_id"]).first() or instance
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
    campaign = get_object_or_404(
        Campaign.objects.select_related(
            "created_by", "stopped_by", "schedule", "duplicated_from", "retry_of"
        ).prefetch_related("lists"),
        pk=campaign_id,
    )
    fresh, plan = services.campaign_plan_is_fresh(campaign=campaign)
    asked = forms.DetailForm(request.GET)
    confirm_stop = asked.is_valid() and asked.cleaned_data["stop"] == "confirm"
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "plan": plan,
            "plan_fresh": fresh,
            "test_form": forms.TestSendForm(),
            "test_sends": selectors.test_sends_of(campaign_id=campaign.pk),
            "audit_entries": audit_entries_for(target=campaign),
            **_engine_context(campaign),
            **_approval_context(campaign),
            "chart": dashboard.campaign_delivery_chart(
                campaign_id=campaign.pk, recipients=_recipients(campaign)
            ),
            # Stop asks first: "?stop=confirm" (the Stop link without JavaScript) shows the
            # confirmation in place of the button.
            "confirm_stop": confirm_stop and campaign.is_stoppable,
        },
    )


def _recipients(campaign: Campaign) -> int:
    return campaign.parts.aggregate(total=Sum("recipients"))["total"] or 0


@require_GET
def campaign_chart(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The sent/delivered chart, polled while the campaign sends."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    chart = dashboard.campaign_delivery_chart(
        campaign_id=campaign.pk, recipients=_recipients(campaign)
    )
    return render(request, "campaigns/detail.html#chart", {"campaign": campaign, "chart": chart})


@require_GET
def campaign_stop_confirm(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The confirmation step before Stop: in place of the button (htmx) or on the page."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if not campaign.is_stoppable:
        messages.info(request, "This campaign cannot be stopped now: nothing is left to stop.")
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    if request.htmx:
        return render(request, "campaigns/detail.html#stop-confirm", {"campaign": campaign})
    return redirect(reverse("campaigns:detail", args=[campaign.pk]) + "?stop=confirm#stop")


@require_GET
def campaign_recipients(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The recipients tab: the ledger, one keyset page at a time, filterable by status."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = filters.RecipientFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = dashboard.campaign_recipients_page(
            campaign_id=campaign.pk,
            status=form.status_value,
            after=form.cleaned_data["after"],
            before=form.cleaned_data["before"],
        )
    template = "campaigns/recipients.html"
    if request.htmx and not request.htmx.boosted:
        template += "#ledger"
    return render(
        request,
        template,
        {
            "campaign": campaign,
            "form": form,
            "page": page,
            **paging.page_links(request.GET, page),
        },
        status=200 if page is not None else 400,
    )


# --- the engine's panel ------------------------------------------------------------------------


def _engine_context(campaign: Campaign) -> dict:
    overview = dashboard.campaign_overview(campaign_id=campaign.pk)
    return {
        "overview": overview,
        "parts": overview.parts,
        "attention": overview.attention,
        "held": overview.held,
        "events": dashboard.campaign_events(campaign_id=campaign.pk),
        # The panel polls only while something can still change.
        "live": campaign.is_live,
    }


@require_GET
def campaign_parts(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The parts panel, polled while something can still change."""
    # The page shows the status in its heading and chooses its buttons by it: when the poll
    # finds another status than the page was drawn with, those are swapped too (out of band),
    # and only then, so an open Stop confirmation is not reset by every poll.
    poll = forms.PartsPollForm(request.GET)
    shown = (poll.cleaned_data["shown"] if poll.is_valid() else "") or None
    # Every open detail page polls this every few seconds, while the engine changes it at most
    # every BSG_POLL_INTERVAL: keep the rendered panel under a fingerprint of what it is drawn
    # from, so an unchanged panel costs one query. People with the same permissions see the
    # same buttons (templates read them only through `can`), so they share it.
    key = None
    if settings.CAMPAIGN_PARTS_CACHE_SECONDS:
        version = dashboard.campaign_panel_version(campaign_id=campaign_id)
        if version is not None:
            asked = f"{version}|{shown}|{access.permissions_fingerprint(request.user)}"
            key = "campaigns:parts:" + hashlib.sha256(asked.encode()).hexdigest()
            found = cache.get(key)
            if found is not None:
                return HttpResponse(found)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    response = render(
        request,
        "campaigns/detail.html#engine",
        {
            "campaign": campaign,
            "status_changed": shown is not None and shown != campaign.status,
            **_engine_context(campaign),
        },
    )
    # A panel with a form in it carries this person's CSRF token: never hand it to another.
    if key is not None and b"csrfmiddlewaretoken" not in response.content:
        cache.set(key, response.content.decode(), settings.CAMPAIGN_PARTS_CACHE_SECONDS)
    return response


@require_POST
def campaign_stop(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        report = stop.campaign_stop(campaign_id=campaign_id, user=request.user)
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
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
    if resume.part_resume(part_id=part_id, user=request.user):
        messages.success(request, f"Part {part.number} resumed.")
    else:
        messages.error(request, f"Part {part.number} is not held or waiting for attention.")
    return redirect("campaigns:detail", campaign_id=part.campaign_id)


@require_GET
def campaign_ledger_csv(request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    response = StreamingHttpResponse(
        selectors.ledger_csv_rows(campaign_id=campaign_id), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign_id}-ledger.csv"'
    return response


@require_POST
def campaign_retry_failed(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        retry = followup.campaign_retry_failed(campaign_id=campaign_id, user=request.user)
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
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
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
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
        except ValidationError as refusal:
            error = "Fix the campaign first: " + checks.refusal_text(refusal)
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
        resumed = resume.campaign_resume(campaign_id=campaign_id, user=request.user)
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(request, f"Resumed: {resumed} held part(s) will be sent.")
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_POST
def campaign_dnc_failures(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Add this campaign's repeatedly failing recipients to do-not-contact."""
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        added = followup.do_not_contact_add_repeated_failures(
            campaign_id=campaign_id, user=request.user
        )
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(request, f"{added} recipient(s) added to do-not-contact.")
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_http_methods(["GET", "POST"])
def schedule_index(request: HttpRequest) -> HttpResponse:
    """Recurring campaigns with their next run; a small form adds one."""
    form = forms.ScheduleForm(request.POST or None, templates=selectors.schedule_template_choices())
    if request.method == "POST" and form.is_valid():
        try:
            schedules.schedule_create(**form.schedule(), user=request.user)
        except ValidationError as refusal:
            form.add_error(None, checks.refusal_text(refusal))
        else:
            messages.success(request, "Recurring campaign saved.")
            return redirect("campaigns:schedules")
    rows = [
        (schedule, schedules.schedule_next_run(schedule=schedule))
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
        schedules.schedule_set_paused(schedule_id=schedule_id, paused=paused)
    except CampaignSchedule.DoesNotExist:
        raise Http404("No such schedule") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(request, "Paused." if paused else "Resumed.")
    return redirect("campaigns:schedules")


# --- four-eyes approval (the panel is templates/campaigns/_approval.html) ----------------------


def _form_refused(request: HttpRequest, form: django_forms.Form) -> None:
    """A button's form on the detail page, refused: its errors as messages on the page it
    redirects back to (the form there is a button, not fields to correct)."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _approval_refused(request: HttpRequest, refusal: ValidationError) -> None:
    # A refusal naming fields is about the content; one without, about who or when.
    text = checks.refusal_text(refusal)
    if hasattr(refusal, "error_dict"):
        text = "It cannot go out as it is: " + text
    messages.error(request, text)


@require_POST
def campaign_approval_request(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Ask for approval from the detail page: send as soon as approved, or at its start time."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = forms.ApprovalRequestForm(request.POST)
    if not form.is_valid():
        _form_refused(request, form)
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    scheduled = form.cleaned_data["intent"] == "schedule"
    when = campaign.start_at if scheduled else None
    if scheduled and when is None:
        messages.error(request, "Give the campaign a start time first (Edit), then ask again.")
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    try:
        approval.campaign_approval_request(campaign_id=campaign.pk, user=request.user, when=when)
    except ValidationError as refusal:
        _approval_refused(request, refusal)
    else:
        messages.success(request, "Sent for approval: it goes out once someone else approves it.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@require_POST
def campaign_approve(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    form = forms.ApproveForm(request.POST)
    if not form.is_valid():
        _form_refused(request, form)
        return redirect("campaigns:detail", campaign_id=campaign_id)
    try:
        approved = approval.campaign_approve(
            campaign_id=campaign_id, user=request.user, seen=form.cleaned_data["seen"] or None
        )
    except ValidationError as refusal:
        _approval_refused(request, refusal)
    else:
        messages.success(
            request,
            "Approved and scheduled."
            if approved.status == Campaign.Status.SCHEDULED
            else "Approved: sending has been requested.",
        )
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_POST
def campaign_reject(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    form = forms.RejectForm(request.POST)
    if not form.is_valid():
        _form_refused(request, form)
        return redirect("campaigns:detail", campaign_id=campaign_id)
    try:
        approval.campaign_reject(
            campaign_id=campaign_id, user=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as refusal:
        _approval_refused(request, refusal)
    else:
        messages.success(request, "Sent back to its author as a draft.")
    return redirect("campaigns:detail", campaign_id=campaign_id)


def _approval_context(campaign: Campaign) -> dict:
    """The approval panel: while it waits, what changed since the last approval (None: never
    approved), and the fingerprint of what the approver is shown."""
    if campaign.status != Campaign.Status.AWAITING_APPROVAL:
        return {"approval_changes": None, "approval_seen": ""}
    snapshot = selectors.campaign_approval_snapshot(campaign=campaign)
    changes = None
    if campaign.approval_snapshot:
        changes = selectors.campaign_approval_changes(
            before=campaign.approval_snapshot, after=snapshot
        )
    return {
        "approval_changes": changes,
        "approval_seen": selectors.campaign_approval_fingerprint(snapshot=snapshot),
    }
