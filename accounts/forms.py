from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _


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
