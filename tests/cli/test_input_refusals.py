"""Bad input the audit found taking a traceback or being ignored: each is refused in one line, before any run
directory exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import one_line_error, run_cli

TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]
HUGE = str(2**63)


def _pretrain_refused(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    run = tmp_path / "refused"
    code, _, err = run_cli(["pretrain", *TINY, *args, "--run-dir", str(run)], capsys)
    line = one_line_error(code, err, *needles)
    assert not run.exists()
    return line


# -- seeds --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["--seed", "-1"],
        ["--seed", "99999999999999999999"],
        ["--seed", HUGE],
        ["--set", "seed=-1"],
        ["--set", f"seed={HUGE}"],
    ],
)
def test_a_seed_out_of_range_is_refused_before_the_run_exists(
    args: list[str], tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _pretrain_refused(["--iters", "2", *args], tmp_path, capsys, "seed must be an integer from 0 to 2**63 - 1")


def test_a_config_file_seed_out_of_range_is_refused(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("seed = -5\n")
    _pretrain_refused(["--config", str(config)], tmp_path, capsys, "c.toml", "seed must be an integer from 0")


def test_the_largest_seed_trains(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", *TINY, "--iters", "1", "--seed", str(2**63 - 1), "--run-dir", str(run)],
                           capsys)  # fmt: skip
    assert code == 0, err
    assert f"seed = {2**63 - 1}" in (run / "config.toml").read_text()


@pytest.mark.parametrize("seed", [-1, 2**63])
def test_the_api_refuses_a_seed_out_of_range(seed: int) -> None:
    from tscl import ConfigError, ContrastiveModel

    with pytest.raises(ConfigError, match="seed must be an integer from 0 to 2"):
        ContrastiveModel(1, seed=seed)


@pytest.mark.parametrize("command", ["data info", "pretrain"])
def test_a_split_seed_out_of_range_is_refused(
    command: str, shared_datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    watch = str(shared_datasets / "grouped" / "watch.npz")
    args = ["--window", "100", "--split-seed", "-1"]
    if command == "pretrain":
        _pretrain_refused(["--dataset", watch, "--iters", "1", *args], tmp_path, capsys, "split")
    else:
        code, _, err = run_cli(["data", "info", watch, *args], capsys)
        one_line_error(code, err, "split_seed (--split-seed) must be an integer from 0 to 2**63 - 1 but got -1")


# -- --resume and the targets ---------------------------------------------------------------------------------
@pytest.fixture
def first_run(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run = tmp_path / "first"
    code, _, err = run_cli(["pretrain", *TINY, "--iters", "2", "--run-dir", str(run)], capsys)
    assert code == 0, err
    return run


def test_resume_refuses_a_run_dir(first_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (first_run / "meta.json").read_text()
    other = tmp_path / "other"
    code, _, err = run_cli(["pretrain", "--resume", str(first_run), "--run-dir", str(other), "--iters", "3"], capsys)
    one_line_error(code, err, "--run-dir must not be given with --resume", str(other))
    assert not other.exists() and (first_run / "meta.json").read_text() == before


def test_a_new_run_refuses_both_iters_and_epochs(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _pretrain_refused(["--iters", "2", "--epochs", "1"], tmp_path, capsys, "iters or epochs, not both")
    config = tmp_path / "both.toml"
    config.write_text("iters = 2\nepochs = 1\n")
    _pretrain_refused(["--config", str(config)], tmp_path, capsys, "iters 2 and epochs 1")


def test_a_target_flag_replaces_the_config_files_other_target(
    first_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "again"
    args = ["pretrain", "--config", str(first_run / "config.toml"), "--epochs", "1", "--run-dir", str(run)]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    text = (run / "config.toml").read_text()
    assert "epochs = 1" in text and "iters" not in text


def test_resume_refuses_a_target_below_what_an_unfinished_run_has_done(
    first_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    meta = json.loads((first_run / "meta.json").read_text())
    (first_run / "meta.json").write_text(json.dumps({**meta, "status": "failed"}))  # stopped after step 2
    before = {name: (first_run / name).read_text() for name in ("meta.json", "config.toml")}
    code, _, err = run_cli(["pretrain", "--resume", str(first_run), "--iters", "1"], capsys)
    one_line_error(code, err, "iters (--iters) must be at least the 2 iterations this run has already done but got 1")
    assert {name: (first_run / name).read_text() for name in before} == before


def test_resume_still_takes_both_targets(first_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["pretrain", "--resume", str(first_run), "--iters", "3", "--epochs", "5"], capsys)
    assert code == 0, err


# -- settings that were ignored ------------------------------------------------------------------------------
def test_univariate_is_refused_for_classification_data(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needles = ("univariate (--univariate) must be given forecasting data", "BasicMotions is classification data")
    _pretrain_refused(["--dataset", "BasicMotions", "--univariate", "--iters", "1"], tmp_path, capsys, *needles)
    code, _, err = run_cli(["data", "info", "BasicMotions", "--univariate"], capsys)
    one_line_error(code, err, *needles)
    assert "ETTh1" in err.splitlines()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stride", "50"], "stride (--stride) must be given with window (--window) but got stride 50 alone"),
        (["--window", "100", "--stride", "0"], "stride must be greater than or equal to 1 but got 0"),
        (
            ["--window", "100000"],
            "window (--window) must be at most the longest recording's length (2618 steps) but got 100000",
        ),
    ],
)
@pytest.mark.parametrize("command", ["data info", "pretrain"])
def test_windows_that_cannot_be_cut_are_refused(
    command: str, args: list[str], message: str, shared_datasets: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    watch = str(shared_datasets / "grouped" / "watch.npz")
    if command == "pretrain":
        _pretrain_refused(["--dataset", watch, "--iters", "1", *args], tmp_path, capsys, message)
    else:
        code, _, err = run_cli(["data", "info", watch, *args], capsys)
        one_line_error(code, err, message)


# -- messages -------------------------------------------------------------------------------------------------
def test_a_config_that_is_a_directory_says_so(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _pretrain_refused(["--config", str(tmp_path)], tmp_path, capsys, "must be a file but is a directory")
    assert "does not exist" not in line


def test_resuming_a_file_says_it_is_no_directory(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "my.csv"
    table.write_text("a,b\n1,2\n")
    code, _, err = run_cli(["pretrain", "--resume", str(table)], capsys)
    one_line_error(code, err, f"run directory {table} must be a directory but is a file")


def test_a_config_key_typo_suggests_the_key_alone(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c1.toml"
    config.write_text("seeed = 1\n")
    code, _, err = run_cli(["pretrain", "--config", str(config)], capsys)
    one_line_error(code, err, "unknown key 'seeed'")
    assert err.splitlines()[1].startswith("hint: did you mean seed? valid keys:"), err


def test_a_loss_needing_aligned_views_is_named_as_the_cli_names_it(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tscl.losses import instance_losses

    run = tmp_path / "refused"
    args = ["--objective", "augment", "--loss", "local_infonce", "--iters", "1", "--run-dir", str(run)]
    code, _, err = run_cli(["pretrain", *TINY, *args], capsys)
    one_line_error(code, err, "loss local_infonce needs time-aligned views")
    hint = err.splitlines()[1]
    assert {"infonce", "dcl", "siglip", "align_uniform"} <= set(instance_losses())
    assert all(name in hint for name in instance_losses()) and "hierarchical" not in hint
    assert not run.exists()


# -- help -----------------------------------------------------------------------------------------------------
def _help_texts() -> list[tuple[str, str]]:
    """``(where, text)`` of every command's help and every option's help, as rich renders them."""
    import typer

    from tscl.cli.application import _register, app

    _register()
    found: list[tuple[str, str]] = []

    def walk(command: object, path: str) -> None:
        found.append((path, getattr(command, "help", None) or ""))
        for param in getattr(command, "params", []):
            found.append((f"{path} {param.name}", getattr(param, "help", None) or ""))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "tscl")
    return found


def test_help_texts_keep_their_square_brackets() -> None:
    import re

    from rich.text import Text

    style = re.compile(r"\[/?(bold|dim|green|red|italic)?\]")
    lost = {}
    for where, text in _help_texts():
        meant = style.sub("", text).replace("\\[", "[")
        if Text.from_markup(text).plain != meant:
            lost[where] = text
    assert lost == {}


def test_runs_given_a_folder_says_to_use_runs_dir_or_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my runs"
    folder.mkdir()
    code, _, err = run_cli(["runs", str(folder)], capsys)
    one_line_error(code, err, "No such command")
    assert f"tscl runs --runs-dir '{folder}'" in err and f"tscl runs compare '{folder}'" in err, err
    code, _, err = run_cli(["runs", "lsit"], capsys)  # a misspelt command is not taken for a folder
    one_line_error(code, err, "No such command")
    assert "--runs-dir" not in err, err
