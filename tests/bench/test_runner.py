"""bench/run.py: repeated runs reported as min / median / max, with the command and machine."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_figure_lines_are_read_first_with_their_units() -> None:
    runner = load_runner()
    output = "noise\nfigure: steady p95 = 31.5 ms\nfigure: saturation throughput = 1,240 req/s\n"
    assert runner.figures_of("web_load", output) == [
        ("steady p95", 31.5, "ms"),
        ("saturation throughput", 1240.0, "req/s"),
    ]


def test_the_older_scripts_figures_are_found_in_their_own_output() -> None:
    runner = load_runner()
    sandbox = "sandbox load: 3 campaigns\n  total 23.3 s, 42,828 msg/s (building bodies included)\n"
    assert runner.figures_of("sandbox_load", sandbox) == [
        ("total time", 23.3, "s"),
        ("messages per second", 42828.0, "msg/s"),
    ]
    engine = (
        'loading\n{\n "recipients": 990000,\n "total_seconds": 71.2,\n "peak_rss_mib": 101.0\n}\n'
    )
    assert ("total_seconds", 71.2, "s") in runner.figures_of("engine_submit", engine)
    pages = (
        "| page | median ms | max ms | queries |\n|---|---|---|---|\n"
        "| contacts, first page | 78 | 349 | 7 |\n"
    )
    assert runner.figures_of("contact_pages", pages) == [
        ("contacts, first page median", 78.0, "ms")
    ]
    # A new script that prints JSON and no figure lines: its timing and memory keys count.
    fresh = '{\n "rows": 100000,\n "ours_seconds": 4.2,\n "ratio": 6.5\n}\n'
    assert runner.figures_of("import_compare", fresh) == [
        ("ours_seconds", 4.2, ""),
        ("ratio", 6.5, ""),
    ]


def test_the_summary_gives_min_median_max_the_command_and_the_machine() -> None:
    runner = load_runner()
    figure = runner.Figure("steady p95", "ms", [40.0, 31.0, 35.0])
    wall = runner.Figure("wall time", "s", [70.0, 71.0, 90.0])
    summary = runner.summary_markdown(
        {
            "web_load": {
                "command": "bench/web_load.py --seconds 60",
                "codes": [0, 1, 0],
                "figures": {"steady p95": figure, "wall time": wall},
            }
        },
        {"CPUs (nproc)": "2", "PostgreSQL": "15.20"},
        3,
        [],
    )
    assert "CPUs (nproc) 2; PostgreSQL 15.20" in summary
    assert "Command: `bench/web_load.py --seconds 60`; 3 run(s), 1 FAILED." in summary
    assert "| figure | min | median | max | unit |" in summary
    assert "| steady p95 | 31.0 | 35.0 | 40.0 | ms |" in summary
    assert "| wall time | 70.0 | 71.0 | 90.0 | s |" in summary


def test_soaks_are_not_benchmarks() -> None:
    names = load_runner().benchmarks()
    assert "web_load" in names
    assert not [name for name in names if name.startswith(("soak", "_")) or name == "run"]


def test_the_corpus_writer_is_not_a_benchmark_but_its_import_is() -> None:
    names = load_runner().benchmarks()
    assert "messy_corpus" not in names
    assert "import_messy" in names


def test_repeat_runs_each_benchmark_that_many_times_and_summarises_them(tmp_path: Path) -> None:
    markdown = tmp_path / "bench.md"
    ran = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--repeat",
            "2",
            "--only",
            "sandbox_load",
            "--markdown",
            str(markdown),
            "--",
            "--campaigns",
            "1",
            "--size",
            "20",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.count("== sandbox_load: ok") == 2
    summary = markdown.read_text()
    assert "### sandbox_load" in summary
    assert "2 run(s), all ok" in summary
    assert "| total time |" in summary and "| wall time |" in summary
    assert "Machine: CPUs (nproc) " in summary and "Redis " in summary


def test_scale_reads_a_size_in_contacts() -> None:
    runner = load_runner()
    assert runner.contacts_of("10m") == 10_000_000
    assert runner.contacts_of("1M") == 1_000_000
    assert runner.contacts_of("200k") == 200_000
    assert runner.contacts_of("2.5m") == 2_500_000
    assert runner.contacts_of("5000") == 5_000
    for wrong in ("ten", "10g", "", "-5"):
        try:
            runner.contacts_of(wrong)
        except ValueError:
            continue
        raise AssertionError(f"{wrong!r} was read as a size")
    assert runner.scaled_arguments("contact_pages", 10_000_000) == [
        "--contacts",
        "10000000",
        "--plans",
    ]


def test_scale_runs_only_the_benchmarks_sized_in_contacts() -> None:
    runner = load_runner()
    ran = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--scale", "10m", "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == sorted(runner.SCALED)
    # Each of them exists and takes --contacts (tests/bench/test_bench_mains.py runs them).
    assert set(runner.SCALED) <= set(runner.benchmarks())
