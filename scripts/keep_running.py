"""Run a command and start it again whenever it exits on its own, as a process supervisor does.

`make run` wraps the Celery worker in it: honcho stops every process when one exits, and a
worker can still end on its own (kombu 5.7 did on every Redis restart under a running task until
config/broker.py contained it; an out-of-memory kill would too). A signal to this script
(Ctrl-C, honcho's SIGTERM) is passed on to the command and ends both.

    python scripts/keep_running.py [--delay SECONDS] -- COMMAND [ARG ...]
"""

import argparse
import signal
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=2.0, help="seconds before a restart")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping:
            return code
        print(
            f"keep_running: {command[0]} exited with {code}; starting it again in {args.delay:g} s",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(args.delay)
        if stopping:
            return code


if __name__ == "__main__":
    sys.exit(main())
