"""Production settings: hardened, and no secret has a default."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The browser tests relax async safety for their own process; a deployment never would.
    inherited_only_by_tests = {"SECRET_KEY", "BSG_API_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited_only_by_tests}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings_production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        BSG_API_KEY="live_only_from_the_environment",
        ALLOWED_HOSTS="campaigns.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", BSG_API_KEY="live_x", ALLOWED_HOSTS="campaigns.example.org")
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_production_refuses_to_start_without_the_bsg_key():
    result = run_manage("check", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="x.org")
    assert result.returncode != 0
    assert "Set the BSG_API_KEY environment variable" in result.stderr
