"""The composer: new and edit, the live preview, the send plan, duplicate, back to draft, and
test sends."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.models import Contact
from contacts.phones import InvalidPhone, normalize_phone

from .. import approval, checks, forms, recipient_preview, selectors, sendplan, services
from ..models import Campaign, TestSend
from .approval import approval_context

COMPOSE_TEMPLATES = {
    Campaign.Channel.SMS: "campaigns/compose_sms.html",
    Campaign.Channel.RCS: "campaigns/compose_rcs.html",
}


@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest, channel: str) -> HttpResponse:
    if channel not in Campaign.Channel.values:
        raise Http404("No such channel")
    return _compose(request, Campaign(channel=channel))


@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if campaign.status == Campaign.Status.AWAITING_APPROVAL:
        messages.info(
            request, _("This campaign is waiting for approval; withdraw it to change it.")
        )
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    if not campaign.is_editable:
        messages.info(request, _("This campaign is waiting to send; duplicate it to change it."))
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    if campaign.is_archived:
        messages.info(request, _("This campaign is archived; restore it to change it."))
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _compose(request, campaign)


def _compose(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """One page per channel: bind, save the draft (always, so nothing typed is lost), then do
    what the button asked: plan, send now or schedule."""
    form, cards = _bind(request, campaign)
    if request.method == "POST" and cards is not None:
        edit = forms.CardEditForm(request.POST)
        if edit.is_valid() and edit.cleaned_data["card_edit"]:
            # A card button without JavaScript: the same page, cards rearranged, nothing lost.
            data = edit.rearranged(request.POST)
            form = forms.RcsCampaignForm(data, instance=campaign)
            cards = forms.CardFormSet(data, prefix=forms.CARD_PREFIX)
            return _render_compose(request, campaign, form, cards)
    if request.method == "POST" and form.is_valid() and (cards is None or cards.is_valid()):
        asked = forms.ComposeActionForm(request.POST)
        # An unknown button saves: nothing typed is lost, and nothing goes out unasked.
        action = (asked.cleaned_data["action"] if asked.is_valid() else "") or "save"
        draft, list_ids = _applied(form, cards)
        if checks.campaign_is_blank(campaign=draft, list_ids=list_ids):
            return _render_compose(request, campaign, form, cards, nothing_to_save=True)
        try:
            saved = services.campaign_save(campaign=draft, list_ids=list_ids, user=request.user)
        except ValidationError as refusal:
            messages.error(request, checks.refusal_text(refusal))
            return redirect("campaigns:detail", campaign_id=campaign.pk)
        if action == "plan":
            try:
                services.send_plan_request(campaign_id=saved.pk, user=request.user)
            except ValidationError:
                # Saved, not planned. The composer it returns to marks what stops it beside each
                # field, as it does for any saved draft (_draft_marked: the same rules).
                messages.warning(request, _("Draft saved. No send plan: fix what is marked first."))
                return redirect("campaigns:edit", campaign_id=saved.pk)
            return redirect(reverse("campaigns:edit", args=[saved.pk]) + "#send-plan")
        if action in ("send", "schedule"):
            when = form.cleaned_data.get("start_at_moment") if action == "schedule" else None
            if action == "schedule" and when is None:
                # Only without script: with it the schedule button waits for a start time.
                form.add_error(
                    "start_at",
                    _("Choose when to send it, or use “Ask for approval to send now”.")
                    if _asks_for_approval(request.user)
                    else _("Choose when to send it, or use “Send now”."),
                )
            else:
                try:
                    # Asks for approval (four-eyes), or sends when this user may approve it.
                    submitted = approval.campaign_submit(
                        campaign_id=saved.pk, user=request.user, when=when
                    )
                except ValidationError as refusal:
                    _show_problems(form, cards, refusal)
                else:
                    if submitted.status == Campaign.Status.AWAITING_APPROVAL:
                        text = _("Sent for approval: it goes out once someone else approves it.")
                    elif action == "schedule":
                        text = _("Scheduled.")
                    else:
                        text = _("Sending has been requested.")
                    messages.success(request, text)
                    return redirect("campaigns:detail", campaign_id=saved.pk)
            campaign = saved
            return _render_compose(request, campaign, form, cards)
        # Drafts may be incomplete; the page it returns to marks what stops it (_draft_marked).
        messages.success(request, _("Draft saved."))
        return redirect("campaigns:edit", campaign_id=saved.pk)
    if request.method == "GET" and campaign.pk:
        _draft_marked(form, cards, campaign)
    return _render_compose(request, campaign, form, cards)


def _asks_for_approval(user) -> bool:
    """Whether the composer's buttons ask for approval (as its template words them)."""
    return settings.CAMPAIGNS_FOUR_EYES or not user.has_perm("campaigns.approve_campaign")


