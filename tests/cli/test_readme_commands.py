"""Every `tscl` command line the README shows names a command that exists and only options that command takes.

The examples are read from the README's fenced code blocks; the commands and their options from the typer
application itself, so a renamed or removed flag fails here instead of in a reader's shell.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from tscl.cli import application

README = Path(__file__).parents[2] / "README.md"


def _examples() -> list[tuple[int, list[str]]]:
    """(line number, words after `tscl`) of each `tscl ...` line inside a fenced code block."""
    found, fenced, pending = [], False, ""
    for number, line in enumerate(README.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced, pending = not fenced, ""
            continue
        if not fenced:
            continue
        text = pending + re.sub(r"\s#.*$", "", line).strip()
        if text.endswith("\\"):  # continued on the next line
            pending = text[:-1] + " "
            continue
        pending = ""
        text = text.removeprefix("$ ")
        if text.startswith("tscl "):
            found.append((number, shlex.split(text)[1:]))
    return found


def _command(words: list[str]) -> tuple[Any, list[str], str]:
    """The command a README line calls (typer's click objects: groups have ``commands``), its words, its name."""
    application._register()
    command = typer.main.get_command(application.app)
    path = "tscl"
    while hasattr(command, "commands") and words and not words[0].startswith("-"):
        sub = command.commands.get(words[0])
        if sub is None:
            if any(param.param_type_name == "argument" for param in command.params):
                break  # the group's own positional argument (`tscl runs DIR`), not a subcommand
            raise AssertionError(f"`{path} {words[0]}` is not a command")
        path, command, words = f"{path} {words[0]}", sub, words[1:]
    return command, words, path


def test_the_readme_shows_many_commands() -> None:
    examples = _examples()
    assert len(examples) > 60
    assert {words[0] for _, words in examples} >= {"data", "pretrain", "evaluate", "encode", "report", "runs", "sweep"}


@pytest.mark.parametrize(("line", "words"), _examples(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_a_readme_command_uses_existing_options(line: int, words: list[str]) -> None:
    command, rest, path = _command(words)
    accepted = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    for word in rest:
        if word.startswith("-") and word not in ("-", "--"):
            flag = word.split("=", 1)[0]
            assert flag in accepted, f"README line {line}: `{path}` has no option {flag}"
