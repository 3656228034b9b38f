"""``tscl KIND list|show``: every registered component and every option with its default, from the registry."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli_helpers import run_cli
from tscl.objectives.autotcl import AutoTCLOptions

KINDS = ["objectives", "encoders", "losses", "views", "tasks", "heads"]


@pytest.mark.parametrize("kind", KINDS)
def test_list_names_every_registered_component(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    from tscl.cli.components_cmd import _registry

    code, out, err = run_cli([kind, "list", "--json"], capsys)
    assert code == 0, err
    assert [row["name"] for row in json.loads(out)] == _registry(kind).names()


def test_show_autotcl_lists_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["objectives", "show", "autotcl", "--json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    options = {row["name"]: row for row in info["options"]}
    assert list(options) == list(AutoTCLOptions.model_fields)
    assert options["aug_lr"]["default"] == 0.001 and options["aug_lr"]["constraint"] == "> 0"
    assert options["aug_optimizer"]["type"] == "'adam' | 'adamw'" and options["window"]["default"] == 256
    assert all(row["help"] for row in info["options"])
    assert info["needs"]["default_loss"] == "hierarchical" and "autotcl-etth1-univariate" in info["presets"]
    code, out, _ = run_cli(["objectives", "show", "autotcl"], capsys)  # the rich table
    assert code == 0 and "mask_temperature" in out and "--set objective.OPTION=VALUE" in out


def test_show_an_unknown_name_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["losses", "show", "infonc"], capsys)
    assert code == 1 and err.startswith("error: loss must be one of ") and "did you mean infonce?" in err


HINTED_COMMAND = re.compile(r"`tscl ([^`]+)`")


@pytest.mark.parametrize(
    "args",
    [*([kind, "show", "no-such-name"] for kind in KINDS), ["pretrain", "--preset", "no-such-preset"]],
    ids=[*KINDS, "presets"],
)
def test_the_command_an_unknown_name_hints_at_exists_and_runs(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(args, capsys)
    hint = err.strip().splitlines()[-1]
    assert code == 1 and hint.startswith("hint: "), err
    hinted = HINTED_COMMAND.search(hint)
    assert hinted is not None, hint
    command = hinted.group(1).replace("NAME", "ts2vec").split()  # a placeholder gets a real name
    code, out, err = run_cli(command, capsys)
    assert code == 0 and out, f"`tscl {hinted.group(1)}` failed: {err}"
