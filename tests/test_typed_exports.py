"""Type checkers see the real types of tscl's lazily imported exports, and tscl says it is typed (PEP 561)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import tscl

ROOT = Path(tscl.__file__).parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _type_checking_imports() -> dict[str, str]:
    """``{exported name: module}`` of the explicit re-exports (``import X as X``) under ``if TYPE_CHECKING``."""
    tree = ast.parse((ROOT / "__init__.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    found.update({a.name: statement.module for a in statement.names if a.asname == a.name})
    return found


def test_every_lazy_export_is_re_exported_for_type_checkers() -> None:
    lazy: dict[str, str] = tscl._LAZY  # type: ignore[attr-defined]
    imports = _type_checking_imports()
    assert set(imports) == set(lazy)
    for name, module in imports.items():  # the same object as at run time
        assert getattr(tscl, name) is getattr(__import__(module, fromlist=[name]), name)


def test_the_package_ships_its_py_typed_marker() -> None:
    assert (ROOT / "py.typed").is_file()
    pyproject = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["tscl"]
