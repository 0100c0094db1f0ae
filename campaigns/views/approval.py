"""Four-eyes approval on the detail page (the panel is templates/campaigns/_approval.html)."""

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import approval, checks, forms, selectors
from ..models import Campaign


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
        text = _("It cannot go out as it is: %(problems)s") % {"problems": text}
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
        messages.error(request, _("Give the campaign a start time first (Edit), then ask again."))
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    try:
        approval.campaign_approval_request(campaign_id=campaign.pk, user=request.user, when=when)
    except ValidationError as refusal:
        _approval_refused(request, refusal)
    else:
        messages.success(
            request, _("Sent for approval: it goes out once someone else approves it.")
        )
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@require_POST
def campaign_approve(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    form = forms.ApproveForm(request.POST)
    if not form.is_valid():
        _form_refused(request, form)
        return redirect("campaigns:detail", campaign_id=campaign_id)
    try:
        # Always compared, even when missing: an Approve that does not say what its approver
        # read approves nothing (the panel's form always carries it).
        approved = approval.campaign_approve(
            campaign_id=campaign_id, user=request.user, seen=form.cleaned_data["seen"]
        )
    except ValidationError as refusal:
        _approval_refused(request, refusal)
    else:
        messages.success(
            request,
            _("Approved and scheduled.")
            if approved.status == Campaign.Status.SCHEDULED
            else _("Approved: sending has been requested."),
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
        messages.success(request, _("Sent back to its author as a draft."))
    return redirect("campaigns:detail", campaign_id=campaign_id)


def approval_context(campaign: Campaign, user) -> dict:
    """The approval panel: while it waits, what changed since the last approval (None: never
    approved), the fingerprint of what the approver is shown, and whether this user wrote it."""
    if campaign.status != Campaign.Status.AWAITING_APPROVAL:
        return {"approval_changes": None, "approval_seen": "", "approval_is_own": False}
    snapshot = selectors.campaign_approval_snapshot(campaign=campaign)
    changes = None
    if campaign.approval_snapshot:
        changes = selectors.campaign_approval_changes(
            before=campaign.approval_snapshot, after=snapshot
        )
    return {
        "approval_changes": changes,
        "approval_seen": selectors.campaign_approval_fingerprint(snapshot=snapshot),
        "approval_is_own": approval.campaign_is_own(campaign=campaign, user=user),
    }
