"""Import a big contact CSV into PostgreSQL through the same services the web page uses.

Generates a CSV (phone + 3 fields; 5% invalid numbers, 5% repeated numbers), then runs
upload → mapping → dry run → import exactly as the UI does (the Celery tasks call these same
service functions), and prints rows/s, peak memory, and, as the floor, PostgreSQL's own COPY of
the same file into a bare table.

    .venv/bin/python bench/import_contacts.py [--rows 1000000]

It works in a database of its own beside DATABASE_URL's (`<name>_bench_import`, created and
migrated at the start and dropped at the end: bench/_database.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVALID_SHARE = 0.05
DUPLICATE_SHARE = 0.05
CITIES = ["Kyiv", "Lviv", "Odesa", "Kharkiv", "Dnipro", "Київ", "Львів", "Zaporizhzhia"]
NAMES = ["Olena", "Taras", "Iryna", "Andrii", "Oksana", "Dmytro", "Юлія", "Богдан"]
MOBILE_CODES = ["50", "66", "67", "68", "63", "73", "93", "95", "96", "97", "98", "99"]


def _peak_rss_mib() -> float:
    from bench._memory import peak_rss_mib

    return peak_rss_mib()


def generate_csv(path: Path, rows: int, *, seed: int = 2026) -> None:
    """phone,first_name,city,order_no — streamed to disk, never held in memory."""
    rng = random.Random(seed)
    issued: list[str] = []
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["phone", "first_name", "city", "order_no"])
        for i in range(rows):
            draw = rng.random()
            if draw < INVALID_SHARE:
                phone = rng.choice(["12345", "+380 50 12", "not a phone", "3.805E+11", ""])
            elif draw < INVALID_SHARE + DUPLICATE_SHARE and issued:
                phone = rng.choice(issued)
            else:
                digits = f"380{rng.choice(MOBILE_CODES)}{rng.randrange(10**7):07d}"
                # Mostly clean digits, as exports give them; some typed the way people do.
                phone = digits if draw < 0.9 else f"+{digits[:3]} {digits[3:5]} {digits[5:]}"
                if len(issued) < 100_000:
                    issued.append(phone)
            writer.writerow([phone, rng.choice(NAMES), rng.choice(CITIES), f"A-{i:08d}"])


def peak_rss_mib() -> float:
    return _peak_rss_mib()


def copy_floor(path: Path, *, columns: int = 4) -> float:
    """Seconds for PostgreSQL's own COPY of the CSV file (a header and `columns` columns) into
    a bare table (no checks, no index)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_copy_floor "
            f"({', '.join(f'c{n} text' for n in range(1, columns + 1))})"
        )
        started = time.perf_counter()
        with (
            cursor.copy("COPY bench_copy_floor FROM STDIN (FORMAT csv, HEADER true)") as copy,
            open(path, "rb") as stream,
        ):
            while block := stream.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy_floor")
    return elapsed


# The dry run's steps, timed from outside (module, function, label): the code is unchanged.
DRY_RUN_STEPS = [
    ("engine", "_write_chunk", "read, check, COPY"),
    ("engine", "_mark_duplicates", "mark duplicates, ANALYZE"),
    ("engine", "dry_run_figures", "figures"),
    ("services", "_save_rejected", "rejected rows CSV"),
]


