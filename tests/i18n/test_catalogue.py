"""The Ukrainian catalogues are complete and compiled: no empty msgstr, no fuzzy entry, the
placeholders of each translation match its English (msgfmt --check), and the committed .mo files
say exactly what their .po files say."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest

LC_MESSAGES = Path(__file__).resolve().parents[2] / "locale" / "uk" / "LC_MESSAGES"
DOMAINS = ["django", "djangojs"]


def gettext_tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"GNU gettext's {name} is missing: `make test` installs it (apt-get gettext)"
    return found


def entries_of(output: str) -> list[str]:
    """The msgids msgattrib printed, without the header entry."""
    blocks = [block for block in output.split("\n\n") if "msgid" in block]
    return [block for block in blocks if 'msgid ""\nmsgstr ""' not in block]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated(domain):
    po = LC_MESSAGES / f"{domain}.po"
    untranslated = subprocess.run(
        [gettext_tool("msgattrib"), "--untranslated", "--no-obsolete", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert entries_of(untranslated) == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_translation_is_fuzzy(domain):
    po = LC_MESSAGES / f"{domain}.po"
    assert "#, fuzzy" not in po.read_text(encoding="utf-8").split("\n\n", 1)[1]
    fuzzy = subprocess.run(
        [gettext_tool("msgattrib"), "--only-fuzzy", "--no-obsolete", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert entries_of(fuzzy) == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_the_po_compiled(domain, tmp_path):
    po, committed = LC_MESSAGES / f"{domain}.po", LC_MESSAGES / f"{domain}.mo"
    fresh = tmp_path / f"{domain}.mo"
    # --check: a python-format translation must use exactly its English placeholders.
    subprocess.run([gettext_tool("msgfmt"), "--check", "-o", str(fresh), str(po)], check=True)
    assert committed.exists(), f"compile it: msgfmt -o {committed} {po}"
    with committed.open("rb") as old, fresh.open("rb") as new:
        assert gettext.GNUTranslations(old)._catalog == gettext.GNUTranslations(new)._catalog, (
            f"{committed.name} is older than {po.name}: msgfmt -o {committed} {po}"
        )
