"""What people do to a campaign that is sending or has sent: stop, resume (a held campaign or
one batch), retry the failed, add repeat failures to do-not-contact, and the ledger as CSV."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .. import checks, selectors
from ..engine import followup, resume, stop
from ..models import Campaign, CampaignPart
from ..stored_text import shown


@require_POST
def campaign_stop(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        report = stop.campaign_stop(campaign_id=campaign_id, user=request.user)
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        if report.cancelled_locally:
            messages.success(request, _("Cancelled: it had not been sent, and BSG was not called."))
        else:
            stopped = len(report.stopped)
            text = ngettext(
                "Stop sent: %(count)s batch stopped at BSG",
                "Stop sent: %(count)s batches stopped at BSG",
                stopped,
            ) % {"count": stopped}
            if report.cancelled_parts:
                text += _(", %(count)s not yet submitted cancelled") % {
                    "count": report.cancelled_parts
                }
            for answer in report.refused.values():
                # BSG's answer as each batch keeps it (campaigns.stored_text), said for the reader.
                text += f"; {shown(answer)}"
            messages.success(request, text + ".")
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_POST
def part_resume(request: HttpRequest, part_id: int) -> HttpResponse:
    part = get_object_or_404(CampaignPart, pk=part_id)
    if resume.part_resume(part_id=part_id, user=request.user):
        messages.success(request, _("Batch %(number)s resumed.") % {"number": part.number})
    else:
        messages.error(
            request,
            _("Batch %(number)s is not held or waiting for attention.") % {"number": part.number},
        )
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
    messages.success(request, _("A new campaign to the failed recipients is on its way."))
    return redirect("campaigns:detail", campaign_id=retry.pk)


@require_POST
def campaign_resume(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Resume a campaign the guard rails held (failure rate, balance)."""
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        resumed = resume.campaign_resume(campaign_id=campaign_id, user=request.user)
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(
            request,
            ngettext(
                "Resumed: %(count)s held batch will be sent.",
                "Resumed: %(count)s held batches will be sent.",
                resumed,
            )
            % {"count": resumed},
        )
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
        messages.success(
            request,
            ngettext(
                "%(count)s recipient added to do-not-contact.",
                "%(count)s recipients added to do-not-contact.",
                added,
            )
            % {"count": added},
        )
    return redirect("campaigns:detail", campaign_id=campaign_id)
