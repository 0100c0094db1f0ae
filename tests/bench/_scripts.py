"""A bench script as the tests use it: loaded as a module (its rules), or run as a process of
its own at a tiny size (its whole path), stopped cleanly when it overruns."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench(name: str) -> ModuleType:
    """bench/<name>.py as a module (registered, so its dataclasses can find it)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_bench(name: str, *args: str, timeout: float) -> str:
    """Runs bench/<name>.py with `args`; its output, once it has exited 0."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH / f"{name}.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the script stops what it started
        out, _ = process.communicate(timeout=60)
        pytest.fail(f"bench/{name}.py did not end within {timeout:.0f} s:\n{out}")
    assert process.returncode == 0, out
    return out
