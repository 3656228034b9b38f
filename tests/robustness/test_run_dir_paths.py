"""Run directories with spaces or non-ASCII characters, --run-dir at things that are not runs, runs with damaged
files."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.robustness.helpers import TINY, assert_one_line_error, copy_run, run_cli, snapshot


def test_commands_in_hints_quote_a_run_directory_with_spaces(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "my runs" / "gp é"
    code, out, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)
    assert code == 0, err
    next_line = [line for line in out.splitlines() if line.startswith("next: ")][0]
    assert shlex.split(next_line.removeprefix("next: ")) == ["tscl", "evaluate", str(run)]
    code, _, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)
    assert_one_line_error(code, err, "must be new or empty")
    assert f"--resume {shlex.quote(str(run))}`" in err, err
    code, _, err = run_cli(["report", str(run)], capsys)
    assert_one_line_error(code, err, "has no metrics.json yet")
    assert f"tscl evaluate {shlex.quote(str(run))}`" in err, err


def test_a_run_directory_with_brackets_is_shown_as_it_is_not_read_as_markup(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tscl.cli.render import console

    monkeypatch.setattr(console, "width", 400)  # whole paths on one line
    runs = tmp_path / "runs["
    run = runs / "b]" / "[exp1] x"  # the full path holds "[/b]": a closing tag, a MarkupError if rendered
    code, out, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert f"run directory: {run}" in out
    code, out, err = run_cli(["runs", "--runs-dir", str(runs)], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert "[exp1] x" in out and "[/b]" in out
    code, out, err = run_cli(["runs", "compare", str(run)], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert "[exp1]" in out


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_run_dir_at_a_file_or_a_foreign_folder_does_not_suggest_resuming_it(
    kind: str, tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "notes"
    if kind == "file":
        target.write_text("mine\n")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    code, _, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(target)], capsys)
    assert_one_line_error(code, err, "must be new or empty", str(target))
    assert "--resume" not in err and "choose another --run-dir" in err, err
    assert (target.read_text() if kind == "file" else (target / "notes.txt").read_text()) == "mine\n"


@pytest.mark.parametrize("content", ["", "# cut short\n"])
def test_an_emptied_config_toml_is_refused_not_read_as_the_default_settings(
    content: str, tmp_path: Path, trained_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(trained_runs["gunpoint"], tmp_path / "run")
    (run / "config.toml").write_text(content)
    (run / "metrics.json").unlink(missing_ok=True)
    before = snapshot(run)
    for args in (["evaluate", str(run)], ["pretrain", "--resume", str(run), "--iters", "3"]):
        code, _, err = run_cli(args, capsys)
        assert_one_line_error(code, err, "config.toml", "has no dataset", "empty or damaged")
    assert snapshot(run) == before


def test_compare_leaves_out_a_damaged_config_and_says_which_files_it_could_not_read(
    tmp_path: Path, trained_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    good = copy_run(trained_runs["gunpoint"], tmp_path / "good")
    emptied = copy_run(trained_runs["gunpoint"], tmp_path / "emptied")
    broken = copy_run(trained_runs["gunpoint"], tmp_path / "broken")
    (emptied / "config.toml").write_text("")
    (broken / "config.toml").write_text("iters = ")
    (broken / "metrics.json").write_text('{"task": "classif')
    code, out, err = run_cli(["runs", "compare", str(good), str(emptied), str(broken), "--json"], capsys)
    assert code == 0, err
    comparison = json.loads(out)
    assert comparison["differing"] == []  # not every setting "differing" from the unreadable ones
    unreadable = {Path(run["run_dir"]).name: run["unreadable"] for run in comparison["runs"]}
    assert unreadable == {"good": [], "emptied": ["config.toml"], "broken": ["config.toml", "metrics.json"]}
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and "config.toml and metrics.json cannot be read" in warnings[1], err


def test_a_damaged_metrics_json_is_shown_as_damaged_not_as_never_evaluated(
    tmp_path: Path, trained_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(trained_runs["gunpoint"], tmp_path / "runs" / "cut")
    (run / "metrics.json").write_text('{"task": "classif')
    code, out, err = run_cli(["runs", "--runs-dir", str(tmp_path / "runs"), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)[0]["headline_text"].startswith("metrics.json unreadable")
    code, _, err = run_cli(["report", str(run)], capsys)
    assert_one_line_error(code, err, "is corrupted")
    assert f"hint: write it again: tscl evaluate {run}" in err, err


def test_a_folder_that_is_no_run_gets_a_hint_saying_what_it_is(
    tmp_path: Path, trained_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    run = copy_run(trained_runs["gunpoint"], runs / "one")
    sweep = tmp_path / "sweep"
    (sweep / "trials").mkdir(parents=True)
    (sweep / "grid.toml").write_text('datasets = ["GunPoint"]\n')
    (run / "evaluations" / "Other-classification-svm").mkdir(parents=True)
    cases = {
        runs: "tscl runs --runs-dir",
        sweep: "it is a sweep's output folder",
        run
        / "evaluations"
        / "Other-classification-svm": f"it is an evaluation stored beside a run: pass the run, {run}",
        tmp_path / "cwd": "pass a run directory made by tscl pretrain",
    }
    for folder, hint in cases.items():
        folder.mkdir(exist_ok=True)
        code, _, err = run_cli(["evaluate", str(folder)], capsys)
        assert_one_line_error(code, err, "is not a tscl run directory")
        assert f"hint: {hint}" in err or hint in err.splitlines()[1], err


def test_runs_listing_of_a_file_is_an_error_and_a_hand_edited_meta_json_no_traceback(
    tmp_path: Path, trained_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine\n")
    code, _, err = run_cli(["runs", "--runs-dir", str(afile)], capsys)
    assert_one_line_error(code, err, f"runs folder {afile} must be a folder but is a file")
    runs = tmp_path / "runs"
    copy_run(trained_runs["gunpoint"], runs / "a")
    edited = copy_run(trained_runs["gunpoint"], runs / "b")
    meta = json.loads((edited / "meta.json").read_text())
    (edited / "meta.json").write_text(json.dumps({**meta, "created": 5}))  # a number among strings
    code, out, err = run_cli(["runs", "--runs-dir", str(runs), "--json"], capsys)
    assert code == 0 and len(json.loads(out)) == 2, err
