"""A run's data warnings (meta.json's ``warnings``) reach a Python caller as TsclWarning, not only as
``result.warnings``; the command line prints them once, as its own ``warning:`` lines."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import tscl
from tests.cli_helpers import run_cli

TINY = {"iters": 1, "encoder": {"name": "ts2vec", "options": {"repr_dims": 8, "hidden_dims": 8, "depth": 1}},
        "batch_size": 4, "max_train_length": 64, "device": "cpu", "threads": 1}  # fmt: skip


def _short_series(folder: Path) -> Path:
    """150 hourly rows: enough to pretrain on, too few for the default forecasting splits."""
    rows = ["date,a,OT"] + [f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00:00,{i % 7},{i % 5}" for i in range(150)]
    csv = folder / "short.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


def test_pretrain_and_resume_warn_the_python_caller(tmp_path: Path, one_thread: None) -> None:
    csv = _short_series(tmp_path)
    with pytest.warns(tscl.TsclWarning, match="tscl evaluate will refuse this data") as caught:
        result = tscl.pretrain({**TINY, "dataset": str(csv)}, run_dir=tmp_path / "run")
    assert [str(w.message) for w in caught] == list(result.warnings)
    assert caught[0].filename == __file__  # attributed to the caller's line
    with pytest.warns(tscl.TsclWarning, match="tscl evaluate will refuse this data"):
        tscl.resume(tmp_path / "run", iters=2)


def test_the_command_line_prints_each_warning_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    csv = _short_series(tmp_path)
    flags = ["--iters", "1", "--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--batch-size", "4",
             "--device", "cpu", "--threads", "1"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", tscl.TsclWarning)
        code, _, err = run_cli(["pretrain", "--dataset", str(csv), *flags, "--run-dir", str(tmp_path / "r")], capsys)
    assert code == 0, err
    assert "TsclWarning" not in err and err.count("tscl evaluate will refuse this data") == 1
