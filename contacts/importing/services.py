"""The life of a ContactImport: upload → mapping → dry run → import → report (or cancel).

    UPLOADED ─confirm mapping→ ANALYSING ─dry run→ READY ─start→ QUEUED ─apply→ RUNNING → DONE
         any of these ─cancel→ CANCELLED;  a dry run or an apply that breaks → FAILED

Every move is a compare-and-set on `status`, so a task that finds the import already moved
(cancelled, or run by another delivery of the same task) does nothing. Nothing reaches the
contacts before the apply, and the apply is one transaction that also marks the import DONE:
an import is either wholly kept or not at all, and its status says which.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from contacts.models import ContactField, ContactImport
from contacts.services import contact_list_create

from . import engine
from . import mapping as mapping_rules
from .reading import CSV, DELIMITERS, ENCODINGS, FileLayout, ImportFileError, inspect_file
from .shaping import MAX_REASON_CHARS

logger = logging.getLogger(__name__)

Status = ContactImport.Status
NEW_FIELD_PREFIX = "new:"
# Statuses in which nothing is running on the import: a user may still change it.
EDITABLE = (Status.UPLOADED, Status.READY, Status.FAILED)
CANCELLABLE = (Status.UPLOADED, Status.ANALYSING, Status.READY, Status.QUEUED, Status.RUNNING)
NOTHING_KEPT = "Nothing was written to the contacts; the lists keep what they held."


def max_upload_bytes() -> int:
    return settings.CONTACTS_IMPORT_MAX_MB * 1024 * 1024


def _set_status(import_id: int, *, old: tuple[str, ...], **changes) -> bool:
    """Compare-and-set: True when exactly this import moved from one of `old`."""
    moved = ContactImport.objects.filter(pk=import_id, status__in=old).update(**changes)
    return moved == 1


def _layout(contact_import: ContactImport) -> FileLayout:
    return FileLayout(
        kind=contact_import.file_kind,
        encoding=contact_import.encoding,
        delimiter=contact_import.delimiter,
        headers=list(contact_import.headers),
        estimated_rows=contact_import.rows_total or 0,
    )


def _source_path(contact_import: ContactImport, path: Path | None) -> Path:
    return path if path is not None else Path(contact_import.file.path)


def _spec(contact_import: ContactImport, *, path: Path | None = None) -> engine.ImportSpec:
    return engine.ImportSpec(
        import_id=contact_import.pk,
        path=_source_path(contact_import, path),
        layout=_layout(contact_import),
        mapping=dict(contact_import.mapping),
        region=settings.CONTACTS_DEFAULT_REGION,
        target=contact_import.target,
        on_existing=contact_import.on_existing,
        list_id=contact_import.contact_list_id,
        default_reason=contact_import.reason,
        created_by_id=contact_import.created_by_id,
    )


def _known_fields() -> list[tuple[str, str]]:
    return list(ContactField.objects.values_list("key", "label"))


def _guessed_mapping(layout: FileLayout, *, for_opt_outs: bool) -> dict[str, str]:
    mapping, suggested = mapping_rules.guess_mapping(
        layout.headers,
        _known_fields(),
        sample_rows=layout.sample_rows,
        for_opt_outs=for_opt_outs,
    )
    for column, key in suggested.items():
        mapping[column] = NEW_FIELD_PREFIX + key
    return mapping


# --- upload --------------------------------------------------------------------------------------


def contact_import_create(
    *,
    upload: UploadedFile | File | None = None,
    original_name: str,
    target: str = ContactImport.Target.CONTACTS,
    list_id: int | None = None,
    new_list_name: str = "",
    on_existing: str = ContactImport.OnExisting.SKIP,
    reason: str = "",
    encoding: str = "",
    created_by_id: int | None = None,
    source_path: Path | None = None,
) -> ContactImport:
    """Stores the file, reads its header and guesses the mapping; writes no contact.

    `new_list_name` creates the target list, once the file is known to be readable (a bad
    file leaves no empty list behind). `source_path` (the command) reads a file where it lies
    instead of storing a copy. Raises ValidationError with a specific message.
    """
    is_contacts = target == ContactImport.Target.CONTACTS
    new_list_name = new_list_name.strip()
    if is_contacts and list_id is None and not new_list_name:
        raise ValidationError({"contact_list": "Choose the list to import into."})
    if encoding and encoding not in ENCODINGS:
        raise ValidationError({"encoding": f"Unknown encoding “{encoding}”."})
    size = source_path.stat().st_size if source_path is not None else upload.size
    if size > max_upload_bytes():
        raise ValidationError(
            {
                "file": f"The file is {size / 1024 / 1024:.0f} MB; imports take at most "
                f"{settings.CONTACTS_IMPORT_MAX_MB} MB. Split it into smaller files."
            }
        )
    contact_import = ContactImport(
        target=target,
        contact_list_id=list_id if is_contacts else None,
        on_existing=on_existing,
        original_name=original_name[:255],
        file_size=size,
        reason=reason.strip()[:MAX_REASON_CHARS],
        created_by_id=created_by_id,
    )
    if source_path is None:
        contact_import.file.save(Path(original_name).name or "import.csv", upload, save=False)
    try:
        layout = inspect_file(
            _source_path(contact_import, source_path), original_name, encoding=encoding
        )
        _store_layout(contact_import, layout)
        with transaction.atomic():
            if is_contacts and list_id is None:
                contact_import.contact_list = contact_list_create(name=new_list_name)
            contact_import.save()
    except ImportFileError as exc:
        _forget_file(contact_import, source_path)
        raise ValidationError({"file": str(exc)}) from exc
    except BaseException:
        _forget_file(contact_import, source_path)
        raise
    return contact_import


def _forget_file(contact_import: ContactImport, source_path: Path | None) -> None:
    if source_path is None and contact_import.file:
        contact_import.file.delete(save=False)


def _store_layout(contact_import: ContactImport, layout: FileLayout) -> None:
    contact_import.file_kind = layout.kind
    contact_import.encoding = layout.encoding
    contact_import.delimiter = layout.delimiter
    contact_import.headers = layout.headers
    contact_import.sample_rows = layout.sample_rows
    contact_import.rows_total = layout.estimated_rows
    contact_import.mapping = _guessed_mapping(
        layout, for_opt_outs=contact_import.target == ContactImport.Target.DO_NOT_CONTACT
    )


def contact_import_reread(*, import_id: int, encoding: str, delimiter: str) -> ContactImport:
    """Reads the file again with the encoding and delimiter the user chose."""
    contact_import = ContactImport.objects.get(pk=import_id)
    if contact_import.status not in EDITABLE:
        raise ValidationError("This import is already running or finished.")
    if contact_import.file_kind != CSV:
        raise ValidationError("A spreadsheet has no encoding or delimiter to choose.")
    if encoding not in ENCODINGS or delimiter not in DELIMITERS:
        raise ValidationError("Choose one of the offered encodings and delimiters.")
    try:
        layout = inspect_file(
            Path(contact_import.file.path),
            contact_import.original_name,
            encoding=encoding,
            delimiter=delimiter,
        )
    except ImportFileError as exc:
        raise ValidationError(str(exc)) from exc
    _store_layout(contact_import, layout)
    contact_import.status = Status.UPLOADED
    contact_import.save()
    engine.drop_stage(import_id)  # rows staged by an earlier dry run were read another way
    return contact_import


# --- mapping and dry run ------------------------------------------------------------------------


def contact_import_confirm_mapping(
    *, import_id: int, mapping: Mapping[str, str], enqueue: bool = True
) -> ContactImport:
    """Saves the mapping (creating the new fields it names) and starts the dry run.

    A mapping value is `phone`, `name`, `reason`, `field:<key>`, `new:<key>` (create the field
    from the column's header) or `` (ignore). Raises ValidationError listing every problem.
    """
    contact_import = ContactImport.objects.get(pk=import_id)
    if contact_import.status not in EDITABLE:
        raise ValidationError("This import is already running or finished.")
    columns = {str(i) for i in range(len(contact_import.headers))}
    if set(mapping) - columns:
        raise ValidationError("The mapping names columns the file does not have.")
    for_opt_outs = contact_import.target == ContactImport.Target.DO_NOT_CONTACT
    final = {column: mapping.get(column, "") for column in sorted(columns, key=int)}
    problems = mapping_rules.mapping_problems(
        {c: t.replace(NEW_FIELD_PREFIX, mapping_rules.FIELD_PREFIX) for c, t in final.items()},
        for_opt_outs=for_opt_outs,
    )
    known = set(ContactField.objects.values_list("key", flat=True))
    for column, target in final.items():
        key = mapping_rules.field_key_of(target)
        if key is not None and key not in known:
            problems.append(f"There is no field “{key}”.")
        if target.startswith(NEW_FIELD_PREFIX):
            new_key = target[len(NEW_FIELD_PREFIX) :]
            try:
                ContactField(key=new_key, label=new_key).clean_fields(exclude=["label"])
            except ValidationError:
                problems.append(
                    f"“{new_key}” cannot be a field key (column "
                    f"{contact_import.headers[int(column)] or int(column) + 1}): use lowercase "
                    "letters, digits and underscores."
                )
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        for column, target in final.items():
            if target.startswith(NEW_FIELD_PREFIX):
                key = target[len(NEW_FIELD_PREFIX) :]
                header = contact_import.headers[int(column)] or key
                ContactField.objects.get_or_create(key=key, defaults={"label": header[:100]})
                final[column] = mapping_rules.field_target(key)
        contact_import.mapping = final
        if contact_import.rejected_file:  # from an earlier dry run with another mapping
            contact_import.rejected_file.delete(save=False)
        contact_import.save(update_fields=["mapping", "rejected_file"])
        if not _set_status(
            import_id,
            old=EDITABLE,
            status=Status.ANALYSING,
            rows_processed=0,
            error="",
            dry_run={},
            started_at=None,
            finished_at=None,
        ):
            raise ValidationError("This import is already running or finished.")
        if enqueue:
            from contacts.tasks import contact_import_analyse_task

            transaction.on_commit(lambda: contact_import_analyse_task.delay(import_id))
    contact_import.refresh_from_db()
    return contact_import


def _progress_reporter(import_id: int, estimate: int) -> Callable[[int], bool]:
    def report(rows_read: int) -> bool:
        total = max(estimate, int(rows_read * 1.05))
        # The row's status is the cancel signal: a cancelled import stops at the next chunk.
        return _set_status(
            import_id,
            old=(Status.ANALYSING, Status.RUNNING),
            rows_processed=rows_read,
            rows_total=total,
        )

    return report


def contact_import_analyse(
    *, import_id: int, path: Path | None = None, on_progress: Callable[[int], None] | None = None
) -> ContactImport | None:
    """The dry run: stage every row and count what the import would do. Writes no contact."""
    contact_import = ContactImport.objects.filter(pk=import_id, status=Status.ANALYSING).first()
    if contact_import is None:
        _tidy_if_cancelled(import_id)
        return None  # cancelled meanwhile, or another delivery of the task did it
    spec = _spec(contact_import, path=path)
    report = _progress_reporter(import_id, contact_import.rows_total or 0)

    def progress(rows_read: int) -> bool:
        if on_progress is not None:
            on_progress(rows_read)
        return report(rows_read)

    ContactImport.objects.filter(pk=import_id).update(started_at=timezone.now())
    try:
        rows = engine.stage_rows(spec, on_progress=progress)
        figures = engine.dry_run_figures(spec)
        rejected = _save_rejected(contact_import, spec)
    except engine.ImportCancelled:
        return ContactImport.objects.get(pk=import_id)
    except ImportFileError as exc:
        engine.drop_stage(import_id)
        _fail(import_id, f"{exc} {NOTHING_KEPT}", old=(Status.ANALYSING,))
        return ContactImport.objects.get(pk=import_id)
    except Exception:
        logger.exception("Dry run of import %s failed", import_id)
        engine.drop_stage(import_id)
        _fail(
            import_id, f"The dry run failed unexpectedly. {NOTHING_KEPT}", old=(Status.ANALYSING,)
        )
        raise
    moved = _set_status(
        import_id,
        old=(Status.ANALYSING,),
        status=Status.READY,
        dry_run=figures,
        rows_total=rows,
        rows_processed=rows,
        rows_duplicate=figures["duplicate"]["count"],
        rows_invalid=figures["invalid"]["count"],
        rejected_file=rejected,
    )
    if not moved:  # cancelled during the last statements
        engine.drop_stage(import_id)
    return ContactImport.objects.get(pk=import_id)


def _save_rejected(contact_import: ContactImport, spec: engine.ImportSpec) -> str:
    """Writes the rejected rows' CSV to storage; returns its name ('' when none)."""
    with tempfile.TemporaryFile("w+b") as raw:
        # UTF-8 with BOM: Excel then shows Cyrillic names correctly.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        written = engine.write_rejected_rows(spec, text)
        text.flush()
        if not written:
            return ""
        raw.seek(0)
        stem = Path(contact_import.original_name).stem[:80] or "import"
        storage = ContactImport._meta.get_field("rejected_file")
        name = storage.generate_filename(contact_import, f"{stem}-rejected.csv")
        saved = storage.storage.save(name, File(raw))
        text.detach()
        return saved


def _fail(import_id: int, message: str, *, old: tuple[str, ...]) -> None:
    _set_status(import_id, old=old, status=Status.FAILED, error=message, finished_at=timezone.now())


# --- the import itself ---------------------------------------------------------------------------


def contact_import_start(*, import_id: int, enqueue: bool = True) -> bool:
    """READY → QUEUED, and the apply task is sent once the transaction commits."""
    with transaction.atomic():
        if not _set_status(import_id, old=(Status.READY,), status=Status.QUEUED, error=""):
            return False
        if enqueue:
            from contacts.tasks import contact_import_apply_task

            transaction.on_commit(lambda: contact_import_apply_task.delay(import_id))
    return True


def contact_import_apply(
    *, import_id: int, path: Path | None = None, on_progress: Callable[[int], None] | None = None
) -> ContactImport | None:
    """Writes the staged rows into the contacts (or the opt-outs) in one transaction."""
    if not _set_status(
        import_id,
        old=(Status.QUEUED,),
        status=Status.RUNNING,
        rows_processed=0,
        started_at=timezone.now(),
    ):
        _tidy_if_cancelled(import_id)
        return None
    contact_import = ContactImport.objects.get(pk=import_id)
    spec = _spec(contact_import, path=path)
    try:
        if engine.staged_row_count(import_id) != contact_import.rows_total:
            # The staged rows are gone (PostgreSQL empties UNLOGGED tables after a crash):
            # read the file again; the result is the same rows.
            engine.stage_rows(spec, on_progress=_progress_reporter(import_id, 0))
        total = engine.staged_row_count(import_id) or 0
        _apply_in_one_transaction(spec, total, on_progress)
    except engine.ImportCancelled:
        return ContactImport.objects.get(pk=import_id)
    except _ApplyCancelled:
        engine.drop_stage(import_id)
        return ContactImport.objects.get(pk=import_id)
    except ImportFileError as exc:
        engine.drop_stage(import_id)
        _fail(import_id, f"{exc} {NOTHING_KEPT}", old=(Status.RUNNING,))
        return ContactImport.objects.get(pk=import_id)
    except Exception:
        logger.exception("Import %s failed", import_id)
        engine.drop_stage(import_id)
        _fail(import_id, f"The import failed unexpectedly. {NOTHING_KEPT}", old=(Status.RUNNING,))
        raise
    engine.drop_stage(import_id)
    _discard_upload(import_id)
    return ContactImport.objects.get(pk=import_id)


def _tidy_if_cancelled(import_id: int) -> None:
    """A task that finds its import cancelled before it started removes what it would have
    used: the cancel itself leaves queued imports to their task, which may already be running."""
    if ContactImport.objects.filter(pk=import_id, status=Status.CANCELLED).exists():
        engine.drop_stage(import_id)
        _discard_upload(import_id)


def _discard_upload(import_id: int) -> None:
    """The uploaded file is not needed once the import is kept or cancelled (the report and
    the rejected rows stay): big files would otherwise pile up in MEDIA_ROOT."""
    contact_import = ContactImport.objects.get(pk=import_id)
    if contact_import.file:
        contact_import.file.delete(save=False)
        ContactImport.objects.filter(pk=import_id).update(file="")


class _ApplyCancelled(Exception):
    pass


def _apply_in_one_transaction(
    spec: engine.ImportSpec, total: int, on_progress: Callable[[int], None] | None
) -> None:
    side = engine.SideProgress(spec.import_id)

    def step(done_of_3: int) -> None:
        rows = total * done_of_3 // 3
        side.set(rows)
        if on_progress is not None:
            on_progress(rows)

    try:
        with transaction.atomic():
            counts = engine.apply_stage(spec, on_step=step)
            # In the same transaction as the rows: DONE and the data commit together, and a
            # cancel that came first (status no longer RUNNING) rolls every row back.
            if not _set_status(
                spec.import_id,
                old=(Status.RUNNING,),
                status=Status.DONE,
                rows_total=total,
                rows_processed=total,
                rows_created=counts.created,
                rows_updated=counts.updated,
                rows_unchanged=counts.unchanged,
                rows_added_to_list=counts.added_to_list,
                finished_at=timezone.now(),
            ):
                raise _ApplyCancelled
            _audit_applied(spec.import_id, counts)
    finally:
        side.close()


def _audit_applied(import_id: int, counts: engine.ApplyCounts) -> None:
    """One audit entry for the whole import, never one per row: on its list when it has one
    (that is where people look), else on the import itself."""
    contact_import = ContactImport.objects.select_related("contact_list", "created_by").get(
        pk=import_id
    )
    figures = (
        f"{counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
        + (f", {counts.added_to_list} added to the list" if contact_import.contact_list else "")
    )
    audit_record(
        action="do-not-contact-import"
        if contact_import.target == ContactImport.Target.DO_NOT_CONTACT
        else "import-applied",
        target=contact_import.contact_list or contact_import,
        message=f"Import of “{contact_import.original_name}” (#{import_id}) applied: {figures}.",
        # Applied by a Celery task: the person who started the import is who did it.
        actor=contact_import.created_by,
    )


def contact_import_cancel(*, import_id: int) -> bool:
    """Stops an import before it is kept; True when it was cancelled."""
    contact_import = ContactImport.objects.filter(pk=import_id).first()
    if contact_import is None:
        return False
    idle = contact_import.status in (Status.UPLOADED, Status.READY)
    if not _set_status(
        import_id,
        old=CANCELLABLE,
        status=Status.CANCELLED,
        error=f"Cancelled. {NOTHING_KEPT}",
        finished_at=timezone.now(),
    ):
        return False
    if idle:
        # No task holds this import: its staged rows go now. A running task drops its own.
        engine.drop_stage(import_id)
        _discard_upload(import_id)
    return True
