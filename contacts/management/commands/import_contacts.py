"""`manage.py import_contacts FILE --list NAME [--create-list] [--map column=field ...]`

The web import, from the terminal, for big files and ops: the same services (dry run, then one
transaction), run in this process (no Celery worker needed), with a progress bar on stderr and
the same report on stdout. Without --map, columns are mapped from their headers as the web page
does, and a contact field is created for every column it does not recognise.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.importing import mapping as mapping_rules
from contacts.importing import services
from contacts.importing.reading import ENCODINGS, ImportFileError, inspect_file
from contacts.models import ContactField, ContactImport, ContactList

Status = ContactImport.Status


class ProgressBar:
    """A bar on stderr: one line redrawn in place on a terminal, a line per update otherwise."""

    WIDTH = 30

    def __init__(self, stream, label: str, total: int) -> None:
        self.stream, self.label, self.total = stream, label, max(total, 1)
        self.started = time.monotonic()
        self.live = getattr(stream, "isatty", lambda: False)()

    def update(self, done: int) -> None:
        total = max(self.total, done)
        share = done / total
        filled = int(self.WIDTH * share)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        line = (
            f"{self.label:<10} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} "
            f"{done:,} rows ({rate:,.0f}/s)"
        )
        # Django's OutputWrapper adds a newline unless told otherwise.
        self.stream.write(("\r" if self.live else "") + line, ending="" if self.live else "\n")
        self.stream.flush()

    def finish(self, done: int) -> None:
        self.total = max(done, 1)
        self.update(done)
        if self.live:
            self.stream.write("")


class Command(BaseCommand):
    help = "Import contacts from a CSV or XLSX file into a list, with a dry run and a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV (comma, semicolon or tab) or XLSX file")
        parser.add_argument("--list", required=True, dest="list_name", help="target list name")
        parser.add_argument(
            "--create-list", action="store_true", help="create the list if it does not exist"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="column=field",
            help="map a column (header name, or 1-based number) to phone, name, a field key, "
            "new:<key> to create that field, or nothing to ignore it; repeat per column. "
            "With --map, unmapped columns are ignored.",
        )
        parser.add_argument(
            "--on-existing",
            choices=[choice for choice, _ in ContactImport.OnExisting.choices],
            default=ContactImport.OnExisting.SKIP,
            help="numbers already known: keep their data (skip) or take the file's (update)",
        )
        parser.add_argument("--encoding", choices=ENCODINGS, default="", help="override detection")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="report what would happen and write no contact (fields that --map new:… or "
            "the automatic mapping name are still created)",
        )

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            # Read the file before anything is created: a bad file leaves no empty list behind.
            layout = inspect_file(
                path, path.name, encoding=options["encoding"], limits=services.read_limits()
            )
        except ImportFileError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        explicit = _parse_map(options["map"], layout.headers) if options["map"] else None
        contact_list = self._target_list(options["list_name"], create=options["create_list"])
        try:
            contact_import = services.contact_import_create(
                source_path=path,
                original_name=path.name,
                # A list to create is made only when the rows are written: a dry run or a
                # failure leaves no empty list behind.
                list_id=contact_list.pk if contact_list is not None else None,
                new_list_name=options["list_name"] if contact_list is None else "",
                on_existing=options["on_existing"],
                encoding=options["encoding"],
                enqueue=False,  # read here: this process is the worker
            )
            mapping = explicit if explicit is not None else dict(contact_import.mapping)
            services.contact_import_confirm_mapping(
                import_id=contact_import.pk, mapping=mapping, enqueue=False
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self._describe_mapping(contact_import.pk)

        bar = ProgressBar(self.stderr, "checking", contact_import.rows_total or 0)
        contact_import = services.contact_import_analyse(
            import_id=contact_import.pk, path=path, on_progress=bar.update
        )
        bar.finish(contact_import.rows_processed)
        if contact_import.status != Status.READY:
            raise CommandError(contact_import.error or "The dry run did not finish.")
        if options["dry_run"]:
            self._report_dry_run(contact_import)
            services.contact_import_cancel(import_id=contact_import.pk)
            return
        services.contact_import_start(import_id=contact_import.pk, enqueue=False)
        bar = ProgressBar(self.stderr, "importing", contact_import.rows_total or 0)
        contact_import = services.contact_import_apply(
            import_id=contact_import.pk, path=path, on_progress=bar.update
        )
        if contact_import is None or contact_import.status != Status.DONE:
            raise CommandError(
                (contact_import and contact_import.error) or "The import did not finish."
            )
        bar.finish(contact_import.rows_total or 0)
        self._report(contact_import)

    def _target_list(self, name: str, *, create: bool) -> ContactList | None:
        """The existing list named `name`, or None for one the import is to create."""
        found = ContactList.objects.filter(name__iexact=name.strip()).first()
        if found is not None:
            if found.is_archived:
                raise CommandError(f"The list “{found.name}” is archived; unarchive it first.")
            return found
        if not create:
            raise CommandError(f"No list named “{name}”. Add --create-list to create it.")
        return None

    def _describe_mapping(self, import_id: int) -> None:
        contact_import = ContactImport.objects.get(pk=import_id)
        parts = [
            f"{contact_import.headers[int(column)] or '#' + str(int(column) + 1)} → "
            f"{target.removeprefix(mapping_rules.FIELD_PREFIX)}"
            for column, target in contact_import.mapping.items()
            if target
        ]
        self.stdout.write("Columns: " + ", ".join(parts))

    def _report_dry_run(self, contact_import: ContactImport) -> None:
        self.stdout.write(f"Dry run of {contact_import.original_name}: nothing was written.")
        self.stdout.write(f"rows read        {contact_import.rows_total:>12,}")
        for outcome, label in (
            ("new", "would create"),
            ("updated", "would update"),
            ("unchanged", "unchanged"),
            ("duplicate", "duplicates"),
            ("invalid", "invalid"),
        ):
            self.stdout.write(f"{label:<16} {contact_import.dry_run[outcome]['count']:>12,}")
        self._report_rejected(contact_import)

    def _report(self, contact_import: ContactImport) -> None:
        list_name = contact_import.contact_list.name if contact_import.contact_list else "?"
        self.stdout.write(
            self.style.SUCCESS(f"Imported {contact_import.original_name} into “{list_name}”.")
        )
        for label, value in (
            ("rows read", contact_import.rows_total),
            ("created", contact_import.rows_created),
            ("updated", contact_import.rows_updated),
            ("unchanged", contact_import.rows_unchanged),
            ("duplicates", contact_import.rows_duplicate),
            ("invalid", contact_import.rows_invalid),
            ("added to list", contact_import.rows_added_to_list),
        ):
            self.stdout.write(f"{label:<16} {value or 0:>12,}")
        self._report_rejected(contact_import)

    def _report_rejected(self, contact_import: ContactImport) -> None:
        examples = contact_import.dry_run.get("invalid", {}).get("examples", [])
        for example in examples:
            self.stdout.write(f"  row {example['row']}: {example['detail']}")
        if contact_import.rejected_file:
            self.stdout.write(f"Rejected rows with reasons: {contact_import.rejected_file.path}")


def _parse_map(pairs: list[str], headers: list[str]) -> dict[str, str]:
    """`--map` values as a mapping {column index: target}; CommandError for anything unclear."""
    known = set(ContactField.objects.values_list("key", flat=True))
    mapping = {str(i): mapping_rules.IGNORE for i in range(len(headers))}
    for pair in pairs:
        column_name, sep, target = pair.partition("=")
        if not sep:
            raise CommandError(f"--map {pair}: write it as column=field, e.g. Phone=phone.")
        column = _column_index(column_name.strip(), headers)
        target = target.strip()
        if target in ("", mapping_rules.PHONE, mapping_rules.NAME) or target.startswith(
            services.NEW_FIELD_PREFIX
        ):
            mapping[column] = target
        elif target in known:
            mapping[column] = mapping_rules.field_target(target)
        else:
            choices = ", ".join(sorted(known)) or "none yet"
            raise CommandError(
                f"--map {pair}: there is no field “{target}” (fields: {choices}). "
                f"Use {column_name}=new:{target} to create it."
            )
    return mapping


def _column_index(name: str, headers: list[str]) -> str:
    for i, header in enumerate(headers):
        if header == name:
            return str(i)
    for i, header in enumerate(headers):
        if header.lower() == name.lower():
            return str(i)
    if name.isdigit() and 1 <= int(name) <= len(headers):
        return str(int(name) - 1)
    raise CommandError(f"--map: the file has no column “{name}” (columns: {', '.join(headers)}).")
