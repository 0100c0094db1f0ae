"""Save screenshots of the main pages to docs/screenshots/ (shown in the README).

They are taken by an end-to-end browser test (tests/browser/test_e2e.py) at the moments a
person would look: real data imported through the UI, a campaign sent through a real Celery
worker to the BSG sandbox. This runs that test with SCREENSHOTS=1 on the same PostgreSQL and
Redis as `make test`:

    .venv/bin/python scripts/screenshots.py
    .venv/bin/python scripts/screenshots.py -x -v      # extra arguments go to pytest

The environment may override DATABASE_URL, REDIS_URL and CELERY_BROKER_URL.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The one end-to-end test that walks every page shown in the README, with data on it.
SCREENSHOT_TEST = (
    "tests/browser/test_e2e.py::"
    "test_an_author_composes_from_an_import_and_an_approver_sends_it_while_the_page_updates"
)
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/bsg_campaigns",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "DEBUG": "false",
}


def main(argv: list[str]) -> int:
    env = {**DEFAULTS, **os.environ, "SCREENSHOTS": "1"}
    env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"])
    command = [sys.executable, "-m", "pytest", SCREENSHOT_TEST, "-q", *argv]
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    for path in sorted((ROOT / "docs" / "screenshots").glob("*.png")):
        print(path.relative_to(ROOT))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
