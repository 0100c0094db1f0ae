"""The life of a ContactImport: upload → mapping → dry run → import → report (or cancel).

    READING ─file read→ UPLOADED ─confirm mapping→ ANALYSING ─dry run→ READY ─start→ QUEUED
        ─apply→ RUNNING → DONE
    any of these ─cancel→ CANCELLED;  a file that cannot be read, a dry run or an apply that
    breaks → FAILED;  a task whose worker was lost (no heartbeat) → the sweep retries or fails it

The upload request never reads a row: it screens the file (its first bytes, an XLSX's zip
directory) and a worker reads the header and first rows, bounded by `read_limits()`.

Every move is a compare-and-set on `status`, so a task that finds the import already moved
(cancelled, or run by another delivery of the same task) does nothing. Nothing reaches the
contacts before the apply, and the apply is one transaction that also marks the import DONE:
an import is either wholly kept or not at all, and its status says which.
"""

from __future__ import annotations

import io
import logging
import re
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.services import audit_record
from contacts.models import ContactField, ContactImport, ContactList
from contacts.services import contact_list_create, contact_list_name_check

from . import engine
from . import mapping as mapping_rules
from .reading import (
    CSV,
    DELIMITERS,
    ENCODINGS,
    FileLayout,
    ImportFileError,
    ReadLimits,
    inspect_file,
    screen_file,
)
from .shaping import MAX_REASON_CHARS

logger = logging.getLogger(__name__)

Status = ContactImport.Status
NEW_FIELD_PREFIX = "new:"
# Statuses in which nothing is running on the import: a user may still change it.
EDITABLE = (Status.UPLOADED, Status.READY, Status.FAILED)
CANCELLABLE = (
    Status.READING,
    Status.UPLOADED,
    Status.ANALYSING,
    Status.READY,
    Status.QUEUED,
    Status.RUNNING,
)
# Kept in English here and put into the reader's words where it is written (`gettext`).
NOTHING_KEPT = gettext_noop("Nothing was written to the contacts; the lists keep what they held.")
MEGABYTE = 1024 * 1024


def max_upload_bytes() -> int:
    return settings.CONTACTS_IMPORT_MAX_MB * MEGABYTE


def file_too_big_message(size: int) -> str:
    """The refusal of a file over CONTACTS_IMPORT_MAX_MB, for the upload form and the service."""
    return _(
        "The file is %(size)s MB; imports take at most %(limit)s MB. Split it into smaller files."
    ) % {"size": f"{size / MEGABYTE:.0f}", "limit": settings.CONTACTS_IMPORT_MAX_MB}


def _with_nothing_kept(message: object) -> str:
    return f"{message} {_(NOTHING_KEPT)}"


