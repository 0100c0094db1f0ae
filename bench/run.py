"""Run every benchmark at full size and print its figures (`make bench`).

A benchmark is any `bench/<name>.py` other than this runner, the fault soak (`bench/soak.py`,
run by `make soak`) and files starting with "_". Adding one needs no change here: write the
script so that `python bench/<name>.py` with no arguments runs at full size and prints its
figures, exits non-zero on failure, and give it a test that runs it at a tiny size (see
tests/bench/). Each script runs in its own process, with this process's environment (the
Makefile passes the PostgreSQL and Redis settings of the test suite).

    .venv/bin/python bench/run.py                 # every benchmark, in name order
    .venv/bin/python bench/run.py --list
    .venv/bin/python bench/run.py --only sandbox_load -- --campaigns 10   # arguments passed on
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NOT_BENCHMARKS = frozenset({"run", "soak"})


def benchmarks() -> list[str]:
    return sorted(
        path.stem
        for path in BENCH.glob("*.py")
        if path.stem not in NOT_BENCHMARKS and not path.stem.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the benchmarks and stop")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only these")
    parser.add_argument("extra", nargs="*", help="arguments for each script (after --)")
    args = parser.parse_args(argv)

    names = benchmarks()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(names)})")
        names = [name for name in names if name in args.only]

    failed = []
    for name in names:
        command = [sys.executable, str(BENCH / f"{name}.py"), *args.extra]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, check=False)
        elapsed = time.perf_counter() - started
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"== {name}: {status} in {elapsed:.1f} s\n", flush=True)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"Failed: {', '.join(failed)}")
        return 1
    print(f"All {len(names)} benchmark(s) ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
