"""Each in-process benchmark's own entry point at a tiny size, as `make bench` starts it.

The other tests call the benchmarks' `run()` inside the test database; these start the scripts
the way bench/run.py does, so what only their `main()` does (its own database beside
DATABASE_URL's, created, migrated and dropped; its sandbox) keeps working on a fresh machine.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the benchmarks load with PostgreSQL's COPY (DATABASE_URL)",
)


@pytest.mark.parametrize(
    ("script", "args", "says"),
    [
        ("engine_poll.py", ["--parts", "5"], '"api_calls"'),
        ("engine_submit.py", ["--recipients", "300"], '"total_seconds"'),
        ("engine_submit.py", ["--contacts", "300"], '"total_seconds"'),
        (
            "contact_pages.py",
            ["--contacts", "300", "--repeats", "1", "--plans"],
            "#### plan: list detail `Everyone` (counts, audience)",
        ),
        ("import_contacts.py", ["--rows", "2000"], "rows/s"),
        ("import_compare.py", ["--rows", "400"], "figure: ours x times faster"),
        (
            "callbacks.py",
            ["--recipients", "300", "--validity-hours", "1"],
            "figure: poll calls saved",
        ),
    ],
)
def test_the_benchmark_runs_from_its_command_line_in_a_database_of_its_own(
    script: str, args: list[str], says: str
) -> None:
    ran = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert says in ran.stdout
