from django.urls import path

from .views import audience, imports

app_name = "contacts"

# Lists, fields, contacts, do-not-contact, export and BSG linking (contacts/views/audience.py).
audience_urls: list = [
    path("", audience.contact_index, name="contact-index"),
    path("new/", audience.contact_new, name="contact-new"),
    path("export.csv", audience.contact_export, name="contact-export"),
    path("<int:contact_id>/", audience.contact_edit, name="contact-edit"),
    path("<int:contact_id>/delete/", audience.contact_delete, name="contact-delete"),
    path("lists/", audience.list_index, name="list-index"),
    path("lists/new/", audience.list_new, name="list-new"),
    path("lists/<int:list_id>/", audience.list_detail, name="list-detail"),
    path("lists/<int:list_id>/edit/", audience.list_edit, name="list-edit"),
    path("lists/<int:list_id>/archive/", audience.list_archive, name="list-archive"),
    path("lists/<int:list_id>/delete/", audience.list_delete, name="list-delete"),
    path("lists/<int:list_id>/export.csv", audience.list_export, name="list-export"),
    path("lists/<int:list_id>/link/", audience.list_link, name="list-link"),
    path("lists/<int:list_id>/unlink/", audience.list_unlink, name="list-unlink"),
    path("lists/<int:list_id>/push/", audience.list_push, name="list-push"),
    path("lists/<int:list_id>/push/status/", audience.list_push_status, name="list-push-status"),
    path("fields/", audience.field_index, name="field-index"),
    path("fields/new/", audience.field_new, name="field-new"),
    path("fields/new-in-bsg/", audience.field_new_in_bsg, name="field-new-in-bsg"),
    path("fields/<int:field_id>/edit/", audience.field_edit, name="field-edit"),
    path("fields/<int:field_id>/delete/", audience.field_delete, name="field-delete"),
    path("do-not-contact/", audience.do_not_contact_index, name="dnc-index"),
    path("do-not-contact/export.csv", audience.do_not_contact_export, name="dnc-export"),
    path(
        "do-not-contact/<int:entry_id>/remove/", audience.do_not_contact_remove, name="dnc-remove"
    ),
]

# CSV/XLSX import: upload, mapping, dry run, progress, report (contacts/views/imports.py).
import_urls: list = [
    path("imports/", imports.import_index, name="import-index"),
    path("imports/new/", imports.import_upload, name="import-upload"),
    path("imports/<int:import_id>/", imports.import_detail, name="import-detail"),
    path("imports/<int:import_id>/status/", imports.import_status, name="import-status"),
    path("imports/<int:import_id>/mapping/", imports.import_mapping, name="import-mapping"),
    path("imports/<int:import_id>/reread/", imports.import_reread, name="import-reread"),
    path("imports/<int:import_id>/start/", imports.import_start, name="import-start"),
    path("imports/<int:import_id>/cancel/", imports.import_cancel, name="import-cancel"),
    path("imports/<int:import_id>/rejected.csv", imports.import_rejected, name="import-rejected"),
]

urlpatterns = audience_urls + import_urls
