"""The composer's forms. They only convert what was typed; BSG's rules are checked by
campaigns.checks.campaign_check so that drafts save incomplete and sending gets every rule.

One exception: a pasted reference id used twice, or used by another campaign, is refused at
save. It is unique account-wide, so such a draft could never go out, and the line that breaks
it is easiest to fix while it is being typed."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import COMMON_TIME_ZONES, time_zone_known
from bsg import rules
from config.paging import CursorField
from contacts.models import ContactList

from . import checks, dashboard, recipient_preview, schedule_timing, selectors
from .models import Campaign, MessageTemplate

START_NOW = "now"
START_AT = "at"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
SUGGESTION_SLOTS = 4


# The "Advanced" settings, each in one line (BSG: validity 1-72 h, tariff 0-9, scheduling at
# most 30 days ahead; bsg.rules holds the numbers).
VALIDITY_HELP = gettext_lazy(
    "How long the network keeps trying a phone that is off or out of reach, 1 to 72 hours."
)
TARIFF_HELP = gettext_lazy(
    "Your BSG price plan's tariff number; keep 0 unless BSG gave you another."
)
BSG_SCHEDULES_HELP = gettext_lazy(
    "BSG holds the campaign and sends it at the start time, instead of this app sending it then."
)
# The labels Django would make of the model's field names, translatable.
NAME_LABEL = gettext_lazy("Name")
TEXT_HELP = gettext_lazy(
    "Placeholders: {first_name}, {name}, {phone}, or for lists linked to BSG a BSG contact-book "
    "field number such as {17}; a fallback for whoever has no value: {city|your city}."
)


class _CampaignForm(forms.ModelForm):
    common_time_zones = COMMON_TIME_ZONES
    lists = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Lists"),
        queryset=ContactList.objects.filter(archived_at__isnull=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    start = forms.ChoiceField(
        label=gettext_lazy("Start"),
        choices=[(START_NOW, gettext_lazy("Now")), (START_AT, gettext_lazy("At a time"))],
        initial=START_NOW,
        widget=forms.RadioSelect,
        required=False,
    )
    # <input type="datetime-local">: a wall time in the person's own time zone, the one
    # accounts.middleware activates (accounts.AccountSettings, else settings.TIME_ZONE); not the
    # browser's, so what they type reads the same on every device and on every page after it.
    start_at = forms.CharField(
        required=False,
        label=gettext_lazy("Start time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    name = forms.CharField(label=NAME_LABEL, max_length=200, required=False)
    # The sending window guard rail: parts go to BSG only between these local times in the
    # recipients' zone (the engine holds the rest until the window opens).
    window_start = forms.TimeField(
        required=False,
        label=gettext_lazy("Send only from"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    window_end = forms.TimeField(
        required=False,
        label=gettext_lazy("until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    window_time_zone = forms.CharField(
        required=False,
        max_length=64,
        label=gettext_lazy("Recipients' time zone"),
        help_text=gettext_lazy("A time zone such as Europe/Kyiv; empty means the server's zone."),
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk:
            self.fields["lists"].initial = list(instance.lists.values_list("id", flat=True))
            # Archived lists stay visible on a campaign that already uses them.
            self.fields["lists"].queryset = ContactList.objects.filter(
                archived_at__isnull=True
            ) | ContactList.objects.filter(campaigns=instance)
            self.fields["lists"].queryset = self.fields["lists"].queryset.distinct()
        if instance.start_at is not None:
            # Shown in the zone of whoever opens it, which may not be its author's.
            self.initial["start"] = START_AT
            self.initial["start_at"] = timezone.localtime(instance.start_at).strftime(
                DATETIME_LOCAL
            )
        self.initial.setdefault("window_start", instance.window_start)
        self.initial.setdefault("window_end", instance.window_end)
        self.initial.setdefault("window_time_zone", instance.window_time_zone)
        list_field = self.fields["lists"]
        list_field.label_from_instance = _list_label

    @property
    def typed_in_zone(self) -> str:
        """The time zone the start time is typed and shown in: the person's own."""
        return timezone.get_current_timezone_name()

    def clean_window_time_zone(self) -> str:
        name = (self.cleaned_data.get("window_time_zone") or "").strip()
        if not name:
            return ""
        if not time_zone_known(name):
            raise forms.ValidationError(schedule_timing.UNKNOWN_TIME_ZONE)
        return name

    def _clean_window(self, cleaned: dict) -> None:
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if (start is None) != (end is None) and not self.errors.get("window_start"):
            missing = "window_end" if end is None else "window_start"
            self.add_error(missing, _("Give both ends of the sending window, or neither."))
        elif start is not None and start == end:
            self.add_error("window_end", _("The window must end at another time than it starts."))

    def clean(self):
        cleaned = super().clean()
        self._clean_window(cleaned)
        raw = (cleaned.get("start_at") or "").strip()
        cleaned["start_at_moment"] = None
        if cleaned.get("start") == START_AT or raw:
            if not raw:
                if cleaned.get("start") == START_AT:
                    self.add_error("start_at", _("Choose the date and time to send it."))
            else:
                try:
                    naive = datetime.strptime(raw[:16], DATETIME_LOCAL)
                except ValueError:
                    self.add_error(
                        "start_at",
                        _("“%(typed)s” is not a date and time (YYYY-MM-DD hh:mm).")
                        % {"typed": raw},
                    )
                else:
                    # A wall time that a clock change repeats is the first of the two (fold=0).
                    cleaned["start_at_moment"] = timezone.make_aware(naive)
        return cleaned

    def apply(self) -> tuple[Campaign, list[int]]:
        """The campaign instance with the typed values (not saved) and the chosen list ids."""
        campaign = self.save(commit=False)
        cleaned = self.cleaned_data
        # Which zone its author typed the start in, for the log; pages show it in their own.
        campaign.start_time_zone = self.typed_in_zone
        campaign.start_at = (
            cleaned.get("start_at_moment") if cleaned.get("start") == START_AT else None
        )
        campaign.window_start = cleaned.get("window_start")
        campaign.window_end = cleaned.get("window_end")
        campaign.window_time_zone = cleaned.get("window_time_zone") or ""
        list_ids = sorted(contact_list.id for contact_list in cleaned.get("lists") or [])
        return campaign, list_ids

    def as_typed(self) -> tuple[Campaign, list[int]]:
        """The campaign as typed so far, for a preview: every valid field on the instance (not
        saved), a field with an error as it was; and the lists chosen."""
        self.is_valid()  # the ModelForm puts the valid fields on the instance
        campaign = self.instance
        if "lists" in self.errors:
            list_ids = selectors.campaign_list_ids(campaign=campaign)
        else:
            list_ids = sorted(c.id for c in self.cleaned_data.get("lists") or [])
        if campaign.is_sms and campaign.sms_mode == Campaign.SmsMode.NUMBERS:
            list_ids = []
        return campaign, list_ids

    def show_problems(self, refusal: forms.ValidationError) -> None:
        """A service's refusal beside the fields it names (RCS cards' go to the card forms);
        on a saved draft opened again (an unbound form) too."""
        if not hasattr(refusal, "error_dict"):
            problem_add(self, None, refusal.messages)
            return
        for name, messages in refusal.message_dict.items():
            if name.startswith(checks.CARD_ERROR_PREFIX):
                continue
            target = name if name in self.fields else None
            for message in messages:
                problem_add(self, target, message)

    def errors_live(self, *, new: bool) -> list[tuple[str, list[str]]]:
        """(field's html name, its errors) for every field the composer shows, and ("form",
        the rest): what the live preview puts beside each field, clearing the ones fixed.

        On a campaign not saved yet a field left empty is not a mistake yet: the page has just
        opened. Its errors show once the draft is saved (and at once for what is typed)."""
        shown = []
        for field in self.visible_fields():
            errors = list(field.errors)
            if new and field.value() in (None, "", [], ()):
                errors = []
            shown.append((field.html_name, errors))
        shown.append(("form", [] if new else list(self.non_field_errors())))
        return shown


