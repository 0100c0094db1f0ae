"""Every page carries a Content-Security-Policy that allows only our own static scripts and styles,
and no template carries inline script, inline style or inline event handlers that it would block."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from campaigns.models import Campaign

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def main_pages(audience) -> list[str]:
    campaign = Campaign.objects.create(name="Spring", channel="sms", text="Hi", sender="Shop")
    return [
        reverse("campaigns:home"),
        reverse("campaigns:list"),
        reverse("campaigns:new", args=["sms"]),
        reverse("campaigns:new", args=["rcs"]),
        reverse("campaigns:detail", args=[campaign.pk]),
        reverse("campaigns:edit", args=[campaign.pk]),
        reverse("contacts:contact-index"),
        reverse("contacts:contact-new"),
        reverse("contacts:contact-edit", args=[audience["contact"].pk]),
        reverse("contacts:list-index"),
        reverse("contacts:list-new"),
        reverse("contacts:list-detail", args=[audience["list"].pk]),
        reverse("contacts:field-index"),
        reverse("contacts:dnc-index"),
        reverse("contacts:import-index"),
        reverse("contacts:import-upload"),
    ]


def test_every_main_page_sends_a_strict_policy(client_in, audience):
    for url in main_pages(audience):
        response = client_in.get(url)
        assert response.status_code == 200, url
        policy = _directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url
        assert policy["style-src"] == ["'self'"], url
        assert policy["object-src"] == ["'none'"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        header = response["Content-Security-Policy"]
        assert "unsafe-inline" not in header and "unsafe-eval" not in header, url
        assert "http" not in header, f"{url}: no other host is allowed"


def test_the_login_page_and_refusals_carry_the_policy_too(client):
    assert "script-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]
    assert "Content-Security-Policy" in client.get("/no-such-page/")


def test_pages_load_scripts_only_from_static_files(client_in, audience):
    script = re.compile(r"<script\b[^>]*>", re.I)
    for url in main_pages(audience):
        html = client_in.get(url).content.decode()
        for tag in script.findall(html):
            # Our static files, or the JavaScript catalogue of the interface's words (Django's
            # JavaScriptCatalog at /jsi18n/): a script file from our own origin as well.
            assert re.search(r'\bsrc="(/static/|/jsi18n/")', tag), f"{url}: inline script {tag}"
        for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.I | re.S):
            assert not body.strip(), f"{url}: a script with a body"
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"{url}: an inline event handler"
        assert not re.search(r"\shx-on", html), f"{url}: hx-on runs code through eval"
        assert not re.search(r"<style\b|\sstyle\s*=", html, re.I), f"{url}: an inline style"


def test_htmx_is_told_to_stay_within_the_policy(client_in):
    html = client_in.get(reverse("campaigns:home")).content.decode()
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html


# Django template comments may mention tags; they never reach the browser.
COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)
INLINE_CODE = {
    "inline script": r"<script(?![^>]*\bsrc=)[^>]*>",
    "event handler attribute": r"\son[a-z]+\s*=\s*[\"']",
    "hx-on (runs through eval)": r"\shx-on[:-]",
    "style attribute": r"\sstyle\s*=",
    "style element": r"<style\b",
    "javascript: URL": r"javascript:",
    # A trigger filter such as `every 1s [!document.hidden]` is compiled with eval; the policy
    # forbids eval, so htmx (allowEval=false) would ignore it. static/js/app.js pauses polls.
    # (`from:input[type=text]` is a CSS selector, not a filter: its `[` follows a colon.)
    "hx-trigger filter": r"hx-trigger=\"(?:[^\"]*[\s,])?(?:[a-z]+)?\[",
}


def _offences(paths) -> list[str]:
    found = []
    for path in paths:
        text = COMMENTS.sub("", path.read_text())
        for what, pattern in INLINE_CODE.items():
            for match in re.finditer(pattern, text, re.I):
                found.append(f"{path.relative_to(TEMPLATES)}: {what}: {match.group(0)}")
    return found


# The import pages are checked on their own so that a failure there names its owner's files.
IMPORTS = TEMPLATES / "contacts" / "imports"


def test_no_template_has_inline_code():
    """Also catches what only renders in some states (a running import, an error panel)."""
    paths = [p for p in TEMPLATES.rglob("*.html") if IMPORTS not in p.parents]
    assert _offences(paths) == []


def test_the_import_templates_have_no_inline_code():
    assert _offences(IMPORTS.rglob("*.html")) == []
