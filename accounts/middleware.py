"""Each signed-in person's language and time zone, on every request (accounts.AccountSettings)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from .selectors import account_choices_of


class AccountLanguageMiddleware:
    """After AuthenticationMiddleware: a signed-in person who chose a language gets it, whatever
    their browser asks for. Everyone else keeps what django.middleware.locale.LocaleMiddleware
    (earlier in settings.MIDDLEWARE) found: the language cookie the switcher sets, else the
    browser's Accept-Language, else settings.LANGUAGE_CODE.

    Their time zone, too: Django shows every aware datetime a template renders in the active
    zone, and the composer reads typed times in it. Deactivated for everyone else and after
    each response, so a thread that served a person in Kyiv goes on in settings.TIME_ZONE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = account_choices_of(user=request.user)
        if chosen.language is not None:
            translation.activate(chosen.language)
            request.LANGUAGE_CODE = chosen.language
        if chosen.time_zone is not None:
            timezone.activate(chosen.time_zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # The thread's next work (a test's own code, say) is not read in their zone. A
            # streaming response's rows are written after this (CSV exports: ISO times with
            # their offset, the same in any zone).
            timezone.deactivate()
