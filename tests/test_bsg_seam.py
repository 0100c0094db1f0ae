"""One lifetime for the BSG client: every client the app builds is closed when its work ends.

`config.bsg.bsg_client()` is the one seam that builds a client from settings; a client left
open keeps its connection pool (and its sockets to BSG) until the garbage collector finds it.
"""

import ast
from pathlib import Path

from bsg.client import BsgClient

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("audit", "bench", "campaigns", "config", "contacts", "scripts")


def _python_files():
    for package in APP_PACKAGES:
        yield from (ROOT / package).rglob("*.py")


def _calls_outside_with(tree: ast.AST, name: str) -> list[int]:
    in_with = {
        id(item.context_expr)
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        for item in node.items
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == name
        and id(node) not in in_with
    ]


def test_every_bsg_client_is_opened_by_a_with_block():
    leaks = {}
    for path in _python_files():
        lines = _calls_outside_with(ast.parse(path.read_text()), "bsg_client")
        if lines:
            leaks[str(path.relative_to(ROOT))] = lines
    assert leaks == {}, "use `with bsg_client() as client:` at these lines"


def test_only_the_seam_builds_a_client_from_settings():
    builders = {
        str(path.relative_to(ROOT))
        for path in _python_files()
        if any(
            isinstance(node, ast.Call) and getattr(node.func, "id", None) == "BsgClient"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    }
    # The benchmarks and soaks drive the sandbox with clients of their own, as a customer's
    # script would; the app itself has one seam.
    assert {p for p in builders if not p.startswith("bench/")} == {"config/bsg.py"}


def test_the_client_counts_its_requests_and_closes_its_pool(sandbox):
    from tests.conftest import SANDBOX_API_KEY

    with BsgClient(sandbox.url, SANDBOX_API_KEY) as client:
        client.balance()
        client.balance()
        # Two API requests; the sign-in before them is not one.
        assert client.requests_made == 2
        pool = client._session.adapters["http://"].poolmanager
        assert pool.pools
    assert not pool.pools
