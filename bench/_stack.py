"""The whole system as separate processes on loopback, for the system soak and the worker memory
benchmark: the BSG sandbox server, a private redis-server, a dedicated PostgreSQL database, a
real Celery worker and Celery beat.

Nothing here touches the machine's own Redis (6379) or the database the tests use: the Redis is
started on a free port of its own, and the database is `<the DATABASE_URL's name>_<suffix>`,
dropped and created again at the start of each run (and left behind for inspection).

Not a benchmark itself: files starting with "_" are skipped by bench/run.py.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bsg_campaigns"
PR_SET_PDEATHSIG = 1  # prctl(2)


class StackError(RuntimeError):
    """A part of the stack did not start or answer; the message says which and why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, *, seconds: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except Exception:  # noqa: S110 - not up yet: try again until the deadline
            pass
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(step)


# --- memory of a process (and its children) from /proc -----------------------------------------


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in lines if ":" in line)


def rss_mib(pid: int) -> float:
    value = _status(pid).get("VmRSS")
    return int(value.split()[0]) / 1024 if value else 0.0


def hwm_mib(pid: int) -> float:
    """The process's own peak RSS so far (VmHWM): a forked child's starts at its RSS at the
    fork, not at its parent's peak."""
    value = _status(pid).get("VmHWM")
    return int(value.split()[0]) / 1024 if value else 0.0


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss_mib(pid: int) -> float:
    """RSS of a process and all its descendants (a prefork worker's pool children count)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += rss_mib(current)
        todo += children_of(current)
    return total


# --- the dedicated database --------------------------------------------------------------------


def require_postgres(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql", "pgsql"):
        raise StackError(
            f"DATABASE_URL must point at PostgreSQL (got {scheme or 'nothing'}://): the "
            "worker, beat and the driver are separate processes sharing one database."
        )
    return url


def database_url_for(base_url: str, suffix: str) -> str:
    """`postgres://.../bsg_x` -> `postgres://.../bsg_x_<suffix>`; PostgreSQL only (the worker,
    beat and this process share it)."""
    parts = urlsplit(require_postgres(base_url))
    name = parts.path.lstrip("/") or "bsg_campaigns"
    return urlunsplit(parts._replace(path=f"/{name}_{suffix}"))


@contextlib.contextmanager
def _server(url: str) -> Iterator[tuple[Any, str]]:
    """An autocommit connection to the server of the database `url` names (through its
    `postgres` database), and that database's name."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        yield connection, parts.path.lstrip("/")


def database_drop(url: str) -> None:
    """Drop the database `url` names, if it exists (its sessions ended first)."""
    with _server(url) as (connection, name):
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_recreate(url: str) -> None:
    """Drop and create the database `url` names."""
    database_drop(url)
    with _server(url) as (connection, name):
        connection.execute(f'CREATE DATABASE "{name}"')


def database_create_if_missing(url: str) -> None:
    """Create the database `url` names unless it exists."""
    with _server(url) as (connection, name):
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


# --- the processes -----------------------------------------------------------------------------


