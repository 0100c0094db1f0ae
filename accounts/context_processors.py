"""What every page's header needs of the accounts app."""

from __future__ import annotations

from django.http import HttpRequest

from .forms import LanguageForm

NEXT_MAX_LENGTH = LanguageForm.base_fields["next"].max_length or 0


def language_switch(request: HttpRequest) -> dict[str, str]:
    """`language_next`: the page the language switcher comes back to. A query longer than the
    switcher accepts (a hand-edited link with a 100,000-character filter) is left out: the
    switcher would refuse it, and every page would carry it once more in its header."""
    full = request.get_full_path()
    return {"language_next": full if len(full) <= NEXT_MAX_LENGTH else request.path}
