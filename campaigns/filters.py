"""The dashboard's filter forms: what a campaigns or recipients page was asked for, checked.

A bad value (a status that does not exist, a date range backwards, a page link that was
edited by hand) is refused with a sentence saying which, never silently ignored.
"""

from django import forms

from config.paging import CursorField, PagedForm

from . import dashboard
from .models import Campaign


class CampaignFilterForm(PagedForm):
    q = forms.CharField(label="Name contains", required=False, max_length=200, strip=True)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Campaign.Status.choices]
    )
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "SMS and RCS"), *Campaign.Channel.choices]
    )
    sender = forms.CharField(label="Sender", required=False, max_length=40, strip=True)
    created_from = forms.DateField(
        label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    archived = forms.BooleanField(label="Show archived", required=False)
    after = CursorField(dashboard.CAMPAIGN_KEYSET)
    before = CursorField(dashboard.CAMPAIGN_KEYSET)

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end date is before the start date.")
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


class RecipientFilterForm(PagedForm):
    status = forms.ChoiceField(
        label="Message status",
        required=False,
        choices=[
            ("", "Any status"),
            (NO_REPORT, "No report yet"),
            *[(status, status.capitalize()) for status in dashboard.RECIPIENT_STATUSES],
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
