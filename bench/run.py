"""Run every benchmark at full size, several times, and report min/median/max (`make bench`).

A benchmark is any `bench/<name>.py` other than this runner, the messy corpus's writer, the soaks
(`bench/soak*.py`, run by `make soak`) and files starting with "_". Adding one needs no change
here: write the script so that `python bench/<name>.py` with no arguments runs at full size and
prints its figures, exits non-zero on failure, and give it a test that runs it at a tiny size
(see tests/bench/). Each script runs in its own process, with this process's environment (the
Makefile passes the PostgreSQL and Redis settings of the test suite).

Each benchmark runs --repeat times (default 3); its headline figures are read from what it
prints and reported as min / median / max over the runs, with the command and the machine, as
Markdown ready for BENCHMARKS.md (`--markdown FILE` also writes it to a file). A script states
its headline figures by printing lines `figure: <label> = <number> [unit]`; for the scripts
written before that convention, HEADLINES below says where their figures are. The wall time of
each run is always reported.

    .venv/bin/python bench/run.py                 # every benchmark, 3 runs each, in name order
    .venv/bin/python bench/run.py --list
    .venv/bin/python bench/run.py --repeat 5 --only sandbox_load -- --campaigns 10
    .venv/bin/python bench/run.py --scale 10m     # issue 16's ten million (SCALED), once each

`--scale N` (10m, 1m, 200k or a plain number) runs only the benchmarks whose size is a number
of contacts or rows (SCALED), each given that size (`--contacts N` and `--plans`, their query
plans for BENCHMARKS.md; the messy import `--rows N`), once unless --repeat says otherwise:
seeding ten million takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# messy_corpus writes the file bench/import_messy.py measures on; it measures nothing itself (and
# needs an output path, so `make bench` would fail on it).
NOT_BENCHMARKS = frozenset({"run", "messy_corpus"})

FIGURE_LINE = re.compile(r"^figure: (?P<label>.+?) = (?P<value>-?[\d.,]+)(?: (?P<unit>\S.*))?$")

# Where the figures are in the output of the scripts that print no `figure:` lines: either the
# keys of the JSON object they print, or (label, regular expression with one number, unit).
HEADLINES: dict[str, list[tuple[str, str, str]]] = {
    "sandbox_load": [
        ("total time", r"^\s*total ([\d.]+) s,", "s"),
        ("messages per second", r" ([\d,]+) msg/s", "msg/s"),
    ],
    "import_contacts": [
        ("dry run", r"^dry run \(read, stage\)\s+([\d.]+) s", "s"),
        ("import", r"^import \(one transaction\)\s+([\d.]+) s", "s"),
        ("total", r"^total\s+([\d.]+) s", "s"),
        ("rows per second", r"^total\s+.*= ([\d,]+) rows/s", "rows/s"),
        ("peak RSS", r"^peak RSS \(this process\)\s+([\d.]+) MiB", "MiB"),
    ],
    "contact_pages": [
        ("seeding", r"^contact pages: [\d,]+ contacts loaded in ([\d.]+) s", "s"),
        # One figure per page: the median of its table row.
        ("{label} median", r"^\| (?P<label>[^|]+?) \| (\d+) \| \d+ \| \d+ \|$", "ms"),
    ],
    "send_plan": [
        ("json", "load_seconds", "s"),
        ("json", "plan_seconds", "s"),
        ("json", "peak_rss_mib", "MiB"),
    ],
    "engine_submit": [
        ("json", "dispatch_seconds", "s"),
        ("json", "submit_seconds", "s"),
        ("json", "total_seconds", "s"),
        ("json", "peak_rss_mib", "MiB"),
    ],
    "engine_poll": [("json", "api_calls", "calls"), ("json", "seconds", "s")],
    "engine_dispatch_workers": [
        ("json", "seed_seconds", "s"),
        ("json", "dispatch_seconds", "s"),
        ("json", "submit_seconds", "s"),
        ("json", "total_seconds", "s"),
        ("json", "peak_rss_mib", "MiB"),
        ("json", "rss_growth_after_warm_up_mib", "MiB"),
    ],
}
# The benchmarks sized by a number of contacts: what `--scale N` runs, and the arguments that
# give each its size and its query plans.
SCALED: dict[str, list[str]] = {
    "contact_pages": ["--contacts", "{n}", "--plans"],
    "send_plan": ["--contacts", "{n}", "--plans"],
    "engine_submit": ["--contacts", "{n}"],
    "engine_dispatch_workers": ["--contacts", "{n}"],
    # The messy import of as many rows: issue 16's 10M rows in 150 s with flat memory.
    "import_messy": ["--rows", "{n}"],
}
SCALE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[km]?)$", re.IGNORECASE)
# Numeric keys of a printed JSON object taken as figures when HEADLINES names none.
JSON_FIGURE_SUFFIXES = ("seconds", "_s", "_ms", "_mib", "per_s", "ratio")


@dataclass
class Figure:
    label: str
    unit: str
    values: list[float] = field(default_factory=list)


def contacts_of(scale: str) -> int:
    """`--scale`'s number of contacts: "10m" -> 10,000,000, "200k" -> 200,000, "5000" -> 5,000."""
    match = SCALE.match(scale.strip())
    if match is None:
        raise ValueError(f"{scale!r} is not a size (10m, 1m, 200k, 5000)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match["unit"].lower()]
    return int(float(match["number"]) * factor)


def scaled_arguments(name: str, contacts: int) -> list[str]:
    return [argument.format(n=contacts) for argument in SCALED[name]]


def benchmarks() -> list[str]:
    return sorted(
        path.stem
        for path in BENCH.glob("*.py")
        if path.stem not in NOT_BENCHMARKS and not path.stem.startswith(("_", "soak"))
    )


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _printed_json(output: str) -> dict:
    """The last JSON object the script printed (pretty-printed over several lines or not)."""
    lines = output.splitlines()
    for end in range(len(lines) - 1, -1, -1):
        if lines[end].rstrip() != "}":
            continue
        for start in range(end, -1, -1):
            if lines[start].startswith("{"):
                try:
                    found = json.loads("\n".join(lines[start : end + 1]))
                except ValueError:
                    continue
                if isinstance(found, dict):
                    return found
        break
    return {}


def figures_of(name: str, output: str) -> list[tuple[str, float, str]]:
    """The headline figures in one run's output: (label, value, unit)."""
    found: list[tuple[str, float, str]] = []
    for line in output.splitlines():
        match = FIGURE_LINE.match(line.strip())
        if match:
            found.append((match["label"], _number(match["value"]), match["unit"] or ""))
    if found:
        return found
    printed = _printed_json(output)
    rules = HEADLINES.get(name)
    if rules is None:
        return [
            (key, float(value), "")
            for key, value in printed.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and key.endswith(JSON_FIGURE_SUFFIXES)
        ]
    for label, rule, unit in rules:
        if label == "json":
            if isinstance(printed.get(rule), int | float):
                found.append((rule, float(printed[rule]), unit))
            continue
        pattern = re.compile(rule, re.MULTILINE)
        for match in pattern.finditer(output):
            named = match.groupdict()
            value = match.group(len(match.groups()))
            found.append((label.format(**named).strip(), _number(value), unit))
    return found


def machine() -> dict[str, str]:
    """What the figures were measured on (the runner's environment: the same as the scripts')."""
    facts = {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU": "unknown",
        "RAM": "unknown",
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "Python": platform.python_version(),
        "PostgreSQL": "not reached",
        "Redis": "not reached",
        "load average at start": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if model:
            facts["CPU"] = model.group(1).strip()
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = re.search(r"^MemTotal:\s+(\d+) kB", meminfo.read_text(), re.MULTILINE)
        if total:
            facts["RAM"] = f"{int(total.group(1)) // 1024:,} MiB"
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")):
        try:
            import psycopg

            # The server's version: its maintenance database is there even when the named one
            # is not created yet (pytest-django makes test_<name>).
            with psycopg.connect(database_url, dbname="postgres", connect_timeout=3) as connection:
                row = connection.execute("SHOW server_version").fetchone()
                facts["PostgreSQL"] = row[0] if row else "unknown"
        except Exception as error:  # the runner reports, it does not fail on this
            facts["PostgreSQL"] = f"not reached ({type(error).__name__})"
    try:
        import redis

        url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        info = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).info("server")
        facts["Redis"] = str(info.get("redis_version", "unknown"))
    except Exception as error:  # the runner reports, it does not fail on this
        facts["Redis"] = f"not reached ({type(error).__name__})"
    return facts


def _format(value: float) -> str:
    if value == int(value) and abs(value) >= 100:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def summary_markdown(
    results: dict[str, dict],
    facts: dict[str, str],
    repeat: int,
    extra: list[str],
    scale: str | None = None,
) -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/run.py --repeat {repeat}"
        + (f" --scale {scale}" if scale else "")
        + (f" -- {shlex.join(extra)}" if extra else "")
        + "`.",
        "",
        "Machine: " + "; ".join(f"{key} {value}" for key, value in facts.items()) + ".",
    ]
    for name, result in results.items():
        runs = result["codes"]
        failed = sum(1 for code in runs if code != 0)
        lines += [
            "",
            f"### {name}",
            "",
            f"Command: `{result['command']}`; {len(runs)} run(s)"
            + (f", {failed} FAILED" if failed else ", all ok")
            + ".",
            "",
            "| figure | min | median | max | unit |",
            "|---|---|---|---|---|",
        ]
        for figure in result["figures"].values():
            values = figure.values
            lines.append(
                f"| {figure.label} | {_format(min(values))} | "
                f"{_format(statistics.median(values))} | {_format(max(values))} | {figure.unit} |"
                + ("" if len(values) == len(runs) else f" (in {len(values)} of {len(runs)} runs)")
            )
    return "\n".join(lines) + "\n"


