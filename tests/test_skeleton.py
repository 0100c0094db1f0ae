"""The skeleton: login, the home page, the BSG seam, the demo user and `make run`'s defaults."""

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from pytest_socket import SocketConnectBlockedError

from tests.conftest import SANDBOX_API_KEY

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_no_test_can_reach_the_real_bsg():
    with pytest.raises(SocketConnectBlockedError), socket.socket() as raw:
        raw.connect(("one-api.bsg.world", 443))
    with pytest.raises(SocketConnectBlockedError):
        requests.get("https://one-api.bsg.world/api/accounts/balance", timeout=1)


@pytest.mark.django_db
def test_every_page_asks_an_anonymous_visitor_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.django_db
def test_logging_in_without_a_next_page_lands_on_the_dashboard(client):
    get_user_model().objects.create_user("marketer", password="a-long-test-password")
    response = client.post(
        "/accounts/login/", {"username": "marketer", "password": "a-long-test-password"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_home_page_loads_the_balance_after_the_page(admin_client):
    response = admin_client.get("/")
    assert response.status_code == 200
    # The balance arrives by HTMX: the page itself never waits for BSG.
    assert b'hx-get="/bsg/account/"' in response.content
    assert b"htmx" in response.content


@pytest.mark.django_db
def test_the_balance_panel_shows_the_sandbox_balance(admin_client, bsg_settings):
    response = admin_client.get("/bsg/account/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"1,000.00 EUR" in response.content
    assert SANDBOX_API_KEY.encode() not in response.content


@pytest.mark.django_db
def test_the_balance_panel_says_plainly_when_bsg_cannot_be_reached(admin_client, settings):
    settings.BSG_API_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.BSG_API_KEY = SANDBOX_API_KEY
    response = admin_client.get("/bsg/account/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "BSG cannot be reached right now. Try again in a few minutes." in html
    # The technical detail only in the title: the method and path are no marketer's words.
    shown = re.sub(r'title="[^"]*"', "", html)
    assert "GET /" not in shown and "unreachable" not in shown
    assert SANDBOX_API_KEY.encode() not in response.content


@pytest.mark.django_db
def test_the_balance_panel_says_plainly_when_no_api_key_is_set(admin_client, settings):
    settings.BSG_API_KEY = ""
    response = admin_client.get("/bsg/account/")
    html = response.content.decode()
    assert "BSG cannot be reached right now: no API key is set. Ask an admin." in html
    assert 'title="No BSG API key is configured (POST /api/auth/login)"' in html
    assert "/api/auth/login" not in re.sub(r'title="[^"]*"', "", html)
    admin_client.cookies["django_language"] = "uk"
    said = admin_client.get("/bsg/account/").content.decode()
    assert "BSG зараз недоступний: не задано ключ API. Зверніться до адміністратора." in said


@pytest.mark.django_db
def test_demo_setup_twice_keeps_one_user_and_prints_a_new_password(capsys):
    call_command("demo_setup")
    first = capsys.readouterr().out
    call_command("demo_setup")
    second = capsys.readouterr().out
    assert get_user_model().objects.filter(username="demo").count() == 1
    first_password = first.split("password: ")[1].split()[0]
    second_password = second.split("password: ")[1].split()[0]
    assert first_password != second_password
    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser
    assert user.check_password(second_password)


@pytest.mark.django_db
def test_make_run_repeats_the_demo_logins_last(capsys):
    run = _run_script()
    call_command("demo_setup")
    demo_output = capsys.readouterr().out
    password = demo_output.split("user: demo  password: ")[1].split()[0]
    approver = demo_output.split("user: demo-approver  password: ")[1].split()[0]
    assert run.login_lines(demo_output) == [
        f"login         user: demo  password: {password}",
        f"login         user: demo-approver  password: {approver}",
    ]


def _run_script():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import run
    finally:
        sys.path.pop(0)
    return run


def test_make_run_falls_back_to_embedded_broker_when_no_redis_answers(monkeypatch, tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import run
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(run, "VAR", tmp_path)
    env = {"REDIS_URL": "redis://127.0.0.1:9/0"}
    lines = run.configure_environment(env)
    assert env["CELERY_BROKER_URL"] == "filesystem://"
    assert env["CACHE_URL"].startswith("filecache://")
    assert env["BSG_API_URL"] == "http://127.0.0.1:8025"
    assert env["BSG_API_KEY"].startswith("test_")
    assert any("no Redis answers" in line for line in lines)
    assert "sandbox:" in run.procfile(env)
    # Hand-off emails are printed by the worker, never sent from a newcomer's machine.
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert any("printed in the worker's output" in line for line in lines)


def test_make_run_uses_redis_and_the_given_bsg_when_both_are_there(monkeypatch, tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import run
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(run, "VAR", tmp_path)
    env = {"REDIS_URL": "redis://127.0.0.1:6379/15", "BSG_API_URL": "https://one-api.bsg.world"}
    run.configure_environment(env)
    assert "CELERY_BROKER_URL" not in env
    assert "sandbox:" not in run.procfile(env)


def test_the_bsg_sandbox_command_serves_the_login_endpoint(unused_tcp_port):
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "bsg_sandbox",
            "--port",
            str(unused_tcp_port),
            "--api-key",
            SANDBOX_API_KEY,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert f"127.0.0.1:{unused_tcp_port}" in banner
        url = f"http://127.0.0.1:{unused_tcp_port}/api/auth/login"
        answer = requests.post(url, json={"api_key": SANDBOX_API_KEY}, timeout=5)
        assert answer.status_code == 200
        assert answer.json()["bearer"]
        refused = requests.post(url, json={"api_key": "test_wrong"}, timeout=5)
        assert refused.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def unused_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
