"""The sandbox benchmark, the fault soak and the benchmark runner, each run at a tiny size so
that their code stays working between the (long) `make bench` and `make soak` runs."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
TINY_LOAD = ["--campaigns", "1", "--size", "20"]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_the_sandbox_load_benchmark_runs_at_a_tiny_size(capsys: pytest.CaptureFixture) -> None:
    assert load("sandbox_load").main(["--campaigns", "3", "--size", "40"]) == 0
    out = capsys.readouterr().out
    assert "sandbox load: 3 campaigns x 40 messages = 120" in out
    assert "GET /api/messages?filter[reference_id]:" in out
    assert "(HTTP 422)" in out  # the taken reference id is refused even at this size


def test_the_fault_soak_runs_briefly_and_finds_no_repeated_post(
    capsys: pytest.CaptureFixture,
) -> None:
    soak = load("soak")
    code = soak.main(["--minutes", "0.05", "--round-seconds", "1.5", "--threads", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "POSTs sent twice by the client: 0" in out
    assert "result: OK" in out
    assert "sends:" in out and "sandbox RSS:" in out


def test_the_runner_finds_every_benchmark_and_passes_arguments_on() -> None:
    listed = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "sandbox_load" in listed
    assert not {"run", "soak"} & set(listed)

    ran = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--only", "sandbox_load", "--", *TINY_LOAD],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "sandbox load: 1 campaigns x 20 messages" in ran.stdout
    assert "== sandbox_load: ok" in ran.stdout

    unknown = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--only", "nothing_here"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unknown.returncode == 2 and "no such benchmark: nothing_here" in unknown.stderr
