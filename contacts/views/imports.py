"""Pages of the CSV/XLSX import: upload → mapping → dry run → import → report.

Thin function views: bind a form, call one service (contacts.importing.services) or selector,
render the page or its live status panel. The panel polls only while the import is working.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..import_forms import (
    ImportMappingForm,
    ImportRereadForm,
    ImportUploadForm,
    ImportUploadQueryForm,
)
from ..importing import selectors, services
from ..models import ContactImport

DETAIL = "contacts/imports/detail.html"


def _get_import(import_id: int) -> ContactImport:
    try:
        return selectors.contact_import_get(import_id=import_id)
    except ContactImport.DoesNotExist:
        raise Http404("No such import.") from None


def _detail_context(contact_import: ContactImport, **forms) -> dict:
    context = {"contact_import": contact_import, **forms}
    if contact_import.status in services.EDITABLE and contact_import.was_read:
        context.setdefault("mapping_form", ImportMappingForm(contact_import=contact_import))
        if contact_import.file_kind == "csv" and contact_import.file:
            context.setdefault(
                "reread_form",
                ImportRereadForm(
                    initial={
                        "encoding": contact_import.encoding,
                        "delimiter": contact_import.delimiter,
                    }
                ),
            )
    return context


# The list service names its field "name"; on the upload form that is the new list's name.
_FIELD_ALIASES = {"name": "new_list_name"}


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            field = _FIELD_ALIASES.get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@require_GET
def import_index(request: HttpRequest) -> HttpResponse:
    return render(
        request, "contacts/imports/list.html", {"imports": selectors.contact_imports_recent()}
    )


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    initial = ImportUploadQueryForm(request.GET).initial_for_upload()
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, initial=initial, user_id=request.user.pk
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        from_held = not request.FILES.get("file")
        try:
            contact_import = _create_import(request, data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            if from_held:  # the import stored its own copy
                services.contact_import_release_held_upload(
                    token=data["held_file"], user_id=request.user.pk
                )
            return redirect("contacts:import-detail", import_id=contact_import.pk)
        finally:
            if from_held:
                data["file"].close()
    if request.method == "POST":
        _hold_the_file(request, form)
    # Shown again with its errors: 200, like every form page (campaigns.views.compose says why).
    return render(request, "contacts/imports/upload.html", {"form": form})


def _hold_the_file(request: HttpRequest, form: ImportUploadForm) -> None:
    """A form sent back for another field's error keeps its good file: the page names it and
    the next try sends its token instead of asking for the file again."""
    upload = request.FILES.get("file")
    if upload is None:
        kept = getattr(form, "cleaned_data", {}).get("file")
        if kept is not None:
            kept.close()  # opened from the held copy; the token stays in the form
        return
    if "file" not in form.errors:
        held = services.contact_import_hold_upload(upload=upload, user_id=request.user.pk)
        form.data = form.data.copy()
        form.data["held_file"] = held.token
        form.held_name = held.name


def _create_import(request: HttpRequest, data: dict) -> ContactImport:
    upload = data["file"]
    return services.contact_import_create(
        upload=upload,
        original_name=upload.name,
        target=data["target"],
        list_id=data["contact_list"].pk if data.get("contact_list") else None,
        new_list_name=data.get("new_list_name", ""),
        on_existing=data["on_existing"],
        reason=data.get("reason", ""),
        encoding=data.get("encoding", ""),
        created_by_id=request.user.pk,
    )


@require_GET
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    return render(request, DETAIL, _detail_context(_get_import(import_id)))


@require_GET
def import_status(request: HttpRequest, import_id: int) -> HttpResponse:
    """The live panel: polled every second while the import works, then final."""
    return render(request, f"{DETAIL}#status-panel", _detail_context(_get_import(import_id)))


@require_POST
def import_mapping(request: HttpRequest, import_id: int) -> HttpResponse:
    contact_import = _get_import(import_id)
    form = ImportMappingForm(request.POST, contact_import=contact_import)
    if form.is_valid():
        try:
            services.contact_import_confirm_mapping(import_id=import_id, mapping=form.mapping())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return redirect("contacts:import-detail", import_id=import_id)
    return render(request, DETAIL, _detail_context(contact_import, mapping_form=form))


@require_POST
def import_reread(request: HttpRequest, import_id: int) -> HttpResponse:
    contact_import = _get_import(import_id)
    form = ImportRereadForm(request.POST)
    if form.is_valid():
        try:
            services.contact_import_reread(import_id=import_id, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return redirect("contacts:import-detail", import_id=import_id)
    return render(request, DETAIL, _detail_context(contact_import, reread_form=form))


@require_POST
def import_start(request: HttpRequest, import_id: int) -> HttpResponse:
    _get_import(import_id)
    if not services.contact_import_start(import_id=import_id):
        messages.error(
            request, _("This import cannot start now: it is not waiting after a dry run.")
        )
    return redirect("contacts:import-detail", import_id=import_id)


@require_POST
def import_cancel(request: HttpRequest, import_id: int) -> HttpResponse:
    _get_import(import_id)
    if services.contact_import_cancel(import_id=import_id):
        messages.info(request, _("Import cancelled. Nothing was written to the contacts."))
    else:
        messages.error(request, _("This import has already finished; there is nothing to cancel."))
    return redirect("contacts:import-detail", import_id=import_id)


@require_GET
def import_rejected(request: HttpRequest, import_id: int) -> FileResponse:
    contact_import = _get_import(import_id)
    if not contact_import.rejected_file:
        raise Http404("This import rejected no rows.")
    stem = contact_import.original_name.rsplit(".", 1)[0] or "import"
    return FileResponse(
        contact_import.rejected_file.open("rb"),
        as_attachment=True,
        filename=f"{stem}-rejected.csv",
        content_type="text/csv; charset=utf-8",
    )
