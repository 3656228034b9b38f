"""Fixtures of the robustness suite: tiny finished runs made once per session."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.robustness.helpers import TINY, isolated_env
from tscl.cli import main


def _pretrain_in_process(args: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["pretrain", *args])
    except SystemExit as exc:
        raise AssertionError(f"pretrain {args} failed: {err.getvalue()}") from exc


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny finished runs, made once: ``gunpoint`` (1 channel) and ``forecast`` (a 60-row CSV, 2 targets).

    Tests must not modify them: copy with :func:`copy_run` first.
    """
    base = tmp_path_factory.mktemp("trained")
    csv = base / "short_forecast.csv"
    rows = [f"2021-01-01 {h % 24:02d}:00:00,{h * 0.5:.2f},{(h % 7) * 1.5:.2f}" for h in range(24)]
    rows += [f"2021-01-{2 + h // 24:02d} {h % 24:02d}:00:00,{h * 0.3:.2f},{h % 5:.2f}" for h in range(36)]
    csv.write_text("date,load,OT\n" + "\n".join(rows) + "\n")
    runs = {"gunpoint": base / "gunpoint", "forecast": base / "forecast"}
    with isolated_env(base / "cwd"):
        _pretrain_in_process(["--iters", "2", *TINY, "--run-dir", str(runs["gunpoint"])])
        _pretrain_in_process(["--dataset", str(csv), "--iters", "1", *TINY, "--run-dir", str(runs["forecast"])])
    return runs