def _draft_marked(form, cards, campaign: Campaign) -> None:
    """A saved draft opens with what stops it from being sent beside each field."""
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    problems = checks.campaign_draft_check(campaign=campaign, list_ids=list_ids)
    if problems:
        _show_problems(form, cards, problems.refusal())


def _show_problems(form, cards, refusal: ValidationError) -> None:
    form.show_problems(refusal)
    if cards is not None:
        cards.show_problems(refusal)


def _bind(request: HttpRequest, campaign: Campaign):
    data = request.POST if request.method == "POST" else None
    if campaign.is_rcs:
        form = forms.RcsCampaignForm(data, instance=campaign)
        initial = forms.card_initials(campaign.rcs_cards or [])
        cards = forms.CardFormSet(data, initial=initial, prefix=forms.CARD_PREFIX)
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


def _render_compose(
    request, campaign, form, cards, *, nothing_to_save: bool = False
) -> HttpResponse:
    """The composer, with what is wrong marked beside each field. A form shown again with its
    errors answers 200, as Django's own views do: the person made a mistake, the page did not
    fail, and a browser logs any 4xx page as an error in its console."""
    fresh, plan = (False, None)
    if campaign.pk:
        fresh, plan = services.campaign_plan_is_fresh(campaign=campaign)
    context = {
        "campaign": campaign,
        "form": form,
        "cards": cards,
        # "Ask for approval" waits while anything is marked: it would only be refused.
        "has_errors": bool(form.errors) or any(card.errors for card in cards or []),
        "schedule_needs_start": form["start"].value() != forms.START_AT,
        # A new composer saved empty: nothing was saved (checks.campaign_is_blank).
        "nothing_to_save": nothing_to_save,
        "plan": plan,
        "plan_fresh": fresh,
        "senders": selectors.saved_senders(),
        "test_form": forms.TestSendForm(),
        "test_sends": selectors.test_sends_of(campaign_id=campaign.pk) if campaign.pk else [],
        "test_phones": selectors.test_phones_for(user=request.user),
        "placeholders": selectors.placeholder_choices(),
    }
    if campaign.pk and request.method == "GET":
        # The one-recipient preview's buttons without script: GET links to this page, the
        # saved draft previewed (with script they post the form as typed, below).
        list_ids = selectors.campaign_list_ids(campaign=campaign)
        asked = forms.RecipientPreviewForm(request.GET)
        context.update(_recipient_context(campaign, list_ids, asked))
    elif request.method == "POST":
        # A submit shown again (refused, or a card moved): the first recipient of the form as
        # typed, not an empty panel that asks for what is already chosen.
        typed, list_ids = form.as_typed()
        context.update(_recipient_context(typed, list_ids, forms.RecipientPreviewForm({})))
    return render(request, COMPOSE_TEMPLATES[campaign.channel], context)


