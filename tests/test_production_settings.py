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


def test_collectstatic_works_with_production_settings(tmp_path):
    result = run_manage(
        "collectstatic",
        "--noinput",
        SECRET_KEY=secrets.token_urlsafe(50),
        BSG_API_KEY="live_only_from_the_environment",
        ALLOWED_HOSTS="campaigns.example.org",
        STATIC_ROOT=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    # Ours, Pico (vendored), htmx from django-htmx, and the compressed copies WhiteNoise serves.
    assert (tmp_path / "js" / "app.js").exists()
    assert (tmp_path / "css" / "app.css.gz").exists()
    assert (tmp_path / "vendor" / "pico" / "pico.min.css.gz").exists()
    assert list(tmp_path.glob("django_htmx/**/*.js")) or list(tmp_path.glob("**/htmx*.js"))


def test_static_files_are_served_without_a_proxy_even_when_signed_out(settings, tmp_path):
    from django.core.management import call_command
    from django.test import Client

    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)
    # A new client: WhiteNoise reads STATIC_ROOT when the middleware is built.
    response = Client().get("/static/js/app.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age" in response["Cache-Control"]
    # Pages still need a login: only files under STATIC_URL skip it.
    assert Client().get("/campaigns/").status_code == 302


def test_the_wsgi_application_starts_with_its_views_loaded_and_frozen():
    # What gunicorn imports: every view is loaded before the first request, and what start-up
    # loaded is out of the garbage collector's full collections (gc.freeze), so they do not
    # walk it while requests wait.
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    probe = (
        "import gc, sys; import config.wsgi; "
        "print(gc.get_freeze_count(), 'campaigns.views.dashboard' in sys.modules, "
        "len(gc.get_objects(2)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings_production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "BSG_API_KEY": "live_only_from_the_environment",
            "ALLOWED_HOSTS": "campaigns.example.org",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    frozen, views_loaded, left = result.stdout.split()
    assert views_loaded == "True"
    assert int(frozen) > 50_000
    assert int(left) < 1_000
