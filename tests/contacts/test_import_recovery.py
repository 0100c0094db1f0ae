"""An import whose worker died: the beat sweep takes it again once, or fails it with a message.

The state is set up as a killed worker leaves it: the apply claimed (RUNNING, attempts counted),
its one transaction rolled back by PostgreSQL (no contact written), the staged rows still in
their table, progress at 66 % and a heartbeat that stopped minutes ago.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from config.celery import app
from contacts.importing import services
from contacts.models import Contact, ContactImport, ContactList

pytestmark = pytest.mark.django_db
Status = ContactImport.Status
CSV = b"phone,name\n380501234567,Olena\n380671112233,Petro\n380931234567,Ivan\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("marketer", is_superuser=True))
    return client


def ready_import() -> ContactImport:
    contact_list = ContactList.objects.create(name="Customers")
    contact_import = services.contact_import_create(
        upload=SimpleUploadedFile("people.csv", CSV),
        original_name="people.csv",
        list_id=contact_list.pk,
        enqueue=False,
    )
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    services.contact_import_analyse(import_id=contact_import.pk)
    assert services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    return contact_import


def left_by_a_dead_worker(contact_import: ContactImport, *, attempts: int = 1) -> None:
    silent_since = timezone.now() - timedelta(seconds=settings.CONTACTS_IMPORT_STALE_AFTER + 60)
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status=Status.RUNNING,
        apply_attempts=attempts,
        rows_processed=2,  # "Importing… 66%"
        started_at=silent_since,
        heartbeat_at=silent_since,
    )


def panel(client, contact_import) -> str:
    url = reverse("contacts:import-status", args=[contact_import.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_a_running_import_whose_worker_died_is_taken_again_and_completes(client):
    contact_import = ready_import()
    left_by_a_dead_worker(contact_import)
    assert "66%" in panel(client, contact_import)
    # The redelivered task cannot claim it: this is how it stayed at 66 % for ever.
    assert services.contact_import_apply(import_id=contact_import.pk) is None

    report = services.contact_imports_sweep()

    assert report.requeued == [contact_import.pk]
    text = panel(client, contact_import)
    assert "Waiting for a worker…" in text and 'hx-trigger="every 1s"' in text
    # The task the sweep sent, as the worker runs it.
    assert services.contact_import_apply(import_id=contact_import.pk).status == Status.DONE
    assert Contact.objects.count() == 3
    assert "Created</dt><dd>3</dd>" in panel(client, contact_import)


def test_an_import_whose_worker_died_twice_fails_with_a_clear_message(client):
    contact_import = ready_import()
    left_by_a_dead_worker(contact_import, attempts=services.APPLY_MAX_ATTEMPTS)

    assert services.contact_imports_sweep().failed == [contact_import.pk]

    text = panel(client, contact_import)
    assert "hx-trigger" not in text  # no more polling
    assert "The import stopped without finishing: its worker was lost twice" in text
    assert "Nothing was written to the contacts" in text
    assert Contact.objects.count() == 0
    # The person can run it again: the mapping form is back.
    assert 'id="mapping"' in text


def test_a_file_whose_reading_worker_died_fails_with_a_clear_message(client):
    contact_list = ContactList.objects.create(name="Customers")
    response = client.post(
        reverse("contacts:import-upload"),
        {
            "file": SimpleUploadedFile("people.csv", CSV),
            "target": "contacts",
            "on_existing": "skip",
            "contact_list": contact_list.pk,
        },
    )
    contact_import = ContactImport.objects.get()
    assert contact_import.status == Status.READING
    ContactImport.objects.filter(pk=contact_import.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.CONTACTS_IMPORT_STALE_AFTER + 1)
    )

    assert services.contact_imports_sweep().failed == [contact_import.pk]

    text = client.get(response["Location"]).content.decode()
    assert "Reading the file stopped without finishing: its worker was lost" in text
    assert "Upload another file" in text


def test_an_import_whose_worker_still_reports_is_left_alone(client):
    contact_import = ready_import()
    left_by_a_dead_worker(contact_import)
    ContactImport.objects.filter(pk=contact_import.pk).update(heartbeat_at=timezone.now())

    report = services.contact_imports_sweep()

    assert report.requeued == report.failed == []
    assert ContactImport.objects.get(pk=contact_import.pk).status == Status.RUNNING


def test_the_sweep_runs_on_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["contacts-import-sweep"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"] * 5 <= settings.CONTACTS_IMPORT_STALE_AFTER