@contextmanager
def timed_steps(steps: dict[str, float]):
    """Adds the seconds spent in each of DRY_RUN_STEPS to `steps` while in the block."""
    from contacts.importing import engine, services

    modules = {"engine": engine, "services": services}
    originals = []
    for module_name, name, label in DRY_RUN_STEPS:
        module = modules[module_name]
        original = getattr(module, name)
        originals.append((module, name, original))

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                steps[_label] = steps.get(_label, 0.0) + time.perf_counter() - started

        setattr(module, name, timed)
    try:
        yield steps
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def run_benchmark(rows: int, workdir: Path) -> dict[str, float]:
    """Runs the import once in the current database and returns the figures."""
    from django.core.files import File

    from contacts.importing import services
    from contacts.models import Contact, ContactImport, ContactList

    path = workdir / f"contacts-{rows}.csv"
    generate_csv(path, rows)
    contact_list = ContactList.objects.create(name=f"Bench {rows} {time.time_ns()}")
    load_before = os.getloadavg()[0]

    started = time.perf_counter()
    with open(path, "rb") as stream:
        contact_import = services.contact_import_create(
            upload=File(stream, name=path.name),
            original_name=path.name,
            list_id=contact_list.pk,
            enqueue=False,
        )
    contact_import = services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    uploaded = time.perf_counter()
    with timed_steps({}) as dry_run_steps:
        contact_import = services.contact_import_analyse(import_id=contact_import.pk)
    assert contact_import is not None and contact_import.status == ContactImport.Status.READY, (
        contact_import and contact_import.error
    )
    analysed = time.perf_counter()
    services.contact_import_start(import_id=contact_import.pk, enqueue=False)
    step_times: list[float] = []
    contact_import = services.contact_import_apply(
        import_id=contact_import.pk,
        on_progress=lambda _rows: step_times.append(time.perf_counter()),
    )
    assert contact_import is not None and contact_import.status == ContactImport.Status.DONE, (
        contact_import and contact_import.error
    )
    applied = time.perf_counter()

    floor = copy_floor(path)
    total = applied - started
    figures = {
        "rows": rows,
        "file_mib": path.stat().st_size / 1024 / 1024,
        "upload_and_mapping_s": uploaded - started,
        "dry_run_s": analysed - uploaded,
        "dry_run_steps_s": {label: round(value, 2) for label, value in dry_run_steps.items()},
        "import_s": applied - analysed,
        "import_steps_s": [
            round(b - a, 2)
            for a, b in zip([analysed, *step_times], [*step_times, applied], strict=True)
        ],
        "total_s": total,
        "rows_per_s": rows / total,
        "copy_floor_s": floor,
        "peak_rss_mib": peak_rss_mib(),
        "created": contact_import.rows_created,
        "duplicates": contact_import.rows_duplicate,
        "invalid": contact_import.rows_invalid,
        "contacts_in_db": Contact.objects.count(),
        # Other work on the machine (2 CPUs): the same code runs ~2x slower at a load of 6.
        "load_average": (load_before, os.getloadavg()[0]),
    }
    path.unlink()
    return figures


def report(figures: dict[str, float]) -> str:
    return "\n".join(
        [
            f"rows                     {figures['rows']:>12,}  ({figures['file_mib']:.1f} MiB CSV)",
            f"upload + mapping         {figures['upload_and_mapping_s']:>12.2f} s",
            f"dry run (read, stage)    {figures['dry_run_s']:>12.2f} s"
            f"  ({', '.join(f'{k}: {v}' for k, v in figures['dry_run_steps_s'].items())})",
            f"import (one transaction) {figures['import_s']:>12.2f} s"
            f"  (update known, list known, insert new, commit: {figures['import_steps_s']})",
            f"total                    {figures['total_s']:>12.2f} s"
            f"  = {figures['rows_per_s']:,.0f} rows/s",
            f"PostgreSQL COPY floor    {figures['copy_floor_s']:>12.2f} s  (same file, bare table)",
            f"peak RSS (this process)  {figures['peak_rss_mib']:>12.0f} MiB",
            f"created {figures['created']:,}, duplicates {figures['duplicates']:,}, "
            f"invalid {figures['invalid']:,}",
            "load average (1 min)     {:>12.1f} before, {:.1f} after".format(
                *figures["load_average"]
            ),
        ]
    )


def run_set_up(suffix: str, work, rows: int) -> dict:
    """`work(rows, folder)` with Django set up: a database of its own (`<name>_<suffix>`) and a
    temporary MEDIA_ROOT, the folder the uploads and reports go to, as on the import pages."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    with tempfile.TemporaryDirectory() as media:
        os.environ["MEDIA_ROOT"] = media
        import django

        django.setup()
        from bench._database import own_database

        with own_database(suffix):
            return work(rows, Path(media))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(report(run_set_up("bench_import", run_benchmark, args.rows)))


if __name__ == "__main__":
    main()
