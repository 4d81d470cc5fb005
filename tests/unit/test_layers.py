"""The layers of docs/architecture.md, checked on the source: the domain imports no adapter
and no web framework, and no two modules import each other, however indirectly."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("inventory", "feeds", "web", "simulation")
FORBIDDEN_IN_DOMAIN = ("web", "feeds", "simulation", "fastapi", "starlette", "uvicorn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module this file imports, including those imported inside functions (a lazy
    import still ties the layers together)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in modules)
    return names


def test_the_domain_imports_no_adapter_and_no_web_framework() -> None:
    modules = sources()
    wrong = sorted(
        f"{name} imports {imported}"
        for name, path in modules.items() if name.startswith("inventory")
        for imported in imports_of(path, modules)
        if imported.split(".")[0] in FORBIDDEN_IN_DOMAIN)
    assert wrong == []


def test_no_import_cycle_between_modules() -> None:
    """Top-level imports only: a cycle there fails at import time for whoever imports second."""
    modules = sources()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        edges: set[str] = set()
        for node in tree.body:  # module level, not inside functions or TYPE_CHECKING
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                edges.update(c for c in candidates if c in modules and c != name)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
        graph[name] = edges
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], " ; ".join(" -> ".join(c) for c in cycles)
