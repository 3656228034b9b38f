"""--resume from a checkpoint behind meta.json (last.previous.pt put back, as the damaged-checkpoint hint says)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.robustness.helpers import TINY, assert_one_line_error, run_cli
from tscl.training.checkpoint import load_checkpoint


def _losses(run_dir: Path) -> list[str]:
    with open(run_dir / "losses.csv") as handle:
        return [row["loss"] for row in csv.DictReader(handle)]


@pytest.fixture
def restored(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, list[str]]:
    """A finished 5-iteration run whose checkpoint is the previous one again (iteration 4), and its losses."""
    run_dir = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "5", "--checkpoint-every", "2", *TINY, "--run-dir", str(run_dir)],
                           capsys)  # fmt: skip
    assert code == 0, err
    checkpoints, losses = run_dir / "checkpoints", _losses(run_dir)
    for suffix in ("pt", "pt.sha256"):
        (checkpoints / f"last.{suffix}").write_bytes((checkpoints / f"last.previous.{suffix}").read_bytes())
    assert load_checkpoint(checkpoints / "last.pt")["progress"]["step"] == 4
    return run_dir, losses


def test_a_finished_run_behind_its_checkpoint_is_trained_again_to_its_target(
    restored: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, losses = restored
    code, out, err = run_cli(["pretrain", "--resume", str(run_dir)], capsys)
    assert code == 0, err
    assert "nothing to do" not in out
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["progress"]["step"] == 5
    assert _losses(run_dir) == losses  # the same iteration 5 as before: the continuation is exact


def test_a_target_between_the_checkpoint_and_meta_is_not_below_the_run(
    restored: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, losses = restored
    code, _, err = run_cli(["pretrain", "--resume", str(run_dir), "--iters", "3"], capsys)
    expected = "iters (--iters) must be at least the 4 iterations this run has already done but got 3"
    assert_one_line_error(code, err, expected)
    code, _, err = run_cli(["pretrain", "--resume", str(run_dir), "--iters", "4"], capsys)
    assert code == 0, err
    meta = json.loads((run_dir / "meta.json").read_text())
    assert (meta["status"], meta["step"], meta["target_iters"]) == ("finished", 4, 4)
    assert _losses(run_dir) == losses[:4]


@pytest.mark.parametrize("iters", [None, 5])  # meta.json finished: the checkpoint is read for its progress first
def test_a_resume_reads_the_checkpoint_once(
    restored: tuple[Path, list[str]], iters: int | None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run_dir, losses = restored
    loads: list[object] = []
    real_load = torch.load

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(args[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", counted)
    more = [] if iters is None else ["--iters", str(iters)]
    code, _, err = run_cli(["pretrain", "--resume", str(run_dir), *more], capsys)
    assert code == 0, err
    assert len(loads) == 1  # the progress check and the model share one read (a 24 M-parameter cost checkpoint)
    assert _losses(run_dir) == losses  # still exact