def read_limits() -> ReadLimits:
    """What any reading of an import file takes before refusing it (settings CONTACTS_IMPORT_*)."""
    return ReadLimits(
        max_columns=settings.CONTACTS_IMPORT_MAX_COLUMNS,
        max_cell_chars=settings.CONTACTS_IMPORT_MAX_CELL_CHARS,
        max_empty_rows=settings.CONTACTS_IMPORT_MAX_EMPTY_ROWS,
        max_inflated_bytes=settings.CONTACTS_IMPORT_XLSX_MAX_INFLATED_MB * MEGABYTE,
        max_shared_strings_bytes=settings.CONTACTS_IMPORT_XLSX_MAX_SHARED_STRINGS_MB * MEGABYTE,
        max_ratio=settings.CONTACTS_IMPORT_XLSX_MAX_RATIO,
    )


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
        limits=read_limits(),
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
    enqueue: bool = True,
) -> ContactImport:
    """Stores the file and has it read (READING); writes no contact.

    Here the file is only screened (reading.screen_file: its first bytes and an XLSX's zip
    directory, never a row), so a hostile file costs the request milliseconds; a worker then
    reads the header and first rows (contact_import_inspect) while the page says so. With
    `enqueue=False` (the command, tests) the file is read here and now, and one that cannot be
    read raises ValidationError and leaves nothing behind: no import, no new list.

    `new_list_name` names a list to create for the import: only its name is checked here, and
    the list is created when the import is applied, in the same transaction as its members
    (so a dry run, a cancel or a failure leaves no empty list behind). `source_path` (the
    command) reads a file where it lies instead of storing a copy. Raises ValidationError with
    a specific message.
    """
    is_contacts = target == ContactImport.Target.CONTACTS
    new_list_name = new_list_name.strip()
    if is_contacts and list_id is None and not new_list_name:
        raise ValidationError({"contact_list": _("Choose the list to import into.")})
    if encoding and encoding not in ENCODINGS:
        raise ValidationError(
            {"encoding": _("Unknown encoding “%(encoding)s”.") % {"encoding": encoding}}
        )
    if is_contacts and list_id is None:
        contact_list_name_check(new_list_name)
    size = source_path.stat().st_size if source_path is not None else upload.size
    # The limit is the upload's (CONTACTS_IMPORT_MAX_MB): the command reads a file where it lies,
    # a ten-million-row export of 1.2 GB included, in the same flat memory.
    if source_path is None and size > max_upload_bytes():
        raise ValidationError({"file": file_too_big_message(size)})
    contact_import = ContactImport(
        target=target,
        contact_list_id=list_id if is_contacts else None,
        new_list_name=new_list_name if is_contacts and list_id is None else "",
        on_existing=on_existing,
        original_name=original_name[:255],
        file_size=size,
        reason=reason.strip()[:MAX_REASON_CHARS],
        created_by_id=created_by_id,
        status=Status.READING,
        encoding=encoding,  # chosen by the user, or "" to detect
        heartbeat_at=timezone.now(),
    )
    if source_path is None:
        contact_import.file.save(Path(original_name).name or "import.csv", upload, save=False)
    try:
        with transaction.atomic():
            screen_file(_source_path(contact_import, source_path), original_name, read_limits())
            contact_import.save()
            if enqueue:
                _enqueue_inspection(contact_import.pk)
            else:
                inspected = contact_import_inspect(import_id=contact_import.pk, path=source_path)
                if inspected is None or inspected.status != Status.UPLOADED:
                    # Rolls back the import with it.
                    raise ImportFileError(inspected.error if inspected else _("Not read."))
                contact_import = inspected
    except ImportFileError as exc:
        _forget_file(contact_import, source_path)
        raise ValidationError({"file": str(exc)}) from exc
    except BaseException:
        _forget_file(contact_import, source_path)
        raise
    return contact_import


# An upload whose form came back with another field's error ("Choose a list") is kept here, so
# the person corrects that field without choosing the file again; a signed token names it.
HELD_UPLOADS = "imports/held"
_HELD_SALT = "contacts.import.held-upload"
HELD_FOR = timedelta(hours=6)


@dataclass(frozen=True)
class HeldUpload:
    token: str
    name: str  # the file's name on the person's computer


def contact_import_hold_upload(*, upload: UploadedFile, user_id: int | None) -> HeldUpload:
    """Stores an upload for the next try of the same form (by the same user), and forgets
    those kept longer than HELD_FOR."""
    storage = default_storage
    _forget_old_held_uploads()
    stored = storage.save(f"{HELD_UPLOADS}/{uuid.uuid4().hex}.upload", upload)
    name = Path(upload.name or "import.csv").name[:255]
    token = signing.dumps({"path": stored, "name": name, "user": user_id}, salt=_HELD_SALT)
    return HeldUpload(token=token, name=name)


def contact_import_held_upload(*, token: str, user_id: int | None) -> File | None:
    """The upload `token` names, opened, or None when it is not this user's, is older than
    HELD_FOR, or is gone."""
    held = _held(token, user_id=user_id, max_age=HELD_FOR)
    if held is None or not default_storage.exists(held.path):
        return None
    return File(default_storage.open(held.path, "rb"), name=held.name)