@dataclass
class Stack:
    """The processes of one run and the environment every Django process of it shares."""

    database_url: str
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bsg-stack-")))
    api_key: str = "test_stack_" + os.urandom(6).hex()
    sandbox: subprocess.Popen | None = None
    sandbox_url: str = ""
    redis: subprocess.Popen | None = None
    redis_port: int = 0
    worker: subprocess.Popen | None = None
    beat: subprocess.Popen | None = None
    settings: dict[str, str] = field(default_factory=dict)
    worker_starts: int = 0

    # --- sandbox -----------------------------------------------------------------------------

    def start_sandbox(self, *, speed: float, seed: int) -> str:
        # A balance no run can spend: the guard rails are not what is under test here.
        options = ["--port", "0", "--speed", str(speed), "--seed", str(seed)]
        self.sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                *options,
                "--balance",
                "1000000000",
                "--api-key",
                self.api_key,
            ],
            cwd=ROOT,
            preexec_fn=_die_with_parent,
            stdout=subprocess.PIPE,
            stderr=open(self.logs / "sandbox.log", "ab"),  # noqa: SIM115 - the child owns it
            text=True,
        )
        assert self.sandbox.stdout is not None
        first = self.sandbox.stdout.readline()  # "BSG sandbox listening on http://127.0.0.1:P"
        if "listening on" not in first:
            self.sandbox.kill()
            raise StackError(f"the sandbox did not start: {first!r}")
        self.sandbox_url = first.strip().rsplit(" ", 1)[-1]
        return self.sandbox_url

    def set_faults(self, faults: dict[str, object]) -> None:
        answer = requests.put(f"{self.sandbox_url}/_sandbox/faults", json=faults, timeout=30)
        answer.raise_for_status()

    def sandbox_campaigns(self) -> list[dict]:
        answer = requests.get(f"{self.sandbox_url}/_sandbox/campaigns", timeout=60)
        answer.raise_for_status()
        return answer.json()["data"]

    # --- redis -------------------------------------------------------------------------------

    def start_redis(self) -> None:
        """A private redis-server without persistence: a restart loses every queued task, the
        harshest case for the engine (the sweep must find the work in the database)."""
        self.redis_port = self.redis_port or free_port()
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.logs),
            ],
            stdout=open(self.logs / "redis.log", "ab"),  # noqa: SIM115 - the child owns it
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=1)
        try:
            wait_until(client.ping, seconds=20, what=f"redis-server on port {self.redis_port}")
        finally:
            client.close()

    def kill_redis(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(timeout=10)
            self.redis = None

    # --- Django's environment ----------------------------------------------------------------

    def environment(self, **settings: str) -> dict[str, str]:
        """What every Django process of this run sees (this one included, via os.environ)."""
        redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.settings.update(settings)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CACHE_URL": f"rediscache://127.0.0.1:{self.redis_port}/1",
            "BSG_API_URL": self.sandbox_url,
            "BSG_API_KEY": self.api_key,
            "DEBUG": "false",
            **self.settings,
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        return env

    def migrate(self, *, recreate: bool = True) -> None:
        """Migrates the database, recreated first unless `recreate` is False (a kept one)."""
        if recreate:
            database_recreate(self.database_url)
        else:
            database_create_if_missing(self.database_url)
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            preexec_fn=_die_with_parent,
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"migrate failed:\n{done.stdout}\n{done.stderr}")

    # --- worker and beat ---------------------------------------------------------------------

    def start_worker(self, *, pool: str = "prefork", concurrency: int = 2) -> subprocess.Popen:
        """A real Celery worker in a session of its own, so that a SIGKILL can take its pool
        children with it, as a crashed container would."""
        self.worker_starts += 1
        self.worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"stack{self.worker_starts}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            preexec_fn=_die_with_parent,
            env=self.environment(),
            stdout=open(self.logs / "worker.log", "ab"),  # noqa: SIM115 - the child owns it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.worker

    def stop_worker(self, how: signal.Signals = signal.SIGTERM, *, grace: float = 60) -> str:
        """SIGKILL: the whole process group at once. SIGTERM: Celery's warm shutdown (it
        finishes the tasks it holds), then SIGKILL if it takes longer than `grace`."""
        worker, self.worker = self.worker, None
        if worker is None or worker.poll() is not None:
            return "not running"
        if how == signal.SIGKILL:
            _killpg(worker.pid)
            worker.wait(timeout=30)
            return "SIGKILL"
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _killpg(worker.pid)
            worker.wait(timeout=30)
            return f"SIGTERM, then SIGKILL after {grace:.0f} s"
        _killpg(worker.pid)  # pool children that outlived their parent, if any
        return "SIGTERM"

    def start_beat(self) -> subprocess.Popen:
        """Celery beat with the database scheduler, as `make run` starts it."""
        self.beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--pidfile",
                "",
                "--schedule",
                str(self.logs / "beat-schedule"),
            ],
            cwd=ROOT,
            preexec_fn=_die_with_parent,
            env=self.environment(),
            stdout=open(self.logs / "beat.log", "ab"),  # noqa: SIM115 - the child owns it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.beat

    # --- the end -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop everything this run started (by process id, never by name)."""
        self.stop_worker(signal.SIGTERM, grace=30)
        for name in ("beat", "sandbox"):
            process = getattr(self, name)
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            if name == "beat" and process is not None:
                _killpg(process.pid)
            setattr(self, name, None)
        if self.sandbox is None and self.redis is not None:
            self.redis.terminate()
            self.redis.wait(timeout=20)
            self.redis = None


def _die_with_parent() -> None:
    """Runs in each child before exec: the kernel kills it if this process dies, so a run that
    is itself killed leaves no sandbox, Redis, worker or beat behind (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def exit_on_sigterm() -> None:
    """SIGTERM (a test runner's timeout, `kill`) unwinds like Ctrl-C: every `finally` runs and
    the processes this run started are stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
