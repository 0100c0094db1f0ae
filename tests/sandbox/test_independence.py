"""The sandbox is a test double of BSG, not part of our client: it imports nothing of the app.

If it validated with ``bsg.rules`` or counted with ``bsg.smstext``, a wrong number there would
pass on both sides of every contract test. Its modules are read as source (their imports, not
their behaviour), so a lazy import inside a function is caught too.
"""

import ast
from pathlib import Path

import sandbox

SANDBOX = Path(sandbox.__file__).resolve().parent
# The app's packages, and Django: `python -m sandbox` runs without either.
APP_PACKAGES = {"bsg", "campaigns", "contacts", "config", "audit", "django"}


def imported_packages(source: str) -> set[str]:
    """Top-level package names a module's source imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_finder_sees_every_form_of_import() -> None:
    source = (
        "import bsg\nimport bsg.rules as r\nfrom bsg import smstext\nfrom campaigns.x import y\n"
        "def later():\n    from config import bsg\n"
    )

    assert imported_packages(source) == {"bsg", "campaigns", "config"}


def test_the_sandbox_imports_nothing_from_the_app() -> None:
    modules = sorted(SANDBOX.rglob("*.py"))
    assert len(modules) > 10, modules  # the walk found the package

    borrowed = {
        str(path.relative_to(SANDBOX)): sorted(imported_packages(path.read_text()) & APP_PACKAGES)
        for path in modules
    }

    assert {module: names for module, names in borrowed.items() if names} == {}
