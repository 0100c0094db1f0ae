"""Archive, restore and delete a campaign from its detail page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import archive, checks
from ..models import Campaign


@require_POST
def campaign_archive(request: HttpRequest, campaign_id: int) -> HttpResponse:
    try:
        campaign = archive.campaign_archive(campaign_id=campaign_id, user=request.user)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(
            request,
            _("“%(name)s” is archived: the campaigns page shows it only under “Show archived”.")
            % {"name": campaign},
        )
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_POST
def campaign_restore(request: HttpRequest, campaign_id: int) -> HttpResponse:
    try:
        campaign = archive.campaign_restore(campaign_id=campaign_id, user=request.user)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
    else:
        messages.success(
            request, _("“%(name)s” is restored from the archive.") % {"name": campaign}
        )
    return redirect("campaigns:detail", campaign_id=campaign_id)


@require_POST
def campaign_delete(request: HttpRequest, campaign_id: int) -> HttpResponse:
    try:
        name = archive.campaign_delete(campaign_id=campaign_id, user=request.user)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
        return redirect("campaigns:detail", campaign_id=campaign_id)
    messages.success(request, _("The draft “%(name)s” is deleted.") % {"name": name})
    return redirect("campaigns:list")
