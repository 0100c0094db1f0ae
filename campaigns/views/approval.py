"""Four-eyes approval on the detail page (the panel is templates/campaigns/_approval.html)."""

from dataclasses import dataclass

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .. import approval, checks, forms, selectors, services
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
    """The approval panel: on a draft, what is still missing before it can be sent for
    approval; while it waits, what changed since the last approval (None: never approved), the
    fingerprint of what the approver is shown, and whether this user wrote it."""
    if campaign.status != Campaign.Status.AWAITING_APPROVAL:
        return {
            "approval_changes": None,
            "approval_seen": "",
            "approval_is_own": False,
            **_approval_readiness(campaign),
        }
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


@dataclass(frozen=True)
class MissingStep:
    """One thing to do before a draft can be sent for approval: what (`action`, None for a
    problem no field fixes), where it is done, and the checks' own words for it."""

    action: str | None
    url: str
    details: list[str]


# What each of campaigns.checks' problem keys asks for, in a few words; the checks' sentences
# follow each one. Keys sharing words are one step (the recipients are chosen in three fields).
MISSING_STEP_ACTIONS = {
    "name": gettext_lazy("Give it a name"),
    "sender": gettext_lazy("Choose a sender"),
    "rcs_agent": gettext_lazy("Choose an RCS agent"),
    "sms_mode": gettext_lazy("Choose who receives it"),
    "rcs_mode": gettext_lazy("Choose who receives it"),
    "pasted_numbers": gettext_lazy("Choose who receives it"),
    "lists": gettext_lazy("Choose who receives it"),
    "text": gettext_lazy("Fix the text"),
    "missing_values": gettext_lazy("Decide what recipients missing a value get"),
    "rcs_cards": gettext_lazy("Finish the cards"),
    "fallback_text": gettext_lazy("Finish the SMS fallback"),
    "fallback_sender": gettext_lazy("Finish the SMS fallback"),
    "fallback_validity_hours": gettext_lazy("Finish the SMS fallback"),
    "validity_hours": gettext_lazy("Fix the advanced settings"),
    "tariff_code": gettext_lazy("Fix the advanced settings"),
    "start_at": gettext_lazy("Choose a start time"),
    services.SEND_PLAN_PROBLEM: gettext_lazy("Compute the send plan"),
}


# Where the composer shows what a key names, when that is not the field's own block.
_COMPOSER_PLACES = {"rcs_cards": "card-editor"}


def _approval_readiness(campaign: Campaign) -> dict:
    """On a draft, what stops it from being sent for approval, as steps linking to where each
    is fixed, and whether each Ask button would be refused. The same check the request runs
    (approval.campaign_approval_problems), so the page never offers what the POST refuses.

    The schedule button asks for its start time too: a start that has passed shows as a step
    of its own and holds only that button."""
    if not campaign.can_request_approval:
        return {
            "approval_missing": [],
            "approval_now_blocked": False,
            "approval_scheduled_blocked": False,
        }
    now = timezone.now()
    problems = approval.campaign_approval_problems(campaign=campaign, when=None, now=now)
    now_blocked = bool(problems)
    scheduled_blocked = False
    if campaign.start_at is not None:
        # The request for a start differs from sending now only by the start-time rules: the
        # rest of the check (its queries, the plan) is not run a second time.
        start = checks.campaign_start_problems(campaign=campaign, start=campaign.start_at, now=now)
        for message in start.errors.get("start_at", []):
            problems.add("start_at", message)
        scheduled_blocked = now_blocked or bool(start)
    return {
        "approval_missing": _missing_steps(campaign, problems),
        "approval_now_blocked": now_blocked,
        "approval_scheduled_blocked": scheduled_blocked,
    }


def _missing_steps(campaign: Campaign, problems: checks.Problems) -> list[MissingStep]:
    composer = reverse("campaigns:edit", args=[campaign.pk])
    places: dict[str, str] = {}
    details: dict[str, list[str]] = {}
    loose: list[MissingStep] = []
    for key, said in problems.errors.items():
        action = MISSING_STEP_ACTIONS.get(key)
        if action is None:
            # Not fixed in one field (archived, no recipients in the plan): said as it is.
            loose += [MissingStep(action=None, url="", details=[m]) for m in said]
            continue
        action = str(action)
        if key == services.SEND_PLAN_PROBLEM:
            places.setdefault(action, "#send-plan")
        else:
            places.setdefault(action, f"{composer}#{_COMPOSER_PLACES.get(key, f'field-{key}')}")
        details.setdefault(action, []).extend(said)
    if problems.cards:
        action = str(MISSING_STEP_ACTIONS["rcs_cards"])
        places.setdefault(action, f"{composer}#card-editor")
        details.setdefault(action, []).extend(
            checks.card_message(index, message)
            for index, card in sorted(problems.cards.items())
            for said in card.values()
            for message in said
        )
    steps = [
        MissingStep(action=action, url=places[action], details=said)
        for action, said in details.items()
    ]
    return steps + loose
