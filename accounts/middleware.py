"""Each signed-in person's language, on every request (accounts.LanguageChoice)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .selectors import account_language


class AccountLanguageMiddleware:
    """After AuthenticationMiddleware: a signed-in person who chose a language gets it, whatever
    their browser asks for. Everyone else keeps what django.middleware.locale.LocaleMiddleware
    (earlier in settings.MIDDLEWARE) found: the language cookie the switcher sets, else the
    browser's Accept-Language, else settings.LANGUAGE_CODE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = account_language(user=request.user)
        if language is not None:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
