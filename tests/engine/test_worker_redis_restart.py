"""A real Celery worker keeps working when Redis restarts under a running task.

With kombu 5.7's own Redis transport the worker logged "Unrecoverable error" and exited, twice
over: once closing the broken channel (it tried to requeue the running task's message through
the detached connection) and once when that task ended (it acknowledged on the closed channel).
config/broker.py contains both; this drives them with the real processes: a private
redis-server, the sandbox server made slow so the task is still running when Redis goes, and
the worker as `make run` starts it.
"""

import os
import re
import time

import pytest
from celery import Celery

from bench._stack import Stack, database_url_for, wait_until

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the worker's own database is made beside DATABASE_URL's (PostgreSQL)",
)


def finished(log: str, task: str) -> int:
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", log))


def send(stack: Stack, task: str) -> None:
    """Queue a task on this run's Redis (CELERY_BROKER_URL in the environment, the suite's
    own broker, would win over a broker given to the app)."""
    sender = Celery(set_as_current=False)
    with sender.connection_for_write(f"redis://127.0.0.1:{stack.redis_port}/0") as connection:
        sender.send_task(task, connection=connection)


def test_the_worker_survives_a_redis_restart_under_a_running_task() -> None:
    stack = Stack(database_url=database_url_for(os.environ["DATABASE_URL"], "redis_restart"))
    worker_log = stack.logs / "worker.log"
    try:
        stack.start_sandbox(speed=50, seed=1)
        stack.start_redis()
        stack.migrate()
        stack.start_worker()
        wait_until(lambda: " ready." in worker_log.read_text(), seconds=60, what="the worker")

        # A task still waiting for BSG when Redis goes away.
        stack.set_faults({"slow": 1.0, "slow_delay": 4.0})
        send(stack, "campaigns.tasks.bsg_campaigns_discover")
        wait_until(
            lambda: "bsg_campaigns_discover[" in worker_log.read_text(),
            seconds=30,
            what="the task to start",
        )
        time.sleep(1)
        stack.kill_redis()
        time.sleep(2)
        stack.start_redis()
        stack.set_faults({})

        # The running task ends; the worker is still there and takes new work.
        wait_until(
            lambda: finished(worker_log.read_text(), "campaigns.tasks.bsg_campaigns_discover"),
            seconds=60,
            what="the running task to end",
        )
        send(stack, "campaigns.tasks.engine_sweep")
        wait_until(
            lambda: finished(worker_log.read_text(), "campaigns.tasks.engine_sweep"),
            seconds=60,
            what="a task sent after the restart",
        )
        log = worker_log.read_text()
        assert stack.worker is not None and stack.worker.poll() is None, log[-3000:]
        assert "Unrecoverable error" not in log
        assert "not acknowledged" in log or "could be requeued" in log
    finally:
        stack.close()
