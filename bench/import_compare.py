"""Our contact import against django-import-export on the same CSV, in the same run.

The CSV is bench/import_contacts.py's (phone + first_name, city, order_no; 5 % invalid and 5 %
repeated numbers), 100,000 rows by default. Each importer starts from empty contact tables in
a database of its own beside DATABASE_URL's (`<name>_bench_import_compare`, dropped at the end):

- django-import-export: the `ModelResource` for Contact a Django user would write (below):
  phone as the import id, the phone normalized and checked by `contacts.phones` (a bad one
  is an invalid row, as in ours), the other columns into the contact's `fields`, and the
  library's defaults otherwise; `import_data(dataset)` after `Dataset().load(file)`, as the
  library's admin does once the user confirms.
- ours: upload → mapping → dry run → import through `contacts.importing.services` (the path
  the web page's tasks take), which also adds every contact to a list, and writes the
  rejected rows' CSV.

Both must leave the same contacts (phones and fields), or the run fails. Printed: the seconds
of each, and "ours x times faster" (their seconds / ours).

    .venv/bin/python bench/import_compare.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELD_COLUMNS = ("first_name", "city", "order_no")


def _import_contacts_bench():
    """bench/import_contacts.py, for its CSV generator, its run and its database helpers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_import_contacts", Path(__file__).resolve().parent / "import_contacts.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def contact_resource():
    """The django-import-export resource for Contact, as its documentation teaches."""
    from django.core.exceptions import ValidationError
    from import_export import resources

    from contacts.models import Contact
    from contacts.phones import InvalidPhone, normalize_phone

    class ContactResource(resources.ModelResource):
        class Meta:
            model = Contact
            import_id_fields = ("phone",)
            fields = ("phone", "fields")
            skip_unchanged = True

        def before_import_row(self, row, **kwargs):
            try:
                row["phone"] = normalize_phone(row["phone"])
            except InvalidPhone as exc:
                raise ValidationError({"phone": str(exc)}) from exc
            values = {key: row[key].strip() for key in FIELD_COLUMNS if row[key].strip()}
            row["fields"] = json.dumps(values, ensure_ascii=False)

    return ContactResource()


def _empty_contact_tables() -> None:
    """Deletes (not TRUNCATE: our import's progress connection must not wait on its lock in
    a test's transaction), then vacuums where it can so that neither importer meets the
    other's dead rows."""
    from django.db import connection

    tables = ("listmembership", "contact", "contactimport", "contactlist")
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM contacts_{table}")
        if connection.vendor == "postgresql":
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            cursor.execute(f"{command} {', '.join(f'contacts_{t}' for t in tables)}")


def _contacts_snapshot() -> dict[str, dict]:
    from contacts.models import Contact

    return dict(Contact.objects.values_list("phone", "fields"))


def run_django_import_export(path: Path) -> dict:
    import tablib

    started = time.perf_counter()
    with open(path, encoding="utf-8") as stream:
        dataset = tablib.Dataset().load(stream.read(), format="csv")
    result = contact_resource().import_data(dataset, dry_run=False, raise_errors=False)
    elapsed = time.perf_counter() - started
    if result.has_errors():
        raise RuntimeError(
            f"django-import-export failed: {result.base_errors or result.row_errors()[:1]}"
        )
    return {
        "seconds": elapsed,
        "new": result.totals["new"],
        "invalid": result.totals["invalid"],
        "contacts": _contacts_snapshot(),
    }


def run_ours(path: Path, workdir: Path) -> dict:
    from django.core.files import File

    from contacts.importing import services
    from contacts.models import ContactImport, ContactList

    contact_list = ContactList.objects.create(name=f"Compare {time.time_ns()}")
    started = time.perf_counter()
    with open(path, "rb") as stream:
        contact_import = services.contact_import_create(
            upload=File(stream, name=path.name),
            original_name=path.name,
            list_id=contact_list.pk,
            enqueue=False,
        )
    # Every column into the contact's fields, as the django-import-export resource does: our
    # guess would put the "first_name" column into Name (a built-in field comes first).
    mapping = dict(contact_import.mapping)
    for column, header in enumerate(contact_import.headers):
        if header in FIELD_COLUMNS:
            mapping[str(column)] = services.NEW_FIELD_PREFIX + header
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=mapping, enqueue=False
    )
    services.contact_import_analyse(import_id=contact_import.pk)
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    contact_import = services.contact_import_apply(import_id=contact_import.pk)
    elapsed = time.perf_counter() - started
    if contact_import is None or contact_import.status != ContactImport.Status.DONE:
        raise RuntimeError(f"our import failed: {contact_import and contact_import.error}")
    return {
        "seconds": elapsed,
        "new": contact_import.rows_created,
        "invalid": contact_import.rows_invalid,
        "contacts": _contacts_snapshot(),
    }


def _repeated_numbers(path: Path) -> set[str]:
    """Numbers on more than one row: ours keeps the first row's fields (the others are
    reported as duplicates), django-import-export the last one's (each row updates)."""
    import csv

    from contacts.phones import InvalidPhone, normalize_phone

    seen: set[str] = set()
    repeated: set[str] = set()
    with open(path, encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            try:
                phone = normalize_phone(row["phone"])
            except InvalidPhone:
                continue
            (repeated if phone in seen else seen).add(phone)
    return repeated


def _check_same_contacts(theirs: dict, ours: dict, repeated: set[str]) -> None:
    if theirs.keys() != ours.keys():
        only_theirs = sorted(theirs.keys() - ours.keys())
        only_ours = sorted(ours.keys() - theirs.keys())
        raise RuntimeError(
            f"the two imports disagree: {len(only_theirs)} contacts only theirs "
            f"({only_theirs[:3]}), {len(only_ours)} only ours ({only_ours[:3]})"
        )
    differ = [p for p, fields in ours.items() if p not in repeated and theirs[p] != fields]
    if differ:
        raise RuntimeError(f"{len(differ)} contacts have other fields, e.g. {differ[:3]}")


def run_comparison(rows: int, workdir: Path) -> dict:
    """Both imports of one generated file, each into empty contact tables; the figures."""
    path = workdir / f"compare-{rows}.csv"
    _import_contacts_bench().generate_csv(path, rows)
    repeated = _repeated_numbers(path)
    try:
        _empty_contact_tables()
        theirs = run_django_import_export(path)
        _empty_contact_tables()
        ours = run_ours(path, workdir)
    finally:
        path.unlink()
    _check_same_contacts(theirs["contacts"], ours["contacts"], repeated)
    return {
        "rows": rows,
        "django_import_export_s": theirs["seconds"],
        "ours_s": ours["seconds"],
        "ratio": theirs["seconds"] / ours["seconds"],
        "contacts": len(ours["contacts"]),
        "invalid": ours["invalid"],
    }


def report(figures: dict) -> str:
    return "\n".join(
        [
            f"rows {figures['rows']:,}: {figures['contacts']:,} contacts, "
            f"{figures['invalid']:,} invalid rows, the same in both",
            f"figure: django-import-export = {figures['django_import_export_s']:.2f} s",
            f"figure: ours (dry run + import) = {figures['ours_s']:.2f} s",
            f"figure: ours x times faster = {figures['ratio']:.1f} x",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    bench = _import_contacts_bench()
    print(report(bench.run_set_up("bench_import_compare", run_comparison, args.rows)))


if __name__ == "__main__":
    main()
