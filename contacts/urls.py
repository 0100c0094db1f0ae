from django.urls import path  # noqa: F401  (used by the url lists below as they grow)

app_name = "contacts"

# Lists, fields, contacts, do-not-contact, export and BSG linking (contacts/views/audience.py).
audience_urls: list = []

# CSV/XLSX import: upload, mapping, dry run, progress, report (contacts/views/imports.py).
import_urls: list = []

urlpatterns = audience_urls + import_urls
