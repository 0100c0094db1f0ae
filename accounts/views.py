"""The language switcher in every page's header (templates/base.html), "Your settings", and the
smallest signed-in page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .forms import AccountSettingsForm, LanguageForm
from .selectors import account_choices_of, time_zone_said
from .services import account_settings_update
from .time_zones import time_zone_canonical


@login_not_required  # the log-in page offers it too
@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Signed in, the choice is kept on the account (every later request and every device
    follows it); signed in or not, it is also kept in Django's language cookie, which the log-in
    page reads (LocaleMiddleware) once they have signed out."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return render(request, "accounts/language_refused.html", {"form": form}, status=400)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        account_settings_update(user=request.user, language=language)
    translation.activate(language)
    response = HttpResponseRedirect(_back_to(request, form.cleaned_data["next"]))
    _language_cookie_set(response, language)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    """ "Your settings": language and time zone, each kept on the account (and audited) only
    when changed, so opening the page and saving it as it reads pins nothing new."""
    initial = {"language": translation.get_language(), "time_zone": _current_zone_name()}
    if request.method != "POST":
        return _settings_page(request, AccountSettingsForm(initial=initial))
    form = AccountSettingsForm(request.POST, initial=initial)
    if not form.is_valid():
        return _settings_page(request, form)
    changed = {name: form.cleaned_data[name] for name in form.changed_data}
    if changed:
        account_settings_update(
            user=request.user, language=changed.get("language"), time_zone=changed.get("time_zone")
        )
    if "language" in changed:
        translation.activate(changed["language"])
    messages.success(request, _("Your settings are saved."))
    response = HttpResponseRedirect(reverse("accounts:settings"))
    if "language" in changed:
        _language_cookie_set(response, changed["language"])
    return response


def _current_zone_name() -> str:
    """The IANA name of the zone this request runs in (accounts.middleware activated it).

    Not timezone.get_current_timezone_name(): for a fixed-offset zone it gives the
    abbreviation ("-05" for Etc/GMT+5), which is no zone's name."""
    zone = timezone.get_current_timezone()
    return getattr(zone, "key", None) or timezone.get_current_timezone_name()


def _settings_page(request: HttpRequest, form: AccountSettingsForm) -> HttpResponse:
    # "It is now 7 December 2026, 12:35 (Kyiv, UTC+02:00).": the moment in the person's zone
    # (settings.TIME_ZONE until they choose one, which the page then says), written out in their
    # language, and the zone's offset from UTC, which its city alone does not tell.
    now = timezone.localtime()
    return render(
        request,
        "accounts/settings.html",
        {
            "form": form,
            "now": now,
            # An old name saved before (Europe/Kiev) is said as the list shows it (Kyiv).
            "zone": time_zone_said(time_zone_canonical(_current_zone_name()), now=now),
            "zone_chosen": account_choices_of(user=request.user).time_zone is not None,
        },
    )


@require_GET
def signed_in(request: HttpRequest) -> HttpResponse:
    """Who this session belongs to, in the page layout and nothing else: a monitor (or a person
    behind a new proxy) can check that a session survives the whole stack, and
    bench/web_load.py measures every page against it (its floor: what any page costs before it
    reads anything of its own)."""
    return render(request, "accounts/signed_in.html")


def _language_cookie_set(response: HttpResponse, language: str) -> None:
    """Django's language cookie, which the log-in page reads once the person has signed out."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def _back_to(request: HttpRequest, wanted: str) -> str:
    """The page the switcher was on (a path of this site, as the header's form sends it); else
    the home or log-in page."""
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("campaigns:home" if request.user.is_authenticated else "login")
