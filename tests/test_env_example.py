"""`.env.example` documents every variable the settings read (the README promises it)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_read_from_the_environment_is_in_env_example() -> None:
    read = set()
    for module in (ROOT / "config").glob("*.py"):
        read |= set(re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', module.read_text()))
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert read, "no setting found: the pattern above no longer matches config/"
    assert not read - documented, f"add to .env.example: {sorted(read - documented)}"
