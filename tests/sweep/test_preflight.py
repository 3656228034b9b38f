"""The sweep checks every dataset it can read against its evaluation before any trial starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tscl.errors import ConfigError
from tscl.sweep import run_sweep

TINY = {"iters": 2, "repr_dims": 8, "hidden_dims": 8, "depth": 1, "batch_size": 4, "device": "cpu", "threads": 1,
        "plots": False, "baselines": False}  # fmt: skip


def _series(rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, 24, 1)).astype(np.float32)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": _series(12)}, "must be labelled to be evaluated by classification"),
        ({"X": _series(12), "y": np.arange(12) % 2}, "must have test series to be evaluated by classification"),
    ],
)
def test_a_dataset_the_evaluation_cannot_score_fails_before_any_trial(
    tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    data = tmp_path / "toy.npz"
    np.savez(data, **arrays)
    grid = {"datasets": [str(data)], "seeds": [0, 1], "output": str(tmp_path / "out"), "base": TINY}
    with pytest.raises(ConfigError, match=f"sweep: {data}: dataset toy {message}"):
        run_sweep(grid)
    assert not (tmp_path / "out").exists()  # nothing written, nothing pretrained


def test_a_labelled_dataset_with_test_series_runs(tmp_path: Path) -> None:
    data = tmp_path / "toy.npz"
    y = np.arange(12) % 2
    np.savez(data, X_train=_series(12), y_train=y, X_test=_series(12, seed=1), y_test=y)
    grid = {"datasets": [str(data)], "seeds": [0], "output": str(tmp_path / "out"), "base": TINY}
    assert run_sweep(grid).ok
