"""The dashboard's pages: home, the campaigns page and its live rows, a campaign's detail with
its parts panel and chart, and the recipients tab. Reads only (campaigns.dashboard)."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from config import access, paging

from .. import dashboard, filters, forms, history, inbox, selectors, sendplan, services
from ..models import Campaign
from .approval import approval_context
from .compose import approval_recipient_context


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # Read once for the navigation's count and to skip the inbox's empty sections.
    counts = inbox.inbox_counts(user=request.user)
    return render(
        request,
        "campaigns/home.html",
        {
            **_sending_context(shown=None),
            "totals": dashboard.dashboard_totals(),
            "inbox": inbox.inbox_of(user=request.user, counts=counts),
            "inbox_counts": counts,
            "imports": dashboard.recent_imports(),
        },
    )


@require_GET
def home_sending(request: HttpRequest) -> HttpResponse:
    """The home page's "sending now" panel, polled while anything in it can still change; `ids`
    are the campaigns it showed, followed to their end."""
    form = forms.LiveRowsForm(request.GET)
    if not form.is_valid():
        return HttpResponse(" ".join(form.errors["ids"]), status=400)
    return render(
        request, "campaigns/home.html#sending", _sending_context(shown=form.cleaned_data["ids"])
    )


def _sending_context(*, shown: list[int] | None) -> dict:
    sending = dashboard.campaigns_sending_now(shown=shown)
    live = any(row.campaign.is_live for row in sending)
    # Nothing sends: keep looking, slowly, while a campaign waits for an approver or its time.
    waiting = not live and dashboard.campaigns_waiting_exist()
    return {
        "sending": sending,
        "sending_ids": [row.campaign.pk for row in sending],
        "poll_every": dashboard.poll_pace(live=live, waiting=waiting),
    }


@require_GET
def bsg_account_panel(request: HttpRequest) -> HttpResponse:
    """The BSG balance, loaded after the page so a slow BSG never delays the page itself."""
    # The header's inbox count comes along (out of band), so every page's count follows the
    # work that arrives while it is open, at the balance's pace and without a poller of its own.
    return render(
        request,
        "campaigns/home.html#bsg-account",
        {"account": dashboard.bsg_account_state(), "inbox_oob": True},
    )


@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    form = filters.CampaignFilterForm(request.GET)
    if not form.is_valid():
        # Each refused filter says why beside its field; no campaigns until they are fixed.
        context = {"form": form, "senders": _sender_choices(), "page": None}
        return render(request, "campaigns/list.html", context, status=400)
    return render(request, "campaigns/list.html", _campaign_list_page(request, form))


def _campaign_list_page(request: HttpRequest, form: filters.CampaignFilterForm) -> dict:
    """The page's own part (its buttons, the filters as asked, the campaigns, the poller and
    pager) as HTML (`page_html`; with the page and its links when they were read now, not
    found in the cache), kept in the cache for CAMPAIGN_LIST_CACHE_SECONDS under what decides
    it: the filters and cursor as typed, what the person may do, their language and time zone.

    So everyone with the same permissions shares it (its buttons are read only through `can`,
    as the parts panel's are); the live rows in it refresh themselves through
    campaigns:list-live, which is never cached. The price is a list up to that many seconds old
    on a reload, on the page people open most: rendered, its rows cost ~10 ms of the web
    process's CPU and its filters and buttons ~0.8 ms, against ~3 ms for a whole signed-in page
    (BENCHMARKS.md "Web under load")."""
    seconds = settings.CAMPAIGN_LIST_CACHE_SECONDS
    key = None
    if seconds:
        asked = repr(
            (
                sorted(form.typed.items()),
                access.permissions_fingerprint(request.user),
                get_language(),
                timezone.get_current_timezone_name(),
            )
        )
        key = "campaigns:list:" + hashlib.sha256(asked.encode()).hexdigest()
        found = cache.get(key)
        if found is not None:
            # Rendered (autoescaped) by the template below, by an earlier request.
            return {"page_html": mark_safe(found)}  # noqa: S308
    data = form.cleaned_data
    wanted = form.filters()
    page = dashboard.campaign_page(filters=wanted, after=data["after"], before=data["before"])
    links = paging.page_links(_list_filters_query(wanted), page)
    context = {
        "form": form,
        "senders": _sender_choices(),
        "page": page,
        "older_query": links["next_query"],
        "newer_query": links["previous_query"],
    }
    html = render_to_string("campaigns/list.html#page", context, request=request)
    if key is not None:
        cache.set(key, html, seconds)
    return {**context, "page_html": mark_safe(html)}  # noqa: S308 - autoescaped by the template


def _sender_choices() -> list[str]:
    """The sender filter's suggestions, shared like the list's rows (a sender saved now is
    suggested at most CAMPAIGN_LIST_CACHE_SECONDS later)."""
    seconds = settings.CAMPAIGN_LIST_CACHE_SECONDS
    if not seconds:
        return dashboard.sender_choices()
    return cache.get_or_set("campaigns:list:senders", dashboard.sender_choices, seconds)


def _list_filters_query(wanted: dashboard.CampaignFilters) -> dict[str, str]:
    """The filters of the list's page links as understood, not as typed: every link to one page
    is then the same query string, and shares its cached page."""
    query = {
        "q": wanted.search,
        "status": wanted.status,
        "channel": wanted.channel,
        "sender": wanted.sender,
        "created_from": wanted.created_from.isoformat() if wanted.created_from else "",
        "created_to": wanted.created_to.isoformat() if wanted.created_to else "",
        "archived": "on" if wanted.archived else "",
    }
    return {key: value for key, value in query.items() if value}


@require_GET
def campaign_list_live(request: HttpRequest) -> HttpResponse:
    """The campaigns page's rows that may still change (Campaign.is_in_progress), polled: each
    row swaps itself in place (out of band) and the poller comes back asking only for the rows
    still in progress, or without its trigger."""
    form = forms.LiveRowsForm(request.GET)
    if not form.is_valid():
        return HttpResponse(" ".join(form.errors["ids"]), status=400)
    rows = dashboard.campaign_rows(campaign_ids=form.cleaned_data["ids"])
    return render(
        request,
        "campaigns/list.html#live-rows",
        {
            "rows": rows,
            "watched_ids": [row.campaign.pk for row in rows if row.campaign.is_in_progress],
            "poll_every": dashboard.rows_poll_pace(rows),
        },
    )


@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.select_related(
            "created_by", "stopped_by", "schedule", "duplicated_from", "retry_of"
        ).prefetch_related("lists"),
        pk=campaign_id,
    )
    asked = forms.DetailForm(request.GET)
    confirm_stop = asked.is_valid() and asked.cleaned_data["stop"] == "confirm"
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "test_form": forms.TestSendForm(),
            "test_sends": selectors.test_sends_of(campaign_id=campaign.pk),
            "test_phones": selectors.test_phones_for(user=request.user),
            "audit_entries": history.campaign_history(campaign=campaign),
            **_engine_context(campaign),
            **_status_context(campaign, request.user),
            # Stop asks first: "?stop=confirm" (the Stop link without JavaScript) shows the
            # confirmation in place of the button.
            "confirm_stop": confirm_stop and campaign.is_stoppable,
            **_approval_preview_context(campaign, request.GET),
        },
    )


def _approval_preview_context(campaign: Campaign, data) -> dict:
    """While it waits for approval, the composer's per-recipient preview, read-only (its
    buttons without script are GET links to this page), and for RCS the cards as the first
    recipients get them: the approver reads what they approve, not only counts."""
    context = approval_recipient_context(campaign, data)
    if context and campaign.is_rcs:
        list_ids = selectors.campaign_list_ids(campaign=campaign)
        context["rcs"] = sendplan.rcs_preview(campaign=campaign, list_ids=list_ids)
    return context


def _status_context(campaign: Campaign, user) -> dict:
    """What the detail page's status-dependent panels outside the polled one are drawn from:
    the approval panel, the chart and the send plan (with its button). The parts panel's poll
    draws them again, out of band, when it finds the status changed."""
    fresh, plan = services.campaign_plan_is_fresh(campaign=campaign)
    return {
        "plan": plan,
        "plan_fresh": fresh,
        **approval_context(campaign, user),
        "chart": _chart(campaign),
    }


def _chart(campaign: Campaign) -> dashboard.DeliveryChart:
    return dashboard.campaign_delivery_chart(
        campaign_id=campaign.pk,
        recipients=_recipients(campaign),
        dispatched_at=campaign.dispatched_at,
    )


def _recipients(campaign: Campaign) -> int:
    return campaign.parts.aggregate(total=Sum("recipients"))["total"] or 0


@require_GET
def campaign_chart(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The sent/delivered chart, polled while the campaign sends."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    chart = _chart(campaign)
    return render(request, "campaigns/detail.html#chart", {"campaign": campaign, "chart": chart})


@require_GET
def campaign_stop_confirm(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The confirmation step before Stop: in place of the button (htmx) or on the page."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if not campaign.is_stoppable:
        messages.info(request, _("This campaign cannot be stopped now: nothing is left to stop."))
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


def _engine_context(campaign: Campaign) -> dict:
    overview = dashboard.campaign_overview(campaign_id=campaign.pk)
    return {
        "overview": overview,
        "parts": overview.parts,
        "attention": overview.attention,
        "held": overview.held,
        "events": dashboard.campaign_events(campaign_id=campaign.pk),
        "live": campaign.is_live,
        # The panel polls only while something can still change: fast while the engine sends,
        # slowly while it waits for an approver or its time (so the page sees it approved).
        "poll_every": dashboard.poll_pace(live=campaign.is_live, waiting=campaign.is_in_progress),
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
    # same buttons (templates read them only through `can`), so they share it, in their
    # language and time zone.
    key = None
    if settings.CAMPAIGN_PARTS_CACHE_SECONDS:
        version = dashboard.campaign_panel_version(campaign_id=campaign_id)
        if version is not None:
            asked = (
                f"{version}|{shown}|{access.permissions_fingerprint(request.user)}|{get_language()}"
                f"|{timezone.get_current_timezone_name()}"
            )
            key = "campaigns:parts:" + hashlib.sha256(asked.encode()).hexdigest()
            found = cache.get(key)
            if found is not None:
                return HttpResponse(found)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    status_changed = shown is not None and shown != campaign.status
    response = render(
        request,
        "campaigns/detail.html#engine",
        {
            "campaign": campaign,
            "status_changed": status_changed,
            **_engine_context(campaign),
            # Only on a change: the extra reads are paid once, not on every poll.
            **(_status_context(campaign, request.user) if status_changed else {}),
        },
    )
    # A panel with a form in it carries this person's CSRF token, and one that follows a
    # change of status carries the approval panel, which says whether they wrote the campaign:
    # never hand either to another person.
    if key is not None and not status_changed and b"csrfmiddlewaretoken" not in response.content:
        cache.set(key, response.content.decode(), settings.CAMPAIGN_PARTS_CACHE_SECONDS)
    return response
