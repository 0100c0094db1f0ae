"""The dashboard's templates and script stay inside the Content-Security-Policy: no inline
script, style or handler, no htmx trigger filter (allowEval is off), and live panels are paced
by static/js/app.js alone."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [
    ROOT / "templates" / "base.html",
    *(
        ROOT / "templates" / "campaigns" / name
        for name in ("home.html", "list.html", "detail.html", "recipients.html")
    ),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_no_inline_script_style_or_eval_in_the_dashboard_templates(template):
    # Template comments ({# … #}) may name tags; they never reach the page.
    source = re.sub(r"\{#.*?#\}", "", template.read_text())
    for tag in re.findall(r"<script\b[^>]*>", source, re.I):
        assert "src=" in tag, f"inline script in {template.name}: {tag}"
    for body in re.findall(r"<script\b[^>]*>(.*?)</script>", source, re.S | re.I):
        assert not body.strip(), f"a script with a body in {template.name}"
    assert not re.search(r"\son[a-z]+\s*=", source, re.I), f"event handler in {template.name}"
    assert not re.search(r"\shx-on", source), f"hx-on needs eval ({template.name})"
    assert not re.search(r"<style\b|\sstyle\s*=", source, re.I), f"inline style in {template.name}"
    # A trigger filter like `every 2s [!document.hidden]` is compiled with eval.
    for trigger in re.findall(r'hx-trigger="([^"]*)"', source):
        assert "[" not in trigger, f"trigger filter in {template.name}: {trigger}"


def test_every_polling_panel_of_the_dashboard_is_paced_by_app_js():
    for template in TEMPLATES[1:]:
        for tag in re.findall(
            r"<[a-z]+\b[^>]*hx-trigger=\"every [^\"]*\"[^>]*>", template.read_text(), re.S
        ):
            if "test-send" in tag or "send-plan" in tag or "campaigns:plan" in tag:
                continue  # the composer's own pollers, paused by app.js while hidden
            assert "data-live" in tag, f"{template.name}: a poller without data-live: {tag}"
    script = (ROOT / "static" / "js" / "app.js").read_text()
    assert "visibilitychange" in script and "[data-live]" in script and "htmx.process" in script
    assert "eval(" not in script and "new Function" not in script


ALL_TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize(
    "template", ALL_TEMPLATES, ids=lambda path: str(path.parent.name) + "/" + path.name
)
def test_template_comments_close_on_their_own_line(template):
    """Django's {# … #} ends at the line's end: a comment running on shows on the page."""
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        opened = line.count("{#")
        assert opened == line.count("#}"), (
            f"{template.name}:{number}: a {{# comment must close on its line; "
            "use {% comment %} for several lines"
        )


# A variable ending in status or state (campaign.status, part.state, contact_list.push_status)
# beside a comparison with a quoted string, on either side: `x.status == "done"`,
# `"done" != x.state`, `x.status in "finished stopped"` (a substring test, at that).
_STATUS = r"[\w.]*(?:status|state)\b"
_LITERAL = r"""(?:"[^"]*"|'[^']*')"""
_COMPARE = r"(?:==|!=|\bnot\s+in\b|\bin\b)"
RAW_STATUS_TEST = re.compile(
    rf"{_STATUS}\s*{_COMPARE}\s*{_LITERAL}|{_LITERAL}\s*{_COMPARE}\s*{_STATUS}"
)


def raw_status_tests(source: str) -> list[str]:
    """The status comparisons with a string in the template tags of `source`."""
    found = []
    for tag in re.findall(r"\{%\s*(?:if|elif|with)\b(.*?)%\}", source, re.S):
        found += [match.group(0) for match in RAW_STATUS_TEST.finditer(tag)]
    return found


@pytest.mark.parametrize(
    "template", ALL_TEMPLATES, ids=lambda path: str(path.parent.name) + "/" + path.name
)
def test_templates_read_rules_and_never_compare_a_status_with_a_string(template):
    """What a page shows for a status is a named rule beside the model (Campaign.can_retry_failed,
    ContactImport.is_working ...), the one its service enforces; a string here drifts from
    it silently the day a status is renamed or added."""
    assert raw_status_tests(template.read_text()) == [], template.name


def test_the_status_scan_finds_each_way_of_writing_it():
    for written in (
        '{% if campaign.status == "sending" %}',
        "{% elif part.state != 'submitted' %}",
        '{% if can.x and campaign.status in "finished stopped" %}',
        '{% if "done" == contact_list.push_status %}',
        '{% if item.status not in "done failed" %}',
    ):
        assert raw_status_tests(written), written
    for fine in (
        '<span class="status status-{{ campaign.status }}">',
        '{% if tab == "overview" %}',
        "{% if campaign.can_retry_failed %}",
        "{% if form.status.errors %}{{ form.status }}{% endif %}",
    ):
        assert not raw_status_tests(fine), fine
