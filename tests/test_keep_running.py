"""scripts/keep_running.py: `make run`'s worker is started again when it exits on its own, and
a signal ends both the supervisor and the command."""

import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "keep_running.py"
# Exits at once on its first two runs (as a worker losing Redis does), then keeps running.
FLAKY = """
import pathlib, sys, time
counter = pathlib.Path(sys.argv[1])
runs = int(counter.read_text() or 0) + 1 if counter.exists() else 1
counter.write_text(str(runs))
if runs < 3:
    sys.exit(1)
time.sleep(60)
"""


def test_a_command_that_exits_is_started_again_and_a_signal_ends_both(tmp_path):
    counter = tmp_path / "runs"
    supervisor = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--delay",
            "0.05",
            "--",
            sys.executable,
            "-c",
            FLAKY,
            str(counter),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (counter.exists() and counter.read_text() == "3"):
        assert time.monotonic() < deadline, "the command was not started again"
        time.sleep(0.05)
    supervisor.send_signal(signal.SIGTERM)
    supervisor.wait(timeout=10)
    assert "exited with 1; starting it again" in supervisor.stderr.read()
    assert counter.read_text() == "3"


def test_without_a_command_it_says_what_to_give():
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "give the command to run after --" in result.stderr
