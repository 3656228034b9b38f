"""Every ``--option`` that tscl's messages and hints name is an option of one of its commands.

Collected statically: every string literal in ``tscl/`` (f-string parts included) except docstrings, which
may describe other tools. Options of other programs that hints legitimately name are listed with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tscl
from tscl.cli.application import _register, app

ROOT = Path(tscl.__file__).parent
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9_-]*)")
OTHER_PROGRAMS = {"--nproc_per_node"}  # torchrun's, named in the hint to start fewer processes


def cli_options() -> set[str]:
    """Every long option of every ``tscl`` command (``--help`` included)."""
    import typer

    _register()
    found = {"--help"}

    def walk(command: object) -> None:
        for param in getattr(command, "params", []):
            found.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def named_options() -> dict[str, list[str]]:
    """``--option`` -> where it is named (``file:line``), over every non-docstring string literal of tscl."""
    named: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                for option in OPTION.findall(node.value):
                    named.setdefault(option, []).append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return named


def test_the_scan_sees_the_options_messages_name() -> None:
    named = named_options()
    assert {"--horizons", "--split", "--features", "--protocol", "--data-dir"} <= set(named)
    assert "--help" in cli_options() and "--horizons" in cli_options()


def test_every_option_a_message_names_exists() -> None:
    options = cli_options() | OTHER_PROGRAMS
    missing = {option: where for option, where in named_options().items() if option not in options}
    assert missing == {}