@require_POST
def campaign_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx, debounced): the form as typed, never saved, and what stops it
    from being sent beside each field (swapped out of band, campaigns.checks' one rule set)."""
    instance = _preview_instance(request.POST)
    new = instance.pk is None
    cards = None
    if instance.is_rcs:
        form = forms.RcsCampaignForm(request.POST, instance=instance)
        cards = forms.CardFormSet(request.POST, prefix=forms.CARD_PREFIX)
        cards.is_valid()
        typed = form.is_valid()
        campaign, list_ids = form.apply_with_cards(cards) if typed else (instance, [])
        text = campaign.fallback_text if campaign.fallback_enabled else ""
        template = "campaigns/compose_rcs.html#preview"
    else:
        form = forms.SmsCampaignForm(request.POST, instance=instance)
        typed = form.is_valid()
        campaign, list_ids = form.apply() if typed else (instance, [])
        text = campaign.text
        template = "campaigns/compose_sms.html#preview"
    if typed:
        problems = checks.campaign_draft_check(campaign=campaign, list_ids=list_ids)
        if problems:
            _show_problems(form, cards, problems.refusal())
    errors = form.errors_live(new=new) + (cards.errors_live() if cards is not None else [])
    preview = sendplan.campaign_preview(campaign=campaign, list_ids=list_ids, text=text)
    # RCS: a carousel for each of the first recipients, as each would get it.
    rcs = sendplan.rcs_preview(campaign=campaign, list_ids=list_ids) if instance.is_rcs else None
    return render(
        request,
        template,
        {"campaign": campaign, "preview": preview, "live_errors": errors, "rcs": rcs},
    )


def _preview_instance(data) -> Campaign:
    """The campaign a preview is for. A preview is never refused: an unknown channel or
    campaign previews a new SMS (only the fields that validated are in cleaned_data)."""
    target = forms.PreviewTargetForm(data)
    target.is_valid()
    asked = target.cleaned_data
    instance = Campaign(channel=asked.get("channel") or Campaign.Channel.SMS)
    if asked.get("campaign_id"):
        instance = Campaign.objects.filter(pk=asked["campaign_id"]).first() or instance
    return instance


@require_POST
def campaign_preview_recipient(request: HttpRequest) -> HttpResponse:
    """The preview for one recipient (htmx): the campaign as typed, for the recipient asked for.
    Without script the composer's own page answers the same buttons (GET, the saved draft)."""
    instance = _preview_instance(request.POST)
    form_class = forms.RcsCampaignForm if instance.is_rcs else forms.SmsCampaignForm
    campaign, list_ids = form_class(request.POST, instance=instance).as_typed()
    asked = forms.RecipientPreviewForm(request.POST)
    return render(
        request,
        "campaigns/compose_sms.html#recipient-preview",
        _recipient_context(campaign, list_ids, asked),
    )


@require_GET
def campaign_recipient(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The preview for one recipient of a saved campaign, read-only (htmx): what an approver
    approves, stepped through on the detail page. Without script the detail page answers the
    same buttons itself."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    context = approval_recipient_context(campaign, request.GET) or {
        "recipient": recipient_preview.RecipientPreview(
            unavailable=_("Each recipient's text is shown here while it waits for approval.")
        )
    }
    return render(
        request,
        "campaigns/compose_sms.html#recipient-preview",
        {"campaign": campaign, **context, "read_only": True},
    )


def approval_recipient_context(campaign: Campaign, data) -> dict:
    """The one-recipient preview of a saved campaign as it waits for approval: the recipients
    and texts the approval covers. Other campaigns show none (their lists may have moved on
    since they went out)."""
    if not campaign.is_awaiting_approval:
        return {}
    if campaign.is_rcs and not campaign.fallback_enabled:
        # The composer's words ("Turn on the SMS fallback…") ask for an edit the approver
        # cannot make: say what the recipients get instead.
        return {
            "campaign": campaign,
            "recipient": recipient_preview.RecipientPreview(
                unavailable=_("No SMS fallback: each recipient gets only the RCS cards above.")
            ),
        }
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    return _recipient_context(campaign, list_ids, forms.RecipientPreviewForm(data))


def _recipient_context(campaign: Campaign, list_ids: list[int], asked) -> dict:
    return {
        "campaign": campaign,
        "recipient_form": asked,
        "recipient": recipient_preview.recipient_preview(
            campaign=campaign, list_ids=list_ids, **asked.asked()
        ),
    }


@require_http_methods(["GET", "POST"])
def campaign_plan(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """GET: the plan panel (polled while the plan runs). POST: compute a new plan.

    In the composer, the Send buttons outside the panel are enabled only by a fresh plan: they
    come along out of band when a plan is asked for and when it finishes (not on every poll,
    which would reset a button someone is about to press); on the detail page, the approval
    panel does."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    refused: list[str] = []
    if request.method == "POST":
        try:
            services.send_plan_request(campaign_id=campaign.pk, user=request.user)
        except ValidationError as refusal:
            refused = refusal.messages
            if not request.htmx:
                messages.error(
                    request,
                    _("No send plan: %(problems)s") % {"problems": checks.refusal_text(refusal)},
                )
        if not request.htmx:
            return redirect(reverse("campaigns:edit", args=[campaign.pk]) + "#send-plan")
    asked = forms.PlanPanelForm(request.GET)
    composer = asked.is_valid() and asked.cleaned_data["page"] == "composer"
    fresh, plan = services.campaign_plan_is_fresh(campaign=campaign)
    settled = plan is None or plan.is_finished
    # On the detail page the approval panel lists "compute the send plan" among what is
    # missing: it comes along when the plan is asked for and when it finishes, as the buttons do.
    approval_oob = not composer and (request.method == "POST" or settled)
    return render(
        request,
        "campaigns/detail.html#send-plan",
        # 200 even when refused: htmx swaps in only successful answers, and this one says why.
        {
            **(approval_context(campaign, request.user) if approval_oob else {}),
            "approval_oob": approval_oob,
            "campaign": campaign,
            "plan": plan,
            "plan_fresh": fresh,
            "plan_refused": refused,
            # Refused for what is marked beside the fields: the Send buttons say so.
            "has_errors": bool(refused),
            "schedule_needs_start": campaign.start_at is None,
            "composer": composer,
            "buttons_oob": composer and (request.method == "POST" or settled),
        },
    )


@require_POST
def campaign_duplicate(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    copy = services.campaign_duplicate(campaign_id=campaign_id, user=request.user)
    messages.success(request, _("“%(name)s” is a new draft.") % {"name": copy.name})
    return redirect("campaigns:edit", campaign_id=copy.pk)


@require_POST
def campaign_unschedule(request: HttpRequest, campaign_id: int) -> HttpResponse:
    get_object_or_404(Campaign, pk=campaign_id)
    try:
        services.campaign_unschedule(campaign_id=campaign_id)
    except ValidationError as refusal:
        messages.error(request, checks.refusal_text(refusal))
        return redirect("campaigns:detail", campaign_id=campaign_id)
    messages.success(request, _("Back to draft: nothing was sent."))
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
            error = _("That number cannot be used: %(problem)s.") % {"problem": invalid}
        except LookupError as missing:
            error = str(missing)
        except ValidationError as refusal:
            error = _test_send_refusal_text(refusal)
    else:
        error = _("Choose one of your test phones.")
    context = {
        "campaign": campaign,
        "test_form": form,
        "test_error": error,
        "test_sends": selectors.test_sends_of(campaign_id=campaign.pk),
        "test_phones": selectors.test_phones_for(user=request.user),
    }
    if request.htmx:
        return render(request, "campaigns/detail.html#test-send", context)
    if error:
        messages.error(request, error)
    return redirect("campaigns:detail", campaign_id=campaign.pk)


def _test_send_refusal_text(refusal: ValidationError) -> str:
    # Refused for the phone (not a test phone, do-not-contact, too many): said as it is; for
    # the campaign's content, what to fix first.
    if hasattr(refusal, "error_dict") and set(refusal.error_dict) == {"phone"}:
        return " ".join(refusal.message_dict["phone"])
    return _("Fix the campaign first: %(problems)s") % {"problems": checks.refusal_text(refusal)}


def _contact_id_by_phone(*, phone: str) -> int:
    number = normalize_phone(phone)
    contact = Contact.objects.filter(phone=number).values_list("id", flat=True).first()
    if contact is None:
        raise LookupError(_("No contact has the number +%(phone)s.") % {"phone": number})
    return contact


@require_GET
def test_send_status(request: HttpRequest, test_send_id: int) -> HttpResponse:
    """One test send's row, polled by htmx until BSG reports a final status."""
    test = get_object_or_404(TestSend, pk=test_send_id)
    test = services.test_send_refresh(test_send_id=test.pk)
    return render(request, "campaigns/detail.html#test-send-row", {"test": test})
