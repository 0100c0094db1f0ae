"""The import pages: upload, mapping, dry run, live status panel, report and rejected rows."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from contacts.importing import services
from contacts.models import (
    IMPORT_GIVEN_UP_AFTER,
    Contact,
    ContactField,
    ContactImport,
    ContactList,
)

pytestmark = pytest.mark.django_db
Status = ContactImport.Status
CSV = "phone,name,city\n380501234567,<b>Olena</b>,Kyiv\n12345,Short,Lviv\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client(client, django_user_model):
    # Every page needs a permission (config/access.py): this one may do everything.
    marketer = django_user_model.objects.create_user(
        "marketer", password="x" * 20, is_superuser=True
    )
    client.force_login(marketer)
    return client


@pytest.fixture
def contact_list():
    return ContactList.objects.create(name="Customers")


def post_upload(client, content=CSV, name="people.csv", **data):
    """Uploads as a person would, then reads the file as the worker would."""
    data.setdefault("target", "contacts")
    data.setdefault("on_existing", "skip")
    data["file"] = SimpleUploadedFile(
        name, content.encode() if isinstance(content, str) else content
    )
    with _captured_on_commit():
        response = client.post(reverse("contacts:import-upload"), data)
    for import_id in ContactImport.objects.filter(status=Status.READING).values_list(
        "id", flat=True
    ):
        services.contact_import_inspect(import_id=import_id)
    return response


def test_the_pages_need_a_login(client):
    client.logout()
    response = client.get(reverse("contacts:import-index"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_upload_then_mapping_page_shows_columns_samples_and_guesses(client, contact_list):
    response = post_upload(client, contact_list=contact_list.pk)
    contact_import = ContactImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:import-detail", args=[contact_import.pk])

    page = client.get(response["Location"]).content.decode()
    assert "&lt;b&gt;Olena&lt;/b&gt;" in page  # sample values are escaped
    assert "<b>Olena</b>" not in page
    assert 'value="phone" selected' in page
    assert 'value="new:city" selected' in page
    assert "Dry run" in page


def test_upload_errors_are_specific_and_keep_nothing(client, contact_list):
    response = post_upload(client, content=b"", contact_list=contact_list.pk)
    assert response.status_code == 200
    assert "file is empty." in response.content.decode()
    response = post_upload(client, content="phone\n380501234567\n")
    assert "Choose a list, or name a new one." in response.content.decode()
    response = post_upload(client, content=b"\x00\x01binary", contact_list=contact_list.pk)
    assert "not a CSV or XLSX file" in response.content.decode()
    assert ContactImport.objects.count() == 0


def test_a_file_sent_with_a_list_error_is_kept_for_the_next_try(client, contact_list, settings):
    response = post_upload(client, content="phone\n380501234567\n")
    page = response.content.decode()
    assert "Choose a list, or name a new one." in page
    assert "Kept from your last try: <strong>people.csv</strong>" in page
    token = response.context["form"].data["held_file"]
    assert f'name="held_file" value="{token}"' in page

    # The next try sends the token and the list, no file: the import has the kept file.
    data = {"target": "contacts", "on_existing": "skip", "held_file": token}
    with _captured_on_commit():
        response = client.post(
            reverse("contacts:import-upload"), {**data, "contact_list": contact_list.pk}
        )
    assert response.status_code == 302
    contact_import = ContactImport.objects.get()
    assert contact_import.original_name == "people.csv"
    assert contact_import.file.read() == b"phone\n380501234567\n"
    held = settings.MEDIA_ROOT / services.HELD_UPLOADS
    assert list(held.iterdir()) == []  # the kept copy is gone once the import has its own


def test_a_kept_file_is_only_for_who_sent_it(client, django_user_model, contact_list):
    token = post_upload(client, content="phone\n380501234567\n").context["form"].data["held_file"]
    other = django_user_model.objects.create_user("other", password="x" * 20, is_superuser=True)
    client.force_login(other)
    data = {"target": "contacts", "on_existing": "skip", "contact_list": contact_list.pk}
    for forged in (token, token[:-2] + "xx"):
        response = client.post(reverse("contacts:import-upload"), {**data, "held_file": forged})
        assert response.status_code == 200
        assert "The file you chose before is no longer kept" in response.content.decode()
    response = client.post(reverse("contacts:import-upload"), {**data, "held_file": ""})
    assert "This field is required." in response.content.decode()
    assert not ContactImport.objects.exists()


def test_the_upload_form_asks_the_reason_only_for_opt_outs_and_links_the_imports(client):
    page = client.get(reverse("contacts:import-upload")).content.decode()
    assert 'class="field field-reason"' in page  # hidden by app.css unless opt-outs are chosen
    assert f'href="{reverse("contacts:import-index")}">Imports</a>' in page


def test_a_new_list_can_be_named_at_upload(client, contact_list):
    post_upload(client, new_list_name="Spring fair")
    contact_import = ContactImport.objects.get()
    assert (contact_import.new_list_name, contact_import.contact_list) == ("Spring fair", None)
    page = client.get(reverse("contacts:import-detail", args=[contact_import.pk]))
    assert "Into a new list “Spring fair”, created only when the import is applied" in (
        page.content.decode()
    )
    response = post_upload(client, new_list_name="customers")
    assert "A list named “customers” already exists." in response.content.decode()
    assert ContactImport.objects.count() == 1


def test_cancelling_an_import_into_a_new_list_leaves_no_list_and_no_history(client):
    post_upload(client, new_list_name="Spring fair")
    contact_import = ContactImport.objects.get()
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    services.contact_import_analyse(import_id=contact_import.pk)
    client.post(reverse("contacts:import-cancel", args=[contact_import.pk]))

    assert ContactImport.objects.get().status == Status.CANCELLED
    assert not ContactList.objects.exists()
    assert "Spring fair" not in client.get(reverse("contacts:list-index")).content.decode()
    assert not AuditEntry.objects.filter(action="list-create").exists()


def test_the_mapping_is_checked_then_the_dry_run_is_queued(client, contact_list):
    post_upload(client, contact_list=contact_list.pk)
    contact_import = ContactImport.objects.get()
    url = reverse("contacts:import-mapping", args=[contact_import.pk])

    response = client.post(url, {"column_0": "", "column_1": "name", "column_2": ""})
    assert response.status_code == 200
    assert "Choose the column that holds the phone numbers." in response.content.decode()

    with _captured_on_commit() as callbacks:
        response = client.post(
            url, {"column_0": "phone", "column_1": "name", "column_2": "new:city"}
        )
    assert response.status_code == 302
    assert len(callbacks) == 1  # the dry run task is sent once the transaction commits
    contact_import.refresh_from_db()
    assert contact_import.status == Status.ANALYSING
    assert contact_import.mapping == {"0": "phone", "1": "name", "2": "field:city"}
    assert ContactField.objects.filter(key="city", label="city").exists()


def test_the_status_panel_polls_while_working_and_stops_when_ready(client, contact_list):
    post_upload(client, contact_list=contact_list.pk)
    contact_import = ContactImport.objects.get()
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    status_url = reverse("contacts:import-status", args=[contact_import.pk])

    working = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in working
    assert "<html" not in working  # just the panel

    services.contact_import_analyse(import_id=contact_import.pk)
    ready = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in ready
    assert "Dry run of 2 rows" in ready
    assert "&lt;b&gt;Olena&lt;/b&gt;" in ready  # examples are escaped too
    # Each example's number as contacts pages show it.
    assert "row 2: +380 50 123 4567 &lt;b&gt;" in ready and "+380501234567" not in ready
    assert "is too short" in ready
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("status", [Status.ANALYSING, Status.RUNNING])
def test_an_import_whose_worker_died_shows_failed_and_stops_polling(client, contact_list, status):
    post_upload(client, contact_list=contact_list.pk)
    contact_import = ContactImport.objects.get()
    # Started longer ago than its task's hard time limit: no worker can still be on it.
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status=status, started_at=timezone.now() - timedelta(hours=1), rows_processed=500
    )
    status_url = reverse("contacts:import-status", args=[contact_import.pk])
    panel = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in panel
    assert "stopped without finishing: its worker was lost" in panel
    assert reverse("contacts:import-upload") in panel


def test_an_import_is_given_up_only_after_its_tasks_could_have_run():
    from contacts import tasks

    limits = [
        tasks.contact_import_analyse_task.time_limit,
        tasks.contact_import_apply_task.time_limit,
    ]
    assert IMPORT_GIVEN_UP_AFTER.total_seconds() > max(limits)


def test_import_report_and_rejected_rows(client, contact_list):
    post_upload(client, contact_list=contact_list.pk)
    contact_import = ContactImport.objects.get()
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    services.contact_import_analyse(import_id=contact_import.pk)

    with _captured_on_commit() as callbacks:
        response = client.post(reverse("contacts:import-start", args=[contact_import.pk]))
    assert response.status_code == 302
    assert len(callbacks) == 1
    assert ContactImport.objects.get().status == Status.QUEUED
    services.contact_import_apply(import_id=contact_import.pk)

    page = client.get(reverse("contacts:import-detail", args=[contact_import.pk]))
    text = page.content.decode()
    assert 'value="100"' in text and "100%" in text
    assert "Created</dt><dd>1</dd>" in text
    assert "Invalid</dt><dd>1</dd>" in text

    rejected = client.get(reverse("contacts:import-rejected", args=[contact_import.pk]))
    assert rejected["Content-Disposition"] == 'attachment; filename="people-rejected.csv"'
    body = b"".join(rejected.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[1].startswith("12345,Short,Lviv,3,")

    listing = client.get(reverse("contacts:import-index")).content.decode()
    assert "people.csv" in listing and "Done" in listing


def test_cancel_and_what_cannot_be_done_twice(client, contact_list):
    post_upload(client, contact_list=contact_list.pk)
    contact_import = ContactImport.objects.get()
    cancel_url = reverse("contacts:import-cancel", args=[contact_import.pk])
    client.post(cancel_url)
    assert ContactImport.objects.get().status == Status.CANCELLED
    response = client.post(cancel_url, follow=True)
    assert "nothing to cancel" in response.content.decode()
    response = client.post(reverse("contacts:import-start", args=[contact_import.pk]), follow=True)
    assert "cannot start now" in response.content.decode()
    assert (
        client.get(reverse("contacts:import-rejected", args=[contact_import.pk])).status_code == 404
    )
    assert client.get(reverse("contacts:import-detail", args=[9999])).status_code == 404


def test_reading_again_with_another_encoding(client, contact_list):
    content = "phone;name\n380501234567;Олена\n".encode("cp1251")
    response = post_upload(client, content=content, contact_list=contact_list.pk, encoding="utf-8")
    forced = ContactImport.objects.get()  # forced UTF-8 cannot read it: refused on its page
    assert forced.status == Status.FAILED
    page = client.get(response["Location"]).content.decode()
    assert "not valid utf-8 text" in page
    assert "Upload another file" in page and 'id="mapping"' not in page
    forced.delete()

    post_upload(client, content=content, contact_list=contact_list.pk)
    contact_import = ContactImport.objects.get()
    assert contact_import.encoding == "cp1251"
    with _captured_on_commit() as callbacks:
        response = client.post(
            reverse("contacts:import-reread", args=[contact_import.pk]),
            {"encoding": "cp1251", "delimiter": ","},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1  # read again by a worker
    assert ContactImport.objects.get().status == Status.READING
    services.contact_import_inspect(import_id=contact_import.pk)
    contact_import.refresh_from_db()
    assert contact_import.headers == ["phone;name"]  # one column: the user sees it and switches


class _captured_on_commit:
    """Collects transaction.on_commit callbacks instead of running them (no broker needed)."""

    def __enter__(self):
        from django.db import transaction

        self.callbacks = []
        self._original = transaction.on_commit
        transaction.on_commit = lambda func, using=None, robust=False: self.callbacks.append(func)
        return self.callbacks

    def __exit__(self, *exc):
        from django.db import transaction

        transaction.on_commit = self._original