def contact_import_release_held_upload(*, token: str, user_id: int | None) -> None:
    """Deletes a held upload once an import has its own copy (however old the token is)."""
    held = _held(token, user_id=user_id, max_age=None)
    if held is not None:
        default_storage.delete(held.path)


@dataclass(frozen=True)
class _Held:
    path: str
    name: str


# Exactly what contact_import_hold_upload stores: a random name directly in the held folder
# (and the suffix the storage adds if the name were taken). The token is signed, so only a
# leaked SECRET_KEY could name another path; this keeps even that from opening or deleting any
# other file of MEDIA_ROOT ("imports/held/../reports/…" starts with the folder's name too).
_HELD_PATH = re.compile(rf"{re.escape(HELD_UPLOADS)}/[0-9a-f]{{32}}(_[A-Za-z0-9]{{7}})?\.upload")


def _held(token: str, *, user_id: int | None, max_age: timedelta | None) -> _Held | None:
    """What `token` names, when this hold signed it for `user_id`; else None."""
    try:
        held = signing.loads(token, salt=_HELD_SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired too
        return None
    if not isinstance(held, dict) or held.get("user") != user_id or user_id is None:
        return None
    path, name = held.get("path"), held.get("name")
    if not isinstance(path, str) or not _HELD_PATH.fullmatch(path):
        return None
    return _Held(path=path, name=name if isinstance(name, str) and name else "import.csv")


def _forget_old_held_uploads() -> None:
    cutoff = timezone.now() - HELD_FOR
    try:
        _dirs, files = default_storage.listdir(HELD_UPLOADS)
    except FileNotFoundError:
        return
    for name in files:
        path = f"{HELD_UPLOADS}/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)


def _enqueue_inspection(import_id: int) -> None:
    from contacts.tasks import contact_import_inspect_task

    # Robust: a broker that is down leaves the import visibly "reading" (the sweep fails it
    # with a message) instead of failing the upload.
    language = translation.get_language()
    transaction.on_commit(
        lambda: contact_import_inspect_task.delay(import_id, language), robust=True
    )


def _forget_file(contact_import: ContactImport, source_path: Path | None) -> None:
    if source_path is None and contact_import.file:
        contact_import.file.delete(save=False)


def _layout_fields(contact_import: ContactImport, layout: FileLayout) -> dict:
    return {
        "file_kind": layout.kind,
        "encoding": layout.encoding,
        "delimiter": layout.delimiter,
        "headers": layout.headers,
        "sample_rows": layout.sample_rows,
        "rows_total": layout.estimated_rows,
        "mapping": _guessed_mapping(
            layout, for_opt_outs=contact_import.target == ContactImport.Target.DO_NOT_CONTACT
        ),
    }


def contact_import_inspect(*, import_id: int, path: Path | None = None) -> ContactImport | None:
    """READING → UPLOADED: reads the file's kind, header and first rows, and guesses the
    mapping; READING → FAILED with the reason when the file cannot be read (or is over the
    limits). A worker's job (contact_import_inspect_task): even bounded, a big file takes
    seconds, and the upload request must not."""
    if not _set_status(import_id, old=(Status.READING,), heartbeat_at=timezone.now()):
        _tidy_if_cancelled(import_id)
        return None  # cancelled meanwhile, or read by another delivery of the task
    contact_import = ContactImport.objects.get(pk=import_id)
    try:
        layout = inspect_file(
            _source_path(contact_import, path),
            contact_import.original_name,
            encoding=contact_import.encoding,
            delimiter=contact_import.delimiter,
            limits=read_limits(),
        )
    except ImportFileError as exc:
        _fail(import_id, _with_nothing_kept(exc), old=(Status.READING,))
        return ContactImport.objects.get(pk=import_id)
    except Exception:
        logger.exception("Reading the file of import %s failed", import_id)
        _fail(
            import_id,
            _with_nothing_kept(
                _("The file could not be read (an unexpected error, or it took too long).")
            ),
            old=(Status.READING,),
        )
        raise
    _set_status(
        import_id,
        old=(Status.READING,),
        status=Status.UPLOADED,
        error="",
        **_layout_fields(contact_import, layout),
    )
    return ContactImport.objects.get(pk=import_id)


def contact_import_reread(
    *, import_id: int, encoding: str, delimiter: str, enqueue: bool = True
) -> ContactImport:
    """Has the file read again (READING) with the encoding and delimiter the user chose."""
    contact_import = ContactImport.objects.get(pk=import_id)
    if contact_import.status not in EDITABLE:
        raise ValidationError(_("This import is already running or finished."))
    if contact_import.file_kind != CSV or not contact_import.file:
        raise ValidationError(_("A spreadsheet has no encoding or delimiter to choose."))
    if encoding not in ENCODINGS or delimiter not in DELIMITERS:
        raise ValidationError(_("Choose one of the offered encodings and delimiters."))
    with transaction.atomic():
        if not _set_status(
            import_id,
            old=EDITABLE,
            status=Status.READING,
            encoding=encoding,
            delimiter=delimiter,
            error="",
            heartbeat_at=timezone.now(),
        ):
            raise ValidationError(_("This import is already running or finished."))
        if enqueue:
            _enqueue_inspection(import_id)
    engine.drop_stage(import_id)  # rows staged by an earlier dry run were read another way
    if not enqueue:
        contact_import_inspect(import_id=import_id)
    return ContactImport.objects.get(pk=import_id)


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
        raise ValidationError(_("This import is already running or finished."))
    columns = {str(i) for i in range(len(contact_import.headers))}
    if set(mapping) - columns:
        raise ValidationError(_("The mapping names columns the file does not have."))
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
            problems.append(_("There is no field “%(key)s”.") % {"key": key})
        if target.startswith(NEW_FIELD_PREFIX):
            new_key = target[len(NEW_FIELD_PREFIX) :]
            try:
                ContactField(key=new_key, label=new_key).clean_fields(exclude=["label"])
            except ValidationError:
                problems.append(
                    _(
                        "“%(key)s” cannot be a field key (column %(column)s): use lowercase "
                        "letters, digits and underscores."
                    )
                    % {
                        "key": new_key,
                        "column": contact_import.headers[int(column)] or int(column) + 1,
                    }
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
            heartbeat_at=timezone.now(),
            dry_run={},
            started_at=None,
            finished_at=None,
        ):
            raise ValidationError(_("This import is already running or finished."))
        if enqueue:
            from contacts.tasks import contact_import_analyse_task

            language = translation.get_language()
            transaction.on_commit(lambda: contact_import_analyse_task.delay(import_id, language))
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
            heartbeat_at=timezone.now(),
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

    now = timezone.now()
    ContactImport.objects.filter(pk=import_id).update(started_at=now, heartbeat_at=now)
    try:
        rows = engine.stage_rows(spec, on_progress=progress)
        figures = engine.dry_run_figures(spec)
        rejected = _save_rejected(contact_import, spec)
    except engine.ImportCancelled:
        return ContactImport.objects.get(pk=import_id)
    except ImportFileError as exc:
        engine.drop_stage(import_id)
        _fail(import_id, _with_nothing_kept(exc), old=(Status.ANALYSING,))
        return ContactImport.objects.get(pk=import_id)
    except Exception:
        logger.exception("Dry run of import %s failed", import_id)
        engine.drop_stage(import_id)
        _fail(
            import_id,
            _with_nothing_kept(_("The dry run failed unexpectedly.")),
            old=(Status.ANALYSING,),
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
        if not _set_status(
            import_id,
            old=(Status.READY,),
            status=Status.QUEUED,
            error="",
            heartbeat_at=timezone.now(),
            apply_attempts=0,
        ):
            return False
        if enqueue:
            from contacts.tasks import contact_import_apply_task

            language = translation.get_language()
            transaction.on_commit(lambda: contact_import_apply_task.delay(import_id, language))
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
        heartbeat_at=timezone.now(),
        apply_attempts=F("apply_attempts") + 1,
    ):
        _tidy_if_cancelled(import_id)
        return None
    contact_import = ContactImport.objects.get(pk=import_id)
    spec = _spec(contact_import, path=path)
    try:
        total = engine.staged_row_count(import_id)
        if total != contact_import.rows_total:
            # The staged rows are gone (PostgreSQL empties UNLOGGED tables after a crash):
            # read the file again; the result is the same rows.
            total = engine.stage_rows(spec, on_progress=_progress_reporter(import_id, 0))
        _apply_in_one_transaction(spec, total, on_progress)
    except engine.ImportCancelled:
        return ContactImport.objects.get(pk=import_id)
    except _ApplyCancelled:
        engine.drop_stage(import_id)
        return ContactImport.objects.get(pk=import_id)
    except ImportFileError as exc:
        engine.drop_stage(import_id)
        _fail(import_id, _with_nothing_kept(exc), old=(Status.RUNNING,))
        return ContactImport.objects.get(pk=import_id)
    except NewListTaken as exc:
        engine.drop_stage(import_id)
        _fail(import_id, _with_nothing_kept(exc.message()), old=(Status.RUNNING,))
        return ContactImport.objects.get(pk=import_id)
    except engine.ListGone:
        engine.drop_stage(import_id)
        _fail(
            import_id,
            _with_nothing_kept(_("The list this file was going into was deleted.")),
            old=(Status.RUNNING,),
        )
        return ContactImport.objects.get(pk=import_id)
    except Exception:
        logger.exception("Import %s failed", import_id)
        engine.drop_stage(import_id)
        _fail(
            import_id,
            _with_nothing_kept(_("The import failed unexpectedly.")),
            old=(Status.RUNNING,),
        )
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
            new_list = _create_new_list(spec)
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
                # Only now, with DONE: an earlier write to the import's row would hold its lock
                # for the whole transaction, and SideProgress's second connection, writing the
                # progress to that row, would wait for it for ever.
                **({"contact_list": new_list} if new_list is not None else {}),
            ):
                raise _ApplyCancelled
            _audit_applied(spec.import_id, counts)
            if counts.created or counts.updated:
                _queue_search_catch_up()
    finally:
        side.close()


