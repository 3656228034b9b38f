"""ContrastiveModel.save and load given a directory instead of a file: a CheckpointError, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synthetic import random_walks
from tscl.errors import CheckpointError
from tscl.training.model import ContrastiveModel

SMALL = {"repr_dims": 8, "hidden_dims": 8, "depth": 1, "batch_size": 4, "device": "cpu", "threads": 1}


def test_save_to_a_directory_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    model = ContrastiveModel(**SMALL).fit(random_walks(4, 20, 2), n_iters=1)
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="must be a file but is a directory") as caught:
        model.save(folder)
    assert caught.value.hint == f"pass a file path in it, e.g. {folder / 'model.pt'}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]
    assert list(folder.iterdir()) == []


def test_load_of_a_directory_says_it_is_one(tmp_path: Path) -> None:
    model = ContrastiveModel(**SMALL).fit(random_walks(4, 20, 2), n_iters=1)
    run = tmp_path / "run"
    model.save(run / "checkpoints" / "last.pt")
    with pytest.raises(CheckpointError, match="must be a file but is a directory") as caught:
        ContrastiveModel.load(run)
    assert caught.value.hint == f"pass the run's checkpoint {run / 'checkpoints' / 'last.pt'}"
    assert ContrastiveModel.load(run / "checkpoints" / "last.pt").progress.step == 1


def test_load_takes_the_thread_count(tmp_path: Path) -> None:
    from tscl.errors import ConfigError

    model = ContrastiveModel(**SMALL).fit(random_walks(4, 20, 2), n_iters=1)
    model.save(tmp_path / "model.pt")
    assert ContrastiveModel.load(tmp_path / "model.pt", threads=1).threads == 1
    assert ContrastiveModel.load(tmp_path / "model.pt").threads is None
    with pytest.raises(ConfigError, match="threads must be a positive integer but got 0"):
        ContrastiveModel.load(tmp_path / "model.pt", threads=0)
