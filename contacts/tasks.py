"""Celery tasks of the contacts app: thin shells that take ids and call one service.

A task started by a person also takes the language of their page (`language`): what the work
writes for people to read later (an import's errors and rejected rows, a push's failure) is put
in their words. Without one (the sweep, a task queued before it was passed) the work speaks the
site's LANGUAGE_CODE.
"""

from celery import shared_task
from django.conf import settings
from django.utils import translation

from . import services


# A big list is many BSG calls; the run is resumable, so a limit only pauses it.
@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3660)
def contact_list_push_task(list_id: int, language: str | None = None) -> None:
    """Pushes a list to BSG (contacts.services.contact_list_push_run).

    acks_late is safe: the run claims the list by compare-and-set and skips everything BSG
    already confirmed, so a redelivered task never creates a second group or contact.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        services.contact_list_push_run(list_id=list_id)


# --- imports (contacts.importing.services) ---------------------------------------------------
# A million rows take well under a minute; 200 MB files a few. The limits only stop a stuck run.
@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def contact_import_analyse_task(import_id: int, language: str | None = None) -> None:
    """The dry run. Idempotent: it restarts the staging from scratch, and writes no contact."""
    from contacts.importing.services import contact_import_analyse

    with translation.override(language or settings.LANGUAGE_CODE):
        contact_import_analyse(import_id=import_id)


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def contact_import_apply_task(import_id: int, language: str | None = None) -> None:
    """The import. Claims QUEUED → RUNNING by compare-and-set, so a redelivery does nothing;
    its writes are one transaction, so a worker lost mid-way leaves nothing half-imported."""
    from contacts.importing.services import contact_import_apply

    with translation.override(language or settings.LANGUAGE_CODE):
        contact_import_apply(import_id=import_id)


# Bounded by the read limits (settings CONTACTS_IMPORT_*): seconds even for a 200 MB file.
@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def contact_import_inspect_task(import_id: int, language: str | None = None) -> None:
    """Reads an uploaded file's header and first rows. Idempotent: it writes only the layout,
    and only while the import is still READING."""
    from contacts.importing.services import contact_import_inspect

    with translation.override(language or settings.LANGUAGE_CODE):
        contact_import_inspect(import_id=import_id)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def contact_imports_sweep_task() -> None:
    """Imports whose worker was lost (no heartbeat): retried once, or failed with a message.
    Every move is a compare-and-set, so two sweeps at once change nothing twice."""
    from contacts.importing.services import contact_imports_sweep

    contact_imports_sweep()


# Each import queues it when it commits; beat runs it every minute too, for a run that was lost.
@shared_task(acks_late=True, soft_time_limit=150, time_limit=180)
def contacts_search_catch_up_task() -> None:
    """Adds imported contacts to the search indexes (contacts.search_index), a minute at a
    time: it queues itself again while contacts still wait, so no run holds a worker long."""
    from contacts.search_index import search_index_catch_up, search_index_waiting

    if search_index_catch_up(seconds=60) and search_index_waiting():
        contacts_search_catch_up_task.delay()