def run_one(command: list[str]) -> tuple[int, str, float]:
    """Runs one benchmark process, echoing its output as it comes, and returns it too."""
    started = time.perf_counter()
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        output = []
        for line in process.stdout:
            print(line, end="", flush=True)
            output.append(line)
        code = process.wait()
    return code, "".join(output), time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the benchmarks and stop")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only these")
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs of each benchmark (3; with --scale, 1)"
    )
    parser.add_argument(
        "--scale",
        metavar="N",
        help="only the benchmarks sized in contacts, at N contacts (10m, 1m, 200k), with plans",
    )
    parser.add_argument("--markdown", type=Path, help="also write the summary to this file")
    parser.add_argument("extra", nargs="*", help="arguments for each script (after --)")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.scale else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    contacts = None
    if args.scale:
        try:
            contacts = contacts_of(args.scale)
        except ValueError as problem:
            parser.error(str(problem))

    names = benchmarks()
    if contacts is not None:
        names = [name for name in names if name in SCALED]
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(names)})")
        names = [name for name in names if name in args.only]

    facts = machine()
    results: dict[str, dict] = {}
    failed = []
    for name in names:
        sized = scaled_arguments(name, contacts) if contacts is not None else []
        command = [sys.executable, str(BENCH / f"{name}.py"), *sized, *args.extra]
        shown = " ".join(["bench/" + f"{name}.py", *sized, *args.extra])
        figures: dict[str, Figure] = {}
        codes = []
        for attempt in range(1, args.repeat + 1):
            print(f"== {name} (run {attempt} of {args.repeat}): {shown}", flush=True)
            code, output, elapsed = run_one(command)
            codes.append(code)
            status = "ok" if code == 0 else f"FAILED (exit {code})"
            print(f"== {name}: {status} in {elapsed:.1f} s\n", flush=True)
            for label, value, unit in [*figures_of(name, output), ("wall time", elapsed, "s")]:
                figures.setdefault(label, Figure(label, unit)).values.append(value)
        results[name] = {"command": shown, "codes": codes, "figures": figures}
        if any(codes):
            failed.append(name)

    summary = summary_markdown(results, facts, args.repeat, args.extra, args.scale)
    print("== summary (min / median / max over the runs)\n")
    print(summary)
    if args.markdown:
        args.markdown.write_text(summary)
    if failed:
        print(f"Failed: {', '.join(failed)}")
        return 1
    print(f"All {len(names)} benchmark(s) ran, {args.repeat} time(s) each.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