def _queue_search_catch_up() -> None:
    """The written contacts skipped the search indexes (engine._apply_contacts); a worker adds
    them once they are committed. Robust: a broker that is down leaves it to beat's run."""
    from contacts.tasks import contacts_search_catch_up_task

    transaction.on_commit(contacts_search_catch_up_task.delay, robust=True)


def _create_new_list(spec: engine.ImportSpec) -> ContactList | None:
    """Creates the list the import was to make (ContactImport.new_list_name), inside the apply's
    transaction: the list, its members and DONE are kept together or not at all. The import's
    row is not written here (see _apply_in_one_transaction): the caller records the list with
    DONE."""
    pending = ContactImport.objects.filter(
        pk=spec.import_id, contact_list__isnull=True, target=ContactImport.Target.CONTACTS
    ).exclude(new_list_name="")
    found = pending.select_related("created_by").first()
    if found is None:
        return None
    name = found.new_list_name
    try:
        # Applied by a Celery task: the person who started the import created the list.
        contact_list = contact_list_create(name=name, actor=found.created_by)
    except ValidationError as exc:
        raise NewListTaken(name) from exc
    spec.list_id = contact_list.pk
    return contact_list


class NewListTaken(Exception):
    """Another list took the new list's name between the upload and the apply."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def message(self) -> str:
        return _(
            "A list named “%(name)s” was created after this file was uploaded, so the import "
            "cannot create it. Upload the file again and choose that list, or name another."
        ) % {"name": self.name}


def _audit_applied(import_id: int, counts: engine.ApplyCounts) -> None:
    """One audit entry for the whole import, never one per row: on its list when it has one
    (that is where people look), else on the import itself."""
    contact_import = ContactImport.objects.select_related("contact_list", "created_by").get(
        pk=import_id
    )
    figures = _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged") % {
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
    }
    if contact_import.contact_list:
        figures += _(", %(added)s added to the list") % {"added": counts.added_to_list}
    audit_record(
        action="do-not-contact-import"
        if contact_import.target == ContactImport.Target.DO_NOT_CONTACT
        else "import-applied",
        target=contact_import.contact_list or contact_import,
        message=_("Import of “%(file)s” (#%(id)s) applied: %(figures)s.")
        % {"file": contact_import.original_name, "id": import_id, "figures": figures},
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
        error=_with_nothing_kept(_("Cancelled.")),
        finished_at=timezone.now(),
    ):
        return False
    if idle:
        # No task holds this import: its staged rows go now. A running task drops its own.
        engine.drop_stage(import_id)
        _discard_upload(import_id)
    return True


# --- lost workers --------------------------------------------------------------------------------

# Apply tasks an import may take in all: one lost worker is retried, a second means the import
# itself kills its worker (memory) and needs a person.
APPLY_MAX_ATTEMPTS = 2


@dataclass
class ImportSweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def contact_imports_sweep(*, now: datetime | None = None) -> ImportSweepReport:
    """Imports whose task lost its worker: no heartbeat for CONTACTS_IMPORT_STALE_AFTER.

    Nothing of them is half-written: the apply is one transaction, which PostgreSQL rolled back
    when the worker's connection died, and the staged rows are in their own table. So an import
    queued or running is queued again, once (its claim counts the attempts), from the staged
    rows or the file; a second loss, a dry run or a reading fails with a message that says what
    to do. A redelivered task that comes later finds the import moved and does nothing.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CONTACTS_IMPORT_STALE_AFTER)
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    report = ImportSweepReport()
    stale = ContactImport.objects.filter(silent, status__in=WORKER_STATUSES)
    for import_id, status, attempts in stale.values_list("id", "status", "apply_attempts"):
        if status in (Status.QUEUED, Status.RUNNING) and attempts < APPLY_MAX_ATTEMPTS:
            with transaction.atomic():
                if _set_status_if_silent(
                    import_id, status, silent, status=Status.QUEUED, heartbeat_at=now
                ):
                    report.requeued.append(import_id)
                    from contacts.tasks import contact_import_apply_task

                    transaction.on_commit(
                        lambda i=import_id: contact_import_apply_task.delay(i), robust=True
                    )
            continue
        if _set_status_if_silent(
            import_id,
            status,
            silent,
            status=Status.FAILED,
            error=_(LOST_WORKER_MESSAGES[status]) % {"nothing_kept": _(NOTHING_KEPT)},
            finished_at=now,
        ):
            report.failed.append(import_id)
            engine.drop_stage(import_id)
    for import_id in report.requeued + report.failed:
        logger.warning("import %s: its worker was lost (no heartbeat since %s)", import_id, cutoff)
    return report


WORKER_STATUSES = (Status.READING, Status.ANALYSING, Status.QUEUED, Status.RUNNING)
# English, translated where they are written; `%(nothing_kept)s` is NOTHING_KEPT.
_LOST_TWICE = gettext_noop(
    "The import stopped without finishing: its worker was lost twice (the file may be too big "
    "for it). %(nothing_kept)s Run the dry run again, or split the file."
)
LOST_WORKER_MESSAGES = {
    Status.READING: gettext_noop(
        "Reading the file stopped without finishing: its worker was lost, or no worker took "
        "it. Nothing was imported; upload the file again."
    ),
    Status.ANALYSING: gettext_noop(
        "The dry run stopped without finishing: its worker was lost. %(nothing_kept)s Confirm "
        "the mapping to run it again."
    ),
    Status.QUEUED: _LOST_TWICE,
    Status.RUNNING: _LOST_TWICE,
}


def _set_status_if_silent(import_id: int, old: str, silent: Q, **changes) -> bool:
    """Compare-and-set that also checks the heartbeat: a worker that reported meanwhile keeps
    its import."""
    moved = ContactImport.objects.filter(silent, pk=import_id, status=old).update(**changes)
    return moved == 1