def problem_add(form: forms.BaseForm, field: str | None, message: str | list[str]) -> None:
    """form.add_error, also on an unbound form: a saved draft opened again shows what stops it
    beside the fields before anything is typed. add_error tidies cleaned_data, which only a
    bound form has until now."""
    if not form.is_bound and not hasattr(form, "cleaned_data"):
        form.cleaned_data = {}
    form.add_error(field, message)


def _list_label(contact_list: ContactList) -> str:
    if contact_list.is_linked_to_bsg:
        return _("%(name)s · BSG group") % {"name": contact_list.name}
    return contact_list.name


class SmsCampaignForm(_CampaignForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "sms_mode",
            "pasted_numbers",
            "text",
            "missing_values",
            "sender",
            "validity_hours",
            "tariff_code",
            "bsg_schedules",
        ]
        labels = {
            "name": NAME_LABEL,
            "text": gettext_lazy("Text"),
            "sender": gettext_lazy("Sender"),
            "missing_values": gettext_lazy("Recipients missing a value"),
            "sms_mode": gettext_lazy("Send to"),
            "pasted_numbers": gettext_lazy("Phone numbers"),
            "validity_hours": gettext_lazy("Validity (hours)"),
            "tariff_code": gettext_lazy("Tariff"),
            "bsg_schedules": gettext_lazy("Let BSG schedule it (at most 30 days ahead)"),
        }
        help_texts = {
            "sms_mode": gettext_lazy(
                "Personalised here: each recipient's text is filled in from their contact "
                "details before it leaves. Contact-book groups: BSG fills it in from its own "
                "copy of the lists."
            ),
            "validity_hours": VALIDITY_HELP,
            "tariff_code": TARIFF_HELP,
            "bsg_schedules": BSG_SCHEDULES_HELP,
            "pasted_numbers": gettext_lazy(
                "One per line, or separated by commas. Add a BSG reference id with “= ref”, "
                "e.g. +380 50 123 4567 = order42."
            ),
            "text": TEXT_HELP,
            "missing_values": gettext_lazy(
                "For placeholders without a fallback; {city|your city} always uses its own."
            ),
        }
        widgets = {
            "sms_mode": forms.RadioSelect,
            "missing_values": forms.RadioSelect,
            "pasted_numbers": forms.Textarea(attrs={"rows": 4}),
            "text": forms.Textarea(attrs={"rows": 5, "data-sms-counter": ""}),
            "sender": forms.TextInput(attrs={"list": "saved-senders", "autocomplete": "off"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sms_mode"].required = False
        # A radio list needs no empty "---------" choice: an unset mode means the default one.
        self.fields["sms_mode"].choices = list(Campaign.SMS_MODE_WORDS.items())
        self.fields["missing_values"].required = False
        self.fields["missing_values"].choices = Campaign.MissingValues.choices
        for name in ("validity_hours", "tariff_code"):
            self.fields[name].required = False

    def clean_sms_mode(self) -> str:
        return self.cleaned_data.get("sms_mode") or Campaign.SmsMode.INDIVIDUAL

    def clean_missing_values(self) -> str:
        return self.cleaned_data.get("missing_values") or Campaign.MissingValues.FALLBACK

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sms_mode") == Campaign.SmsMode.NUMBERS:
            parsed = selectors.pasted_numbers_parse(text=cleaned.get("pasted_numbers") or "")
            problems = selectors.pasted_reference_problems(
                parsed=parsed, campaign_id=self.instance.pk
            )
            for message in problems:
                self.add_error("pasted_numbers", message)
        return cleaned

    def clean_validity_hours(self) -> int:
        value = self.cleaned_data.get("validity_hours")
        return 72 if value is None else value

    def clean_tariff_code(self) -> int:
        value = self.cleaned_data.get("tariff_code")
        return 0 if value is None else value

    def apply(self) -> tuple[Campaign, list[int]]:
        campaign, list_ids = super().apply()
        campaign.channel = Campaign.Channel.SMS
        if campaign.sms_mode == Campaign.SmsMode.NUMBERS:
            list_ids = []
        return campaign, list_ids


class RcsCampaignForm(_CampaignForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "rcs_mode",
            "rcs_agent",
            "validity_hours",
            "tariff_code",
            "bsg_schedules",
            "rcs_check_stop_list",
            "fallback_enabled",
            "fallback_text",
            "fallback_sender",
            "fallback_validity_hours",
        ]
        labels = {
            "name": NAME_LABEL,
            "rcs_mode": gettext_lazy("Send to"),
            "rcs_agent": gettext_lazy("RCS agent name"),
            "validity_hours": gettext_lazy("Validity (hours)"),
            "tariff_code": gettext_lazy("Tariff"),
            "bsg_schedules": gettext_lazy("Let BSG schedule it (until the end of the 30th day)"),
            "rcs_check_stop_list": gettext_lazy("Skip numbers on the RCS stop list"),
            "fallback_enabled": gettext_lazy(
                "Send an SMS when the RCS message cannot be delivered"
            ),
            "fallback_text": gettext_lazy("SMS fallback text"),
            "fallback_sender": gettext_lazy("SMS fallback sender"),
            "fallback_validity_hours": gettext_lazy("SMS fallback validity (hours)"),
        }
        help_texts = {
            "validity_hours": VALIDITY_HELP,
            "tariff_code": TARIFF_HELP,
            "bsg_schedules": BSG_SCHEDULES_HELP,
            "rcs_check_stop_list": gettext_lazy(
                "Numbers whose owners told BSG they want no RCS messages are left out."
            ),
            # What each choice means for the people on the lists, in the composer's words.
            "fallback_text": gettext_lazy(
                "To contact lists it takes placeholders, as an SMS does: {first_name}, "
                "{city|your city}. To BSG groups it goes to everyone as typed."
            ),
            "rcs_mode": gettext_lazy(
                "To contact lists: sent from here to your lists' numbers, leaving out "
                "do-not-contact numbers; big audiences go out in batches of 5,000. To BSG "
                "contact-book groups: BSG sends to each list's linked group as its contact book "
                "holds it, at most 5,000 contacts, and no list may hold a do-not-contact number."
            ),
        }
        widgets = {
            "rcs_mode": forms.RadioSelect,
            "fallback_text": forms.Textarea(attrs={"rows": 4, "data-sms-counter": ""}),
            "fallback_sender": forms.TextInput(
                attrs={"list": "saved-senders", "autocomplete": "off"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("validity_hours", "tariff_code", "fallback_validity_hours"):
            self.fields[name].required = False
        self.fields["rcs_mode"].required = False
        # A radio list needs no empty "---------" choice: an unset mode means to the lists.
        self.fields["rcs_mode"].choices = Campaign.RcsMode.choices
        if not self.instance.rcs_mode:
            self.initial.setdefault("rcs_mode", Campaign.RcsMode.LISTS)

    def clean_rcs_mode(self) -> str:
        return self.cleaned_data.get("rcs_mode") or Campaign.RcsMode.LISTS

    def clean_validity_hours(self) -> int:
        value = self.cleaned_data.get("validity_hours")
        return 72 if value is None else value

    def clean_fallback_validity_hours(self) -> int:
        value = self.cleaned_data.get("fallback_validity_hours")
        return 72 if value is None else value

    def clean_tariff_code(self) -> int:
        value = self.cleaned_data.get("tariff_code")
        return 0 if value is None else value

    def apply_with_cards(self, card_forms: CardFormSet) -> tuple[Campaign, list[int]]:
        campaign, list_ids = super().apply()
        campaign.channel = Campaign.Channel.RCS
        campaign.sms_mode = ""
        campaign.rcs_cards = card_forms.cards()
        return campaign, list_ids


class CardForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), required=False, strip=True)
    text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "To contact lists the title and text take placeholders, as an SMS does: "
            "{first_name}, {city|your city}."
        ),
    )
    media_url = forms.CharField(required=False, label=gettext_lazy("Media URL"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number in range(1, SUGGESTION_SLOTS + 1):
            self.fields[f"suggestion_{number}_label"] = forms.CharField(
                required=False, label=_("Button %(number)s label") % {"number": number}
            )
            self.fields[f"suggestion_{number}_target"] = forms.CharField(
                required=False, label=_("Button %(number)s link or phone") % {"number": number}
            )

    def suggestion_rows(self):
        return [
            (self[f"suggestion_{n}_label"], self[f"suggestion_{n}_target"], f"suggestion_{n}")
            for n in range(1, SUGGESTION_SLOTS + 1)
        ]

    def card(self) -> dict | None:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        card: dict = {}
        for name in ("title", "text", "media_url"):
            if data.get(name):
                card[name] = data[name]
        suggestions = []
        for number in range(1, SUGGESTION_SLOTS + 1):
            label = (data.get(f"suggestion_{number}_label") or "").strip()
            target = (data.get(f"suggestion_{number}_target") or "").strip()
            if label or target:
                suggestions.append(checks.rcs_suggestion_parse(label=label, target=target))
        if suggestions:
            card["suggestions"] = suggestions
        return card or None


def card_initial(card: dict) -> dict:
    initial = {name: card.get(name, "") for name in ("title", "text", "media_url")}
    for number, suggestion in enumerate(card.get("suggestions") or [], start=1):
        initial[f"suggestion_{number}_label"] = suggestion.get("text", "")
        initial[f"suggestion_{number}_target"] = suggestion.get("url") or suggestion.get(
            "phone", ""
        )
    return initial


class _BaseCardFormSet(forms.BaseFormSet):
    def cards(self) -> list[dict]:
        return [card for form in self.forms if (card := form.card()) is not None]

    def show_problems(self, refusal: forms.ValidationError) -> None:
        """Card errors next to their fields; card indexes count only non-empty cards (on a
        saved draft opened again, the cards it holds)."""
        if not hasattr(refusal, "error_dict"):
            return
        if self.is_bound:
            filled = [form for form in self.forms if form.card() is not None]
        else:
            filled = [form for form in self.forms if any(form.initial.values())]
        for key, messages in refusal.message_dict.items():
            if not key.startswith(checks.CARD_ERROR_PREFIX):
                continue
            index_text, name = key.removeprefix(checks.CARD_ERROR_PREFIX).split("-", 1)
            if int(index_text) >= len(filled):
                continue
            form = filled[int(index_text)]
            target = f"{name}_target" if name.startswith("suggestion_") else name
            target = target if target in form.fields else None
            for message in messages:
                # Beside the card's own field the "Card N:" that the flash message needs is noise.
                problem_add(form, target, message.split(": ", 1)[-1])

    def errors_live(self) -> list[tuple[str, list[str]]]:
        """(field's html name, its errors) for every field of every card, for the live preview
        (a card's errors come only from what was typed in it)."""
        return [
            (field.html_name, list(field.errors))
            for form in self.forms
            for field in form.visible_fields()
        ]


# No blank card on every save: a new campaign starts with one card (card_initials), and
# "Add card" adds the next (static/js/composer.js, or CardEditForm without JavaScript).
CardFormSet = forms.formset_factory(
    CardForm, formset=_BaseCardFormSet, extra=0, max_num=rules.MAX_RCS_CARDS
)
CARD_PREFIX = "card"


def card_initials(cards: list[dict]) -> list[dict]:
    """The card editor's first cards: the saved ones, or one empty card to start with."""
    return [card_initial(card) for card in cards] or [{}]


class CardEditForm(forms.Form):
    """The card editor's buttons without JavaScript: `card_edit` is "add", or "remove",
    "up" or "down" with the card's index ("up:2"). They post the whole form; the page comes
    back with the cards rearranged and everything typed kept, nothing saved."""

    card_edit = forms.RegexField(regex=r"^(add|(remove|up|down):\d{1,2})$", required=False)

    def rearranged(self, data: QueryDict) -> QueryDict:
        """The posted form data with the card forms rearranged as asked."""
        prefix = f"{CARD_PREFIX}-"
        try:
            total = min(int(data.get(f"{prefix}TOTAL_FORMS", 0)), rules.MAX_RCS_CARDS + 1)
        except ValueError:
            total = 0
        fields = list(CardForm().fields)
        cards = [
            {name: data.get(f"{prefix}{i}-{name}", "") for name in fields} for i in range(total)
        ]
        action, _colon, index_text = (self.cleaned_data.get("card_edit") or "").partition(":")
        index = int(index_text) if index_text else -1
        if action == "add" and len(cards) < rules.MAX_RCS_CARDS:
            cards.append({name: "" for name in fields})
        elif action == "remove" and 0 <= index < len(cards):
            cards.pop(index)
        elif action == "up" and 0 < index < len(cards):
            cards[index - 1], cards[index] = cards[index], cards[index - 1]
        elif action == "down" and 0 <= index < len(cards) - 1:
            cards[index], cards[index + 1] = cards[index + 1], cards[index]
        arranged = QueryDict(mutable=True)
        for key in data:
            if not key.startswith(prefix) and key != "card_edit":
                arranged.setlist(key, data.getlist(key))
        arranged[f"{prefix}TOTAL_FORMS"] = str(len(cards))
        arranged[f"{prefix}INITIAL_FORMS"] = "0"
        for i, card in enumerate(cards):
            for name, value in card.items():
                arranged[f"{prefix}{i}-{name}"] = value
        return arranged


class MessageTemplateForm(forms.ModelForm):
    """A saved message template's words; its RCS cards come from a CardFormSet beside it. The
    checks are campaigns.message_templates.message_template_check's, shown beside each field."""

    class Meta:
        model = MessageTemplate
        fields = ["name", "channel", "text", "fallback_text"]
        labels = {
            "name": NAME_LABEL,
            "channel": gettext_lazy("Channel"),
            "text": gettext_lazy("SMS text"),
            "fallback_text": gettext_lazy("SMS fallback text (optional)"),
        }
        help_texts = {
            "text": TEXT_HELP,
            "fallback_text": gettext_lazy("Sent as an SMS to whoever cannot get RCS."),
        }
        widgets = {
            "channel": forms.RadioSelect,
            "text": forms.Textarea(attrs={"rows": 5, "data-sms-counter": ""}),
            "fallback_text": forms.Textarea(attrs={"rows": 4, "data-sms-counter": ""}),
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # A radio list needs no empty "---------" choice.
        self.fields["channel"].choices = Campaign.Channel.choices

    def apply_with_cards(self, card_forms: CardFormSet) -> MessageTemplate:
        """The template with the typed words (not saved); cards only for RCS."""
        template = self.save(commit=False)
        template.rcs_cards = card_forms.cards() if template.is_rcs else []
        return template

    def as_typed(self) -> tuple[Campaign, list[int]]:
        """The campaign as typed so far, for a preview: every valid field on the instance (not
        saved), a field with an error as it was; and the lists chosen."""
        self.is_valid()  # the ModelForm puts the valid fields on the instance
        campaign = self.instance
        if "lists" in self.errors:
            list_ids = selectors.campaign_list_ids(campaign=campaign)
        else:
            list_ids = sorted(c.id for c in self.cleaned_data.get("lists") or [])
        if campaign.is_sms and campaign.sms_mode == Campaign.SmsMode.NUMBERS:
            list_ids = []
        return campaign, list_ids

    def show_problems(self, refusal: forms.ValidationError) -> None:
        """A service's refusal beside the fields it names (RCS cards' go to the card forms)."""
        for name, messages in refusal.message_dict.items():
            if name.startswith(checks.CARD_ERROR_PREFIX):
                continue
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)


class TestSendForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("Phone number"), max_length=40)
    contact_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    contact_phone = forms.CharField(
        required=False,
        label=gettext_lazy("Render as contact (phone)"),
        help_text=gettext_lazy("Optional: the contact whose fields fill the placeholders."),
    )

    __test__ = False


class ScheduleForm(forms.Form):
    """A new recurring campaign: the campaign each run copies, and when, as a preset ("every
    Monday at 09:00") or, under "Advanced", as cron fields.

    A preset becomes cron fields here (campaigns.schedule_timing.preset_cron): the service
    takes cron fields (campaigns.engine.schedules.schedule_create). Each cron field is checked
    on its own so its error, in words, shows beside it; the rest (a campaign that sends to
    lists, four-eyes) is the service's. A request without `repeat` (older pages, scripts)
    means the cron fields as sent."""

    name = forms.CharField(label=NAME_LABEL, max_length=200)
    template = forms.TypedChoiceField(label=gettext_lazy("Campaign to copy each run"), coerce=int)
    repeat = forms.ChoiceField(
        label=gettext_lazy("Repeat"),
        choices=[*schedule_timing.PRESET_CHOICES, schedule_timing.CRON_CHOICE],
        required=False,
        initial=schedule_timing.DAILY,
        widget=forms.RadioSelect,
    )
    weekday = forms.ChoiceField(
        label=gettext_lazy("Day of the week"),
        choices=schedule_timing.WEEKDAY_CHOICES,
        required=False,
        initial="1",
        help_text=gettext_lazy("For “every week”."),
    )
    at = forms.TimeField(
        label=gettext_lazy("At"),
        required=False,
        initial="09:00",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": gettext_lazy("Write the time of day as hh:mm, such as 09:00.")},
    )
    minute = forms.CharField(
        label=gettext_lazy("Minute (0-59)"), max_length=64, required=False, initial="0"
    )
    hour = forms.CharField(
        label=gettext_lazy("Hour (0-23)"), max_length=64, required=False, initial="9"
    )
    day_of_week = forms.CharField(
        label=gettext_lazy("Day of week (0 = Sunday … 6 = Saturday)"),
        max_length=64,
        required=False,
        initial="*",
    )
    day_of_month = forms.CharField(
        label=gettext_lazy("Day of month (1-31)"), max_length=64, required=False, initial="*"
    )
    month_of_year = forms.CharField(
        label=gettext_lazy("Month (1-12)"), max_length=64, required=False, initial="*"
    )
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Europe/Kyiv"}),
    )
    frequency_cap_days = forms.IntegerField(
        label=gettext_lazy(
            "Frequency cap: skip recipients this schedule messaged in the last N days (optional)"
        ),
        required=False,
        min_value=1,
        max_value=32767,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    CRON_FIELDS = schedule_timing.CRON_FIELDS

    def __init__(self, *args, templates: list[Campaign], **kwargs) -> None:
        # Labels read like the rest of the app's, without Django's trailing colon.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # Typed as the person reads the clock: empty is their own zone (accounts.middleware).
        self.fields["time_zone"].help_text = _("Empty means your time zone, %(zone)s.") % {
            "zone": timezone.get_current_timezone_name()
        }
        self.fields["template"].choices = [
            (c.pk, f"{c.name} ({c.get_status_display().lower()})") for c in templates
        ]

    def clean_repeat(self) -> str:
        return self.cleaned_data.get("repeat") or schedule_timing.CRON

    @property
    def uses_cron(self) -> bool:
        """The "Advanced" disclosure opens on the cron fields when they are in use."""
        return (self["repeat"].value() or schedule_timing.CRON) == schedule_timing.CRON

    def clean(self) -> dict:
        data = super().clean()
        if data.get("repeat") == schedule_timing.CRON:
            for name in self.CRON_FIELDS:
                value = (data.get(name) or "").strip()
                problem = schedule_timing.cron_field_error(name, value) if value else None
                if problem:
                    self.add_error(name, problem)
        elif data.get("repeat") and "at" not in self.errors and data.get("at") is None:
            self.add_error("at", _("Choose the time of day it runs, such as 09:00."))
        zone = (data.get("time_zone") or "").strip()
        if zone and not time_zone_known(zone):
            self.add_error("time_zone", schedule_timing.UNKNOWN_TIME_ZONE)
        return data

    def schedule(self) -> dict:
        """The keyword arguments of campaigns.engine.schedules.schedule_create."""
        data = self.cleaned_data
        if data["repeat"] == schedule_timing.CRON:
            cron = {name: data.get(name) or "" for name in self.CRON_FIELDS}
        else:
            cron = schedule_timing.preset_cron(
                preset=data["repeat"], at=data["at"], weekday=data.get("weekday") or "1"
            )
        return {
            "name": data["name"],
            "template_id": data["template"],
            **cron,
            "time_zone": (data.get("time_zone") or "").strip()
            or timezone.get_current_timezone_name(),
            "frequency_cap_days": data.get("frequency_cap_days"),
        }


# --- the small forms behind buttons and polls: each names what it takes and refuses the rest --


class LiveRowsForm(forms.Form):
    """The campaigns page's poll for its active rows: `ids`, campaign ids separated by commas."""

    ids = forms.CharField(required=False, max_length=2_000)

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data["ids"]
        ids = [int(part) for part in raw.split(",") if part.isdigit()][: dashboard.LIVE_ROWS_MAX]
        if raw and not ids:
            raise forms.ValidationError(_("ids must be campaign ids separated by commas."))
        return ids


class PartsPollForm(forms.Form):
    """The parts panel's poll: `shown`, the status the page was drawn with (if it says)."""

    shown = forms.ChoiceField(choices=Campaign.Status.choices, required=False)


class PlanPanelForm(forms.Form):
    """The send plan panel's query: `page=composer` when it sits in the composer, whose Send
    buttons then follow the plan (out of band)."""

    page = forms.ChoiceField(choices=[("composer", gettext_lazy("The composer"))], required=False)


class DetailForm(forms.Form):
    """The detail page's query: `stop=confirm` is the Stop link without JavaScript."""

    stop = forms.ChoiceField(choices=[("confirm", gettext_lazy("Confirm"))], required=False)


class ApprovalRequestForm(forms.Form):
    """Ask for approval to send as soon as approved, or at the campaign's start time."""

    intent = forms.ChoiceField(
        choices=[
            ("send", gettext_lazy("Send when approved")),
            ("schedule", gettext_lazy("Send at its start time")),
        ],
        required=False,
    )


class ApproveForm(forms.Form):
    # The fingerprint of what the approver was shown (selectors.campaign_approval_fingerprint).
    seen = forms.CharField(required=False, max_length=128)


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=2_000,
        error_messages={
            "required": gettext_lazy(
                "Say why you are sending it back, so its author knows what to change."
            )
        },
    )


class SchedulePauseForm(forms.Form):
    paused = forms.TypedChoiceField(
        choices=[("1", gettext_lazy("Pause")), ("0", gettext_lazy("Resume"))],
        coerce=lambda value: value == "1",
    )


class PreviewTargetForm(forms.Form):
    """Which composer the live preview is for: the channel, and the campaign being edited."""

    channel = forms.ChoiceField(choices=Campaign.Channel.choices, required=False)
    campaign_id = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class RecipientPreviewForm(forms.Form):
    """The preview for one recipient: the contact shown, the button pressed, a search, or a
    contact chosen from the search's matches. A bad value is said beside it and the preview
    falls back to the first recipient."""

    _BAD_CONTACT = gettext_lazy("That recipient link is not valid; here is the first recipient.")

    contact = CursorField(
        recipient_preview.RECIPIENT_KEYSET, error_messages={"invalid": _BAD_CONTACT}
    )
    choose = CursorField(
        recipient_preview.RECIPIENT_KEYSET, error_messages={"invalid": _BAD_CONTACT}
    )
    step = forms.ChoiceField(
        choices=recipient_preview.STEPS,
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy("That button is not known here; nothing was moved.")
        },
    )
    search = forms.CharField(
        required=False,
        max_length=100,
        error_messages={
            "max_length": gettext_lazy("Search for at most %(limit_value)d characters."),
            "null_characters_not_allowed": gettext_lazy("Type letters or digits to search."),
        },
    )

    def asked(self) -> dict:
        """What to show, from the fields that are valid (keyword arguments of
        recipient_preview.recipient_preview)."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "contact_id": (data.get("contact") or (None,))[0],
            "choose": (data.get("choose") or (None,))[0],
            "step": data.get("step") or "",
            "search": data.get("search") or "",
        }


class ComposeActionForm(forms.Form):
    """The composer's button: save the draft, compute its plan, send it now or schedule it."""

    action = forms.ChoiceField(
        choices=[
            ("save", gettext_lazy("Save")),
            ("plan", gettext_lazy("Plan")),
            ("send", gettext_lazy("Send")),
            ("schedule", gettext_lazy("Schedule")),
        ],
        required=False,
    )
