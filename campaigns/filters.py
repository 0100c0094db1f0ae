"""The dashboard's filter forms: what a campaigns or recipients page was asked for, checked.

A bad value (a status that does not exist, a date range backwards, a page link that was
edited by hand) is refused with a sentence saying which, never silently ignored.
"""

from django import forms

from . import selectors
from .models import Campaign

BAD_PAGE_LINK = "That page link is not valid; start again from the first page."


class CampaignFilterForm(forms.Form):
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
    after = forms.CharField(required=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def _cursor(self, name: str) -> selectors.Cursor | None:
        text = self.cleaned_data.get(name) or ""
        if not text:
            return None
        try:
            return selectors.Cursor.parse(text)
        except ValueError:
            raise forms.ValidationError(BAD_PAGE_LINK) from None

    def clean_after(self) -> selectors.Cursor | None:
        return self._cursor("after")

    def clean_before(self) -> selectors.Cursor | None:
        return self._cursor("before")

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end date is before the start date.")
        if data.get("after") and data.get("before"):
            raise forms.ValidationError(BAD_PAGE_LINK)
        return data

    def filters(self) -> selectors.CampaignFilters:
        data = self.cleaned_data
        return selectors.CampaignFilters(
            status=data.get("status") or "",
            channel=data.get("channel") or "",
            sender=data.get("sender") or "",
            search=data.get("q") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
        )


NO_REPORT = "none"


class RecipientFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Message status",
        required=False,
        choices=[
            ("", "Any status"),
            (NO_REPORT, "No report yet"),
            *[(status, status.capitalize()) for status in selectors.RECIPIENT_STATUSES],
        ],
    )
    # seq is a PositiveIntegerField: anything beyond it is a hand-edited link.
    after = forms.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput
    )
    before = forms.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("after") is not None and data.get("before") is not None:
            raise forms.ValidationError(BAD_PAGE_LINK)
        return data

    @property
    def status_value(self) -> str | None:
        """The ledger's status to filter on: "" for no report yet, None for any."""
        status = self.cleaned_data.get("status") or ""
        if not status:
            return None
        return "" if status == NO_REPORT else status
