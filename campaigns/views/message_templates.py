"""Saved message templates: the library page, new and edit, delete, and "New campaign from
this template"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import checks, forms, message_templates
from ..models import MessageTemplate


@require_GET
def template_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "campaigns/message_templates.html",
        {"templates": message_templates.message_templates()},
    )


@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    return _template_form(request, MessageTemplate())


@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, message_template_id: int) -> HttpResponse:
    return _template_form(request, get_object_or_404(MessageTemplate, pk=message_template_id))


def _template_form(request: HttpRequest, template: MessageTemplate) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = forms.MessageTemplateForm(data, instance=template)
    initial = [forms.card_initial(card) for card in template.rcs_cards or []]
    cards = forms.CardFormSet(data, initial=initial or None, prefix="card")
    if request.method == "POST" and form.is_valid() and cards.is_valid():
        is_new = template.pk is None
        try:
            saved = message_templates.message_template_save(
                template=form.apply_with_cards(cards), user=request.user
            )
        except ValidationError as refusal:
            # Beside the field to fix; nothing typed is lost.
            form.show_problems(refusal)
            cards.show_problems(refusal)
        else:
            said = _("Template “%(name)s” saved.") if is_new else _("Template “%(name)s” changed.")
            messages.success(request, said % {"name": saved})
            return redirect("campaigns:templates")
    return render(
        request,
        "campaigns/message_template_form.html",
        {"template": template, "form": form, "cards": cards},
    )


@require_POST
def template_delete(request: HttpRequest, message_template_id: int) -> HttpResponse:
    try:
        name = message_templates.message_template_delete(
            template_id=message_template_id, user=request.user
        )
    except MessageTemplate.DoesNotExist:
        raise Http404("No such template") from None
    messages.success(
        request,
        _("Template “%(name)s” deleted; campaigns started from it keep theirs.") % {"name": name},
    )
    return redirect("campaigns:templates")


@require_POST
def template_use(request: HttpRequest, message_template_id: int) -> HttpResponse:
    """New campaign from this template: a draft with its words, opened in the composer."""
    try:
        draft = message_templates.campaign_from_template(
            template_id=message_template_id, user=request.user
        )
    except MessageTemplate.DoesNotExist:
        raise Http404("No such template") from None
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
        return redirect("campaigns:templates")
    messages.success(
        request,
        _("“%(name)s” is a new draft from the template: choose who gets it, then send.")
        % {"name": draft},
    )
    return redirect("campaigns:edit", campaign_id=draft.pk)
