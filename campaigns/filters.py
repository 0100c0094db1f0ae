"""The dashboard's filter forms: what a campaigns or recipients page was asked for, checked.

A bad value (a status that does not exist, a date range backwards, a page link that was
edited by hand) is refused with a sentence saying which, never silently ignored.
"""

from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.functional import cached_property, lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.choices import ListChoiceField
from config.paging import CursorField, PagedForm

from . import dashboard
from .bsg_words import MESSAGE_STATUS_WORDS
from .models import Campaign

# The days a filter can turn into the start of a day in the user's time zone, and the start of
# the next day: year 1 and 9999 overflow on the way. No campaign is older than this tool.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def _out_of_range() -> str:
    return _("Pick a day from %(first)s to %(last)s.") % {
        "first": f"{FIRST_DAY:%Y}",
        "last": f"{LAST_DAY:%Y}",
    }


class DayField(forms.DateField):
    def __init__(self, **kwargs) -> None:
        # Said when it is refused, in the language of whoever is refused.
        out_of_range = lazy(_out_of_range, str)()
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(
            validators=[
                MinValueValidator(FIRST_DAY, message=out_of_range),
                MaxValueValidator(LAST_DAY, message=out_of_range),
            ],
            **kwargs,
        )


class CampaignFilterForm(PagedForm):
    q = forms.CharField(
        label=gettext_lazy("Name contains"), required=False, max_length=200, strip=True
    )
    status = ListChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *Campaign.Status.choices],
        refused=gettext_lazy("That status does not exist. Pick a status from the list."),
    )
    channel = ListChoiceField(
        label=gettext_lazy("Channel"),
        required=False,
        choices=[("", gettext_lazy("SMS and RCS")), *Campaign.Channel.choices],
        refused=gettext_lazy("That channel does not exist. Pick a channel from the list."),
    )
    sender = forms.CharField(
        label=gettext_lazy("Sender"), required=False, max_length=40, strip=True
    )
    created_from = DayField(label=gettext_lazy("Created from"))
    created_to = DayField(label=gettext_lazy("Created to"))
    archived = forms.BooleanField(label=gettext_lazy("Show archived"), required=False)
    after = CursorField(dashboard.CAMPAIGN_KEYSET)
    before = CursorField(dashboard.CAMPAIGN_KEYSET)

    # campaigns/list.html writes its inputs out (Django's form renderer cost 1.2-1.9 ms of CPU a
    # list request) and reads them from these three, in which every field has an entry: a name
    # missing from form.data or form.errors cost the template a failed lookup each time (an
    # exception and a dir() of the QueryDict), 30-odd times a request.

    @cached_property
    def typed(self) -> dict[str, str]:
        """What was asked in each input as it was typed (form.data), "" for nothing."""
        return {name: self.data.get(name) or "" for name in self.fields}

    @cached_property
    def field_errors(self) -> dict[str, list[str]]:
        """Each field's errors, [] for none."""
        return {name: self.errors.get(name, []) for name in self.fields}

    @cached_property
    def options(self) -> dict[str, list[tuple[str, str, bool]]]:
        """The choices of the status and channel selects: value, label, and whether asked."""
        return {
            name: [
                (value, label, value == self.typed[name])
                for value, label in self.fields[name].choices
            ]
            for name in ("status", "channel")
        }

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dashboard.CampaignFilters:
        data = self.cleaned_data
        return dashboard.CampaignFilters(
            status=data.get("status") or "",
            channel=data.get("channel") or "",
            sender=data.get("sender") or "",
            search=data.get("q") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            archived=bool(data.get("archived")),
        )


NO_REPORT = "none"
# BSG's message statuses (dashboard.RECIPIENT_STATUSES), as the filter names them.
RECIPIENT_STATUS_LABELS = MESSAGE_STATUS_WORDS


class RecipientFilterForm(PagedForm):
    status = ListChoiceField(
        label=gettext_lazy("Message status"),
        refused=gettext_lazy(
            "That message status does not exist. Pick a message status from the list."
        ),
        required=False,
        choices=[
            ("", gettext_lazy("Any status")),
            (NO_REPORT, gettext_lazy("No report yet")),
            *[
                (status, RECIPIENT_STATUS_LABELS.get(status, status.capitalize()))
                for status in dashboard.RECIPIENT_STATUSES
            ],
        ],
    )
    after = CursorField(dashboard.RECIPIENT_KEYSET)
    before = CursorField(dashboard.RECIPIENT_KEYSET)

    @property
    def status_value(self) -> str | None:
        """The ledger's status to filter on: "" for no report yet, None for any."""
        status = self.cleaned_data.get("status") or ""
        if not status:
            return None
        return "" if status == NO_REPORT else status
