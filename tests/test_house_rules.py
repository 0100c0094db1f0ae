"""Rules of the house a reviewer would otherwise have to check by reading (../shared/STYLE.md):
no module imports another's private names, and no two modules of one app import each other
(the one allowed edge: campaigns.engine.enqueue asks for campaigns.tasks late, inside a
function, because the tasks call the engine)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "audit", "bsg", "campaigns", "config", "contacts", "sandbox")


def _modules() -> dict[str, ast.Module]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = ast.parse(path.read_text())
    return found


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_no_module_imports_another_modules_private_names():
    offences = []
    for module, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offences.append(f"{module}: from {node.module} import {alias.name}")
    assert offences == []


def _top_level_imports(module: str, tree: ast.Module, names: set[str]) -> set[str]:
    """The app modules this one imports when it is imported (not those inside functions)."""
    is_package = (ROOT / module.replace(".", "/") / "__init__.py").exists()
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, is_package)
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in names else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in names and name != module}


def test_no_import_cycle_between_modules_of_one_app():
    modules = _modules()
    names = set(modules)
    graph = {module: _top_level_imports(module, tree, names) for module, tree in modules.items()}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for neighbour in graph[node]:
            if neighbour in path:
                cycles.append(" -> ".join([*path[path.index(neighbour) :], neighbour]))
            elif neighbour not in done:
                visit(neighbour, [*path, neighbour])
        done.add(node)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []
