"""Pages for lists, fields, contacts and the do-not-contact list (import lives in imports.py).

Thin function views: bind a form, call one service or selector, render a page or a partial.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import replace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.selectors import audit_entries_for, audit_entries_of_type
from audit.words import entries_in_words
from bsg.errors import BsgError
from config import paging

from .. import selectors, services
from ..forms import (
    BsgFieldCreateForm,
    ContactFieldForm,
    ContactForm,
    ContactListForm,
    ContactNewQueryForm,
    ContactPageForm,
    ContactSearchForm,
    DoNotContactForm,
    DoNotContactSearchForm,
    LinkGroupForm,
    ListArchiveForm,
    ListIndexForm,
)
from ..models import Contact, ContactField, ContactList, DoNotContact
from ..phones import phone_display


def _add_errors(form, error: ValidationError) -> None:
    """A service's ValidationError shown on the form, on the field it names when it can."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream one by one."""

    def write(self, value: str) -> str:
        return value


def _csv_response(rows: Iterable[list[str]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        # A BOM so that Excel opens the UTF-8 (Cyrillic names) as UTF-8.
        yield "\ufeff"
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _import_url(target: str) -> str:
    return reverse("contacts:import-upload") + f"?target={target}"


# --- contacts ------------------------------------------------------------------------------


def _search(
    request: HttpRequest,
) -> tuple[ContactSearchForm, selectors.ContactFilters, list[ContactField]]:
    lists = list(selectors.contact_lists_active())
    contact_fields = _contact_fields()
    form = ContactSearchForm(request.GET or None, lists=lists, contact_fields=contact_fields)
    filters = selectors.ContactFilters()
    if form.filters_are_valid():
        data = form.cleaned_data
        filters = selectors.ContactFilters(
            text=data["q"],
            phone=data["phone"],
            name=data["name"],
            field_key=data["field_key"],
            field_value=data["field_value"],
            list_id=data["list_id"],
        )
    return form, filters, contact_fields


def _filters_query(request: HttpRequest, form: paging.PagedForm) -> QueryDict:
    """The filters the page shows rows for, as its page and export links carry them: none when
    one was refused (the page then lists every row), so a refused value (a 100,000-character
    list id) is not written into each link."""
    if not form.filters_are_valid():
        return QueryDict(mutable=True)
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("before", None)
    return query


@require_GET
def contact_index(request: HttpRequest) -> HttpResponse:
    form, filters, contact_fields = _search(request)
    after, before = form.cursors()
    page = selectors.contacts_page(filters=filters, after=after, before=before)
    query = _filters_query(request, form)
    context = {
        "form": form,
        "page": page,
        "rows": selectors.contact_rows(contacts=page.items, contact_fields=contact_fields),
        **paging.page_links(query, page),
        "filtered": filters.active,
        # "No contacts match “…”" repeats the words searched, and says so when other filters
        # narrowed the search too.
        "searched": filters.text.strip(),
        "also_filtered": replace(filters, text="").active,
        "contacts_total": None if filters.active else selectors.contacts_total_estimate(),
        "export_url": reverse("contacts:contact-export") + (f"?{query.urlencode()}"),
        "import_url": _import_url("contacts"),
    }
    template = "contacts/contacts.html"
    if request.htmx and request.htmx.target == "contact-table":
        template += "#contact-table"
    return render(request, template, context)


@require_GET
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters, _fields = _search(request)
    rows = selectors.contacts_export_rows(queryset=selectors.contacts_search(filters=filters))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _csv_response(rows, f"contacts-{stamp}.csv")


def _contact_fields() -> list[ContactField]:
    return list(ContactField.objects.all())


@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest) -> HttpResponse:
    contact_fields = _contact_fields()
    initial = {}
    asked = ContactNewQueryForm(request.GET)
    # A link, not a form to correct: a list id that is not one just ticks nothing.
    if asked.is_valid() and asked.cleaned_data["list"] is not None:
        initial["lists"] = [asked.cleaned_data["list"]]
    form = ContactForm(request.POST or None, contact_fields=contact_fields, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                phone=form.cleaned_data["phone"],
                name=form.cleaned_data["name"],
                fields=form.field_values(),
                list_ids=[x.id for x in form.cleaned_data["lists"]],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, _("Added %(phone)s.") % {"phone": phone_display(contact.phone)}
            )
            return redirect("contacts:contact-index")
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id)
    contact_fields = _contact_fields()
    initial = {
        "phone": "+" + contact.phone,
        "name": contact.name,
        "lists": list(contact.lists.values_list("pk", flat=True)),
        **{f"field_{f.key}": (contact.fields or {}).get(f.key, "") for f in contact_fields},
    }
    form = ContactForm(request.POST or None, contact_fields=contact_fields, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(
                contact_id=contact.pk,
                phone=form.cleaned_data["phone"],
                name=form.cleaned_data["name"],
                fields=form.field_values(),
                list_ids=[x.id for x in form.cleaned_data["lists"]],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Saved %(phone)s.") % {"phone": phone_display(form.cleaned_data["phone"])},
            )
            return redirect("contacts:contact-index")
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id)
    if request.method == "POST":
        services.contact_delete(contact_id=contact.pk)
        messages.success(request, _("Deleted %(phone)s.") % {"phone": phone_display(contact.phone)})
        return redirect("contacts:contact-index")
    return render(request, "contacts/contact_confirm_delete.html", {"contact": contact})


