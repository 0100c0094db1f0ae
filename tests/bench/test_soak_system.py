"""The system soak for 3 minutes, inside `make test` (deselect locally with `-m "not soak"`).

It runs bench/soak_system.py as its own process: that script starts its own sandbox server,
redis-server (a free port, never the machine's), PostgreSQL database (`<DATABASE_URL's
name>_soak`), Celery worker and beat, and stops them all before it exits. It is the test: any
duplicate, lost campaign, undefined state or figure that differs from BSG's fails it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "soak_system.py"
MINUTES = 3
# The run, the setup (migrations) and the bounded drain, with room for a busy machine.
TIMEOUT = MINUTES * 60 + 300 + 240


def run_script(*args: str, timeout: float) -> subprocess.CompletedProcess:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the script stop the processes it started before it exits.
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        pytest.fail(f"the soak did not end within {timeout:.0f} s:\n{out}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, "")


@pytest.mark.soak
def test_the_system_survives_three_minutes_of_faults_restarts_and_stops() -> None:
    done = run_script("--minutes", str(MINUTES), timeout=TIMEOUT)
    out = done.stdout
    assert done.returncode == 0, out
    assert "result: OK" in out
    assert "duplicate submissions: 0" in out
    assert "lost campaigns: 0" in out
    # The run did what it says: worker restarts, one Redis restart, stops, campaigns at BSG.
    assert "redis restarts: 1" in out
    assert "worker restarts: 0 " not in out
    assert "'stopped while sending'" in out or "'cancelled before sending'" in out


def test_the_system_soak_refuses_what_it_cannot_run() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--minutes", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--minutes, --create-every and --restart-every must be positive" in done.stderr
    sqlite = subprocess.run(
        [sys.executable, str(SCRIPT), "--database-url", "sqlite:///x.db"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DATABASE_URL": "sqlite:///x.db"},
    )
    assert sqlite.returncode == 2
    assert "DATABASE_URL must point at PostgreSQL" in sqlite.stderr
