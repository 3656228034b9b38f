"""The TS2Vec objective with a loss of the menu: batches of one series are refused when the loss has no
negatives inside a series, and trained on when it has (the hierarchical loss's temporal term)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import one_line_error, run_cli
from tests.synthetic import random_walks

TINY = ["--iters", "2", "--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1",
        "--device", "cpu"]  # fmt: skip


@pytest.mark.parametrize("loss", ["infonce", "dcl", "siglip", "align_uniform"])
def test_a_batch_of_one_series_is_refused_when_the_loss_contrasts_only_other_series(
    loss: str, tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code, out, err = run_cli(["pretrain", "--objective", "ts2vec", "--loss", loss, "--batch-size", "1", *TINY,
                              "--run-dir", str(run)], capsys)  # fmt: skip
    one_line_error(code, err, "batch_size must be at least 2 for objective ts2vec", "but got 1")
    assert "--loss hierarchical" not in err and "hierarchical" in err and out == "" and not run.exists()
    one_series = tmp_path / "one.npy"
    np.save(one_series, random_walks(1, 60, 2))
    code, out, err = run_cli(["pretrain", "--objective", "ts2vec", "--loss", loss, "--dataset", str(one_series),
                              *TINY, "--run-dir", str(run)], capsys)  # fmt: skip
    one_line_error(code, err, "the training data must have at least 2 series", "but has 1")
    assert out == "" and not run.exists()


def test_the_hierarchical_loss_learns_from_a_batch_of_one_series_by_its_temporal_term(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--objective", "ts2vec", "--loss", "hierarchical", "--batch-size", "1",
                            *TINY, "--run-dir", str(run)], capsys)  # fmt: skip
    assert code == 0, err
    with (run / "losses.csv").open() as handle:
        losses = [float(row["loss"]) for row in csv.DictReader(handle)]
    assert losses and all(loss > 0 for loss in losses)
