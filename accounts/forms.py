from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from config.choices import ListChoiceField

from .models import language_choices
from .selectors import time_zone_choices, time_zone_known
from .time_zones import time_zone_canonical


class LanguageForm(forms.Form):
    """The header's language switcher: which language, and the page to go back to."""

    language = forms.CharField(
        label=_("Language"), error_messages={"required": _("Choose a language.")}
    )
    # Checked against this site's own host before it is followed (accounts.views).
    next = forms.CharField(required=False, max_length=2000)

    def clean_language(self) -> str:
        language = self.cleaned_data["language"]
        offered = dict(settings.LANGUAGES)
        if language not in offered:
            raise forms.ValidationError(
                _("The interface is not offered in “%(value)s”. Choose one of: %(offered)s."),
                code="invalid_choice",
                params={
                    "value": Truncator(language).chars(20),
                    # Each language named in its own language, as the switcher shows them.
                    "offered": ", ".join(offered.values()),
                },
            )
        return language


class TimeZoneField(ListChoiceField):
    """A zone from the curated list (accounts.selectors.time_zone_choices). An old name of a
    listed zone, sent by a page from before the list was curated, reads as that zone
    (Europe/Kiev as Europe/Kyiv) rather than as a wrong choice."""

    def to_python(self, value: Any) -> str:
        return time_zone_canonical(super().to_python(value))


class AccountSettingsForm(forms.Form):
    """ "Your settings": the interface's language and the time zone times are shown and typed in.

    Opened with what the person reads now (their choices, else their browser's language and
    settings.TIME_ZONE); accounts.views keeps only what they changed."""

    language = forms.ChoiceField(label=_("Language"), choices=language_choices)
    time_zone = TimeZoneField(
        label=_("Time zone"),
        help_text=_(
            "Times on every page are shown in this zone, and start times you type are read in "
            "it. Where a campaign's recipients live is set on the campaign (“Recipients' time "
            "zone”)."
        ),
        refused=_("That is not a time zone we know. Pick a time zone from the list."),
        error_messages={"required": _("Choose a time zone.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The zone the person has now shows chosen: an old name as its zone today (Europe/Kiev
        # as Kyiv), and one the list leaves out (a saved Etc/GMT+5) as an extra choice. Saved
        # unchanged, neither is written over (accounts.views keeps only what changed).
        current = time_zone_canonical(self.initial.get("time_zone") or "")
        if current:
            self.initial = {**self.initial, "time_zone": current}
        self.fields["time_zone"].choices = time_zone_choices(keep=current)

    def clean_time_zone(self) -> str:
        # The choices are zoneinfo's own names; this guards a name it lost since they were read.
        name = self.cleaned_data["time_zone"]
        if not time_zone_known(name):
            raise forms.ValidationError(
                self.fields["time_zone"].error_messages["invalid_choice"], code="invalid_choice"
            )
        return name
