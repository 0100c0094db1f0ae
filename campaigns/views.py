from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/home.html")


@require_GET
def bsg_account_panel(request: HttpRequest) -> HttpResponse:
    """The BSG balance, loaded after the page so a slow BSG never delays the page itself."""
    return render(
        request,
        "campaigns/home.html#bsg-account",
        {"account": selectors.bsg_account_state()},
    )
