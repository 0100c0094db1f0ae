"""The admin site: Django's, with every model's pages refusing input the database cannot take.

Django admin already turns a lookup it cannot build (`?created_at__gte=yesterday`) into a
redirect to `?e=1`. Three kinds get past it and answered with a 500: a NUL character
(`?status__exact=%00`: PostgreSQL text cannot hold one, and the error comes only when the page
runs the query), a date or year the database cannot hold (`?created_at__year=10000000000`,
found only when the query is compiled), and NaN or Infinity typed into a JSON field (Python's
json reads them, PostgreSQL's jsonb refuses them). Every ModelAdmin registered on this site,
ours and other apps' (auth, axes, django-celery-beat), gets a changelist that finds those
before the page renders, and JSON fields that refuse them beside the field.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import SuspiciousOperation
from django.db import DataError, models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from config.login import AdminLoginForm


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a value JSON can hold", name, 0)


class StrictJSONField(forms.JSONField):
    """A JSON form field that refuses NaN, Infinity and -Infinity ("Enter a valid JSON.")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = self.decoder or _StrictJSONDecoder


class _StrictJSONDecoder(json.JSONDecoder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["parse_constant"] = _refuse_constant
        super().__init__(*args, **kwargs)


# A formset's management form counts (TOTAL_FORMS, INITIAL_FORMS, ...) beyond this, or below
# zero, were not sent by the page: Django would slice a queryset with them (a negative index is
# a 500). Far above any inline's max_num.
MANAGEMENT_COUNT_MAX = 10_000
_MANAGEMENT_KEYS = ("-TOTAL_FORMS", "-INITIAL_FORMS", "-MIN_NUM_FORMS", "-MAX_NUM_FORMS")


def _management_counts_tampered(request: HttpRequest) -> bool:
    for key, values in request.POST.lists():
        if not key.endswith(_MANAGEMENT_KEYS):
            continue
        for value in values:
            if value == "" and not key.endswith(("-TOTAL_FORMS", "-INITIAL_FORMS")):
                continue
            if not value.isdigit() or int(value) > MANAGEMENT_COUNT_MAX:
                return True
    return False


def _holds_nul(request: HttpRequest) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    )


class CheckedChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        if _holds_nul(request):
            raise IncorrectLookupParameters("A NUL character cannot be looked up.")
        try:
            queryset = super().get_queryset(request, exclude_parameters)
            # Run now (one LIMIT 1 query, in a savepoint), so a date, year or day number out of
            # range is a bad lookup, not a page that fails half-way through.
            with transaction.atomic(using=queryset.db):
                queryset.exists()
        # RuntimeWarning: a typed date without a time zone, where warnings are errors (tests).
        except (OverflowError, ValueError, RuntimeWarning, DataError) as error:
            raise IncorrectLookupParameters(error) from error
        return queryset


class CheckedInputAdmin:
    """Mixed into every ModelAdmin the site registers (BsgAdminSite.register)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # After ModelAdmin.__init__ has merged the class's own overrides with Django's defaults.
        self.formfield_overrides.setdefault(models.JSONField, {}).setdefault(
            "form_class", StrictJSONField
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CheckedChangeList

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST" and _management_counts_tampered(request):
            # Django answers a SuspiciousOperation with 400 Bad Request.
            raise SuspiciousOperation("A formset's management form holds an impossible count.")
        return super().changeform_view(request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST" and _management_counts_tampered(request):
            raise SuspiciousOperation("A formset's management form holds an impossible count.")
        return super().changelist_view(request, *args, **kwargs)


class BsgAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, CheckedInputAdmin):
            admin_class = type(
                admin_class.__name__,
                (CheckedInputAdmin, admin_class),
                {"__module__": admin_class.__module__},
            )
        super().register(model_or_iterable, admin_class, **options)