# --- lists ---------------------------------------------------------------------------------


@require_GET
def list_index(request: HttpRequest) -> HttpResponse:
    asked = ListIndexForm(request.GET)
    archived = asked.is_valid() and asked.cleaned_data["archived"]
    return render(
        request,
        "contacts/lists.html",
        {"lists": selectors.contact_lists_overview(archived=archived), "archived": archived},
    )


@require_http_methods(["GET", "POST"])
def list_new(request: HttpRequest) -> HttpResponse:
    form = ContactListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_list = services.contact_list_create(**form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, _("Created the list “%(name)s”.") % {"name": contact_list.name}
            )
            return redirect("contacts:list-detail", list_id=contact_list.pk)
    return render(request, "contacts/list_form.html", {"form": form, "contact_list": None})


@require_http_methods(["GET", "POST"])
def list_edit(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    form = ContactListForm(
        request.POST or None,
        initial={"name": contact_list.name, "description": contact_list.description},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_list_update(list_id=contact_list.pk, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved the list."))
            return redirect("contacts:list-detail", list_id=contact_list.pk)
    return render(request, "contacts/list_form.html", {"form": form, "contact_list": contact_list})


@require_GET
def list_detail(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    form = ContactPageForm(request.GET or None)
    after, before = form.cursors()
    page = selectors.contacts_page(
        filters=selectors.ContactFilters(list_id=contact_list.pk), after=after, before=before
    )
    return render(
        request,
        "contacts/list_detail.html",
        {
            "contact_list": contact_list,
            "page_form": form,
            "page": page,
            # The members table is the contacts page's (contacts.html#contact-table): its fields
            # under their labels too, for one more query (the fields), whatever the rows.
            "rows": selectors.contact_rows(contacts=page.items, contact_fields=_contact_fields()),
            **paging.page_links({}, page),
            "summary": selectors.contact_list_audience(list_id=contact_list.pk),
            "audit_entries": entries_in_words(audit_entries_for(target=contact_list)),
        },
    )


@require_GET
def list_export(request: HttpRequest, list_id: int) -> StreamingHttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    rows = selectors.contacts_export_rows(
        queryset=selectors.contacts_search(
            filters=selectors.ContactFilters(list_id=contact_list.pk)
        )
    )
    return _csv_response(rows, f"list-{contact_list.pk}.csv")


@require_POST
def list_archive(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    form = ListArchiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("contacts:list-detail", list_id=contact_list.pk)
    if not form.cleaned_data["archive"]:
        services.contact_list_unarchive(list_id=contact_list.pk)
        messages.success(
            request,
            _("“%(name)s” is back among the active lists.") % {"name": contact_list.name},
        )
    else:
        services.contact_list_archive(list_id=contact_list.pk)
        messages.success(request, _("Archived “%(name)s”.") % {"name": contact_list.name})
    return redirect("contacts:list-detail", list_id=contact_list.pk)


@require_http_methods(["GET", "POST"])
def list_delete(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    if request.method == "POST":
        try:
            removed = services.contact_list_delete(list_id=contact_list.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("contacts:list-detail", list_id=contact_list.pk)
        messages.success(
            request,
            ngettext(
                "Deleted “%(name)s” and its %(count)s memberships; the contacts remain.",
                "Deleted “%(name)s” and its %(count)s memberships; the contacts remain.",
                removed,
            )
            % {"name": contact_list.name, "count": removed},
        )
        return redirect("contacts:list-index")
    return render(
        request,
        "contacts/list_confirm_delete.html",
        {
            "contact_list": contact_list,
            "member_count": selectors.contact_list_member_count(list_id=contact_list.pk),
        },
    )


@require_http_methods(["GET", "POST"])
def list_link(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    answer = selectors.bsg_groups()
    claimed = dict(
        ContactList.objects.filter(bsg_group_id__isnull=False)
        .exclude(pk=contact_list.pk)
        .values_list("bsg_group_id", "name")
    )
    form = LinkGroupForm(request.POST or None, groups=answer.items, claimed=claimed)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_list_link_group(
                list_id=contact_list.pk, group_id=form.cleaned_data["group_id"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Linked to the BSG list."))
            return redirect("contacts:list-detail", list_id=contact_list.pk)
    return render(
        request,
        "contacts/list_link.html",
        {"contact_list": contact_list, "form": form, "bsg_error": answer.error},
    )


@require_POST
def list_unlink(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    try:
        services.contact_list_unlink_group(list_id=contact_list.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Unlinked; the group stays in your BSG account."))
    return redirect("contacts:list-detail", list_id=contact_list.pk)


@require_POST
def list_push(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    if not services.contact_list_push_start(list_id=contact_list.pk):
        messages.error(request, _("This list is already being pushed to BSG."))
    return redirect("contacts:list-detail", list_id=contact_list.pk)


@require_GET
def list_push_status(request: HttpRequest, list_id: int) -> HttpResponse:
    contact_list = get_object_or_404(ContactList, pk=list_id)
    return render(request, "contacts/list_detail.html#bsg-panel", {"contact_list": contact_list})


# --- fields --------------------------------------------------------------------------------


@require_GET
def field_index(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/fields.html", {"fields": ContactField.objects.all()})


@require_http_methods(["GET", "POST"])
def field_new(request: HttpRequest) -> HttpResponse:
    answer = selectors.bsg_fields()
    form = ContactFieldForm(request.POST or None, bsg_fields=answer.items)
    bsg_form = BsgFieldCreateForm(prefix="bsg")
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_field_create(**form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, _("Created the field %(key)s.") % {"key": form.cleaned_data["key"]}
            )
            return redirect("contacts:field-index")
    return render(
        request,
        "contacts/field_form.html",
        {"form": form, "bsg_form": bsg_form, "bsg_error": answer.error, "contact_field": None},
    )


@require_POST
def field_new_in_bsg(request: HttpRequest) -> HttpResponse:
    bsg_form = BsgFieldCreateForm(request.POST, prefix="bsg")
    if bsg_form.is_valid():
        try:
            contact_field = services.contact_field_create_in_bsg(**bsg_form.cleaned_data)
        except ValidationError as exc:
            _add_errors(bsg_form, exc)
        except BsgError as exc:
            bsg_form.add_error(
                None, _("BSG refused to create the field: %(error)s") % {"error": exc}
            )
        else:
            messages.success(
                request,
                _("Created %(key)s here and in BSG (field id %(id)s).")
                % {"key": contact_field.key, "id": contact_field.bsg_field_id},
            )
            return redirect("contacts:field-index")
    answer = selectors.bsg_fields()
    return render(
        request,
        "contacts/field_form.html",
        {
            "form": ContactFieldForm(bsg_fields=answer.items),
            "bsg_form": bsg_form,
            "bsg_error": answer.error,
            "contact_field": None,
        },
    )


@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    contact_field = get_object_or_404(ContactField, pk=field_id)
    answer = selectors.bsg_fields()
    form = ContactFieldForm(
        request.POST or None,
        bsg_fields=answer.items,
        editing=contact_field,
        initial={
            "key": contact_field.key,
            "label": contact_field.label,
            "bsg_field_id": contact_field.bsg_field_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_field_update(
                field_id=contact_field.pk,
                label=form.cleaned_data["label"],
                bsg_field_id=form.cleaned_data["bsg_field_id"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved the field %(key)s.") % {"key": contact_field.key})
            return redirect("contacts:field-index")
    return render(
        request,
        "contacts/field_form.html",
        {"form": form, "bsg_error": answer.error, "contact_field": contact_field},
    )


@require_http_methods(["GET", "POST"])
def field_delete(request: HttpRequest, field_id: int) -> HttpResponse:
    contact_field = get_object_or_404(ContactField, pk=field_id)
    if request.method == "POST":
        services.contact_field_delete(field_id=contact_field.pk)
        messages.success(
            request, _("Deleted the field %(key)s and its values.") % {"key": contact_field.key}
        )
        return redirect("contacts:field-index")
    return render(request, "contacts/field_confirm_delete.html", {"contact_field": contact_field})


# --- do-not-contact ------------------------------------------------------------------------


def _dnc_search(request: HttpRequest) -> tuple[DoNotContactSearchForm, str, str]:
    """The search form and the phone and source it asks for ("" for any)."""
    search = DoNotContactSearchForm(request.GET or None)
    phone = source = ""
    if search.filters_are_valid():
        phone, source = search.cleaned_data["phone"], search.cleaned_data["source"]
    return search, phone, source


@require_http_methods(["GET", "POST"])
def do_not_contact_index(request: HttpRequest) -> HttpResponse:
    form = DoNotContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        entry, created = services.do_not_contact_add(
            phone=form.cleaned_data["phone"],
            reason=form.cleaned_data["reason"],
            created_by_id=request.user.pk,
        )
        if created:
            messages.success(
                request,
                _("%(phone)s will not be contacted.") % {"phone": phone_display(entry.phone)},
            )
        else:
            messages.info(
                request,
                _("%(phone)s was already on the list (%(source)s).")
                % {"phone": phone_display(entry.phone), "source": entry.get_source_display()},
            )
        return redirect("contacts:dnc-index")
    search, phone, source = _dnc_search(request)
    after, before = search.cursors()
    page = selectors.do_not_contact_page(phone=phone, source=source, after=after, before=before)
    query = _filters_query(request, search)
    return render(
        request,
        "contacts/do_not_contact.html",
        {
            "form": form,
            "search": search,
            "page": page,
            **paging.page_links(query, page),
            "export_url": reverse("contacts:dnc-export") + f"?{query.urlencode()}",
            "import_url": _import_url("do_not_contact"),
            "audit_entries": entries_in_words(
                audit_entries_of_type(
                    model=DoNotContact,
                    also_actions=["do-not-contact-import", "do-not-contact-add-failures"],
                    limit=20,
                )
            ),
        },
    )


@require_POST
def do_not_contact_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(DoNotContact, pk=entry_id)
    services.do_not_contact_remove(entry_id=entry.pk)
    messages.success(
        request, _("%(phone)s can be contacted again.") % {"phone": phone_display(entry.phone)}
    )
    return redirect("contacts:dnc-index")


@require_GET
def do_not_contact_export(request: HttpRequest) -> StreamingHttpResponse:
    _search_form, phone, source = _dnc_search(request)
    entries = selectors.do_not_contact_search(phone=phone, source=source)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _csv_response(
        selectors.do_not_contact_export_rows(queryset=entries), f"do-not-contact-{stamp}.csv"
    )
