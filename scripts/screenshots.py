"""Save screenshots of the main pages to docs/screenshots/ (shown in the README).

They are taken by the journey test (tests/browser/test_journeys_browser.py), on a desktop and
on a phone, at the moments a person would look: a messy CSV imported through the pages, an SMS
and an RCS campaign composed by a new author, approved from a new approver's inbox and sent
through a real Celery worker to the BSG sandbox. This runs that test (both widths) with
SCREENSHOTS=1 on the same PostgreSQL and Redis as `make test`. After a passing run, pictures
it did not take (of pages it no longer shows) are removed: the folder holds what one run shows.

    .venv/bin/python scripts/screenshots.py
    .venv/bin/python scripts/screenshots.py -x -v      # extra arguments go to pytest

The environment may override DATABASE_URL, REDIS_URL and CELERY_BROKER_URL.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The journey that walks every page shown in the README, with data on it, at both widths.
SCREENSHOT_TEST = (
    "tests/browser/test_journeys_browser.py::"
    "test_a_new_author_and_a_new_approver_from_a_messy_csv_to_two_finished_campaigns"
)
FOLDER = ROOT / "docs" / "screenshots"
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/bsg_campaigns",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "DEBUG": "false",
}


def main(argv: list[str]) -> int:
    env = {**DEFAULTS, **os.environ, "SCREENSHOTS": "1"}
    env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"])
    started = time.time()
    command = [sys.executable, "-m", "pytest", SCREENSHOT_TEST, "-q", *argv]
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if done.returncode == 0:
        for old in FOLDER.glob("*.png"):
            if old.stat().st_mtime < started:
                print(f"removed {old.relative_to(ROOT)} (not taken any more)")
                old.unlink()
    for path in sorted(FOLDER.glob("*.png")):
        print(path.relative_to(ROOT))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
