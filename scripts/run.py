"""`make run`: migrate, create the demo user and data, then run sandbox, worker, beat and web.

Everything runs in the foreground under honcho, which stops all of them together on Ctrl-C.
Embedded defaults stand in for what is missing: SQLite when DATABASE_URL is unset, and Kombu's
filesystem transport plus a file cache when no Redis answers on REDIS_URL.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable
SANDBOX_HOST, SANDBOX_PORT = "127.0.0.1", 8025
WEB = "127.0.0.1:8000"


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def configure_environment(env: dict[str, str]) -> list[str]:
    """Fills in the embedded defaults and returns the lines that say what runs where."""
    lines = []
    env.setdefault("DEBUG", "true")
    if "DATABASE_URL" in env:
        lines.append("database      DATABASE_URL from the environment")
    else:
        lines.append(f"database      SQLite at {ROOT / 'db.sqlite3'} (set DATABASE_URL to change)")

    redis_url = env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(redis_url):
        lines.append(f"celery broker Redis at {redis_url}")
    elif "CELERY_BROKER_URL" not in env:
        broker = VAR / "broker"
        for folder in ("queue", "processed"):
            (broker / folder).mkdir(parents=True, exist_ok=True)
        (VAR / "cache").mkdir(parents=True, exist_ok=True)
        env["CELERY_BROKER_URL"] = "filesystem://"
        env["CELERY_BROKER_TRANSPORT_OPTIONS"] = json.dumps(
            {
                "data_folder_in": str(broker / "queue"),
                "data_folder_out": str(broker / "queue"),
                "processed_folder": str(broker / "processed"),
            }
        )
        env.setdefault("CACHE_URL", f"filecache://{VAR / 'cache'}")
        lines.append(
            f"celery broker no Redis answers on {redis_url}: using the embedded filesystem "
            f"transport in {broker} and a file cache in {VAR / 'cache'}"
        )

    env.setdefault("BSG_API_KEY", "test_" + secrets.token_hex(16))
    if "BSG_API_URL" in env:
        lines.append(f"BSG API       {env['BSG_API_URL']} (BSG_API_URL from the environment)")
    else:
        env["BSG_API_URL"] = f"http://{SANDBOX_HOST}:{SANDBOX_PORT}"
        lines.append(f"BSG sandbox   {env['BSG_API_URL']} (local BSG stand-in)")
    lines.append("celery        one worker and beat (schedules in the database)")
    # Hand-off emails (asked for approval, approved, sent back) go out from the worker.
    email = env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    if email.endswith(".console.EmailBackend"):
        lines.append("email         printed in the worker's output (set EMAIL_BACKEND to send)")
    else:
        lines.append(f"email         {email}")
    lines.append(f"web           http://{WEB}/  (admin at http://{WEB}/admin/)")
    return lines


def login_lines(demo_output: str) -> list[str]:
    """The demo users' "user: … password: …" from demo_setup's output, one login line each.

    Found by what they say, not where they are: demo_setup prints the demo data's summary after
    them, and its last line was once shown as the login ("login         .")."""
    marker = "user:"
    return [
        "login         " + line[line.find(marker) :].strip()
        for line in demo_output.splitlines()
        if marker in line
    ]


def procfile(env: dict[str, str]) -> str:
    processes = {}
    if env["BSG_API_URL"] == f"http://{SANDBOX_HOST}:{SANDBOX_PORT}":
        processes["sandbox"] = (
            f"{PYTHON} manage.py bsg_sandbox --host {SANDBOX_HOST} --port {SANDBOX_PORT}"
        )
    # Started again if it exits on its own (a Redis restart can end it: keep_running.py).
    processes["worker"] = (
        f"{PYTHON} scripts/keep_running.py -- {PYTHON} -m celery -A config worker "
        "--loglevel INFO --concurrency 2 --without-gossip --without-mingle"
    )
    processes["beat"] = f"{PYTHON} -m celery -A config beat --loglevel INFO"
    processes["web"] = f"{PYTHON} manage.py runserver {WEB} --noreload"
    return "".join(f"{name}: {command}\n" for name, command in processes.items())


def main() -> int:
    os.chdir(ROOT)
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    lines = configure_environment(env)
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input"], env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v", "0"], env=env, check=True)
    demo = subprocess.run(
        [*manage, "demo_setup"], env=env, check=True, capture_output=True, text=True
    )
    print(demo.stdout, end="")
    print("\nBSG Campaigns is starting:")
    for line in lines:
        print("  " + line)
    # Repeated here because they are the lines people look for once everything has started.
    for line in login_lines(demo.stdout):
        print("  " + line)
    print("Press Ctrl-C to stop everything.\n", flush=True)
    (VAR / "Procfile").write_text(procfile(env))
    return subprocess.call(
        [PYTHON, "-m", "honcho", "-f", str(VAR / "Procfile"), "-d", str(ROOT), "start"], env=env
    )


if __name__ == "__main__":
    sys.exit(main())
