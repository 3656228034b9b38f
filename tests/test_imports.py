"""The package graph: no package of tscl imports, directly or through others, a package that imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import tscl

ROOT = Path(tscl.__file__).parent
SHARED = {"errors", "text"}  # imported by everyone, import nothing of tscl


def _package(module: str) -> str:
    """``tscl.runs.files`` -> ``runs``; a top-level module is its own node."""
    return module.split(".")[1] if module.count(".") >= 1 else module


def package_graph() -> dict[str, set[str]]:
    """Edges between tscl's packages (and top-level modules), from every import statement, lazy ones too."""
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if len(parts) < 2 or parts[1] in ("__init__", "__main__"):
            continue  # tscl/__init__.py re-exports lazily, __main__ runs the CLI: entry points, not layers
        source = parts[1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tscl."):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("tscl.")]
            else:
                continue
            for target in targets:
                package = _package(target)
                if package != source and package not in SHARED:
                    edges.setdefault(source, set()).add(package)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in edges.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_no_package_cycles() -> None:
    edges = package_graph()
    assert {"runs", "training", "objectives", "kernels"} <= set(edges) | {"kernels"}
    assert cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_low_layers_import_nothing_above_them() -> None:
    edges = package_graph()
    assert edges.get("kernels", set()) <= {"registry"}
    for package in ("encoders", "losses", "views"):
        assert edges.get(package, set()) <= {"kernels", "registry", "encoders"}, package
    assert "runs" not in edges.get("training", set()) and "cli" not in set().union(*edges.values())
