"""Run directories with spaces or non-ASCII characters, and --run-dir at things that are not runs."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.robustness.helpers import TINY, assert_one_line_error, run_cli


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
