"""The public API takes a path as a ``str`` (or any ``os.PathLike``) wherever it takes a ``pathlib.Path``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import tscl
from tscl.config import resolve_config

TINY = {"iters": 2, "repr_dims": 8, "hidden_dims": 8, "depth": 1, "batch_size": 4, "max_train_length": 64,
        "device": "cpu", "threads": 1}  # fmt: skip


class OtherPath(os.PathLike[str]):
    """A path-like that is not a ``pathlib.Path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one tiny GunPoint run (aeon's offline copy), made through ``tscl.pretrain`` given a str."""
    folder = tmp_path_factory.mktemp("api-paths")
    config = resolve_config(None, None, {"dataset": "GunPoint", **TINY})
    result = tscl.pretrain(config, run_dir=str(folder / "runs" / "gunpoint"))
    assert result.run_dir == folder / "runs" / "gunpoint" and (result.run_dir / "meta.json").is_file()
    return folder / "runs"


def test_run_functions_take_a_str_path(runs_folder: Path, isolated_data_env: Path, one_thread: None) -> None:
    run = str(runs_folder / "gunpoint")
    assert tscl.resume(run, iters=3).steps == 3
    metrics = tscl.evaluate_run(run, head="knn", device="cpu", baselines=False, plots=False, threads=1)
    assert metrics["run_dir"] == run
    assert tscl.encode_dataset(run, device="cpu", threads=1).shape[1] == 8
    assert [row["run_dir"] for row in tscl.list_runs(str(runs_folder))] == [run]
    assert [r["run_dir"] for r in tscl.compare_runs([run]).runs] == [run]
    assert [r["run_dir"] for r in tscl.compare_runs(str(runs_folder)).runs] == [run]
    assert [r["run_dir"] for r in tscl.compare_runs([OtherPath(Path(run))]).runs] == [run]


def test_run_functions_take_a_str_pretrain_root(tmp_path: Path, isolated_data_env: Path, one_thread: None) -> None:
    config = resolve_config(None, None, {"dataset": "GunPoint", **TINY})
    result = tscl.pretrain(config, runs_root=str(tmp_path / "root"))
    assert result.run_dir.parent == tmp_path / "root"


def test_load_dataset_takes_str_and_path_like_data_dirs_and_files(
    shared_datasets: Path, tmp_path: Path, isolated_data_env: Path
) -> None:
    assert tscl.load_dataset("ETTh1", str(shared_datasets)).name == "ETTh1"
    assert tscl.load_dataset("ETTh1", OtherPath(shared_datasets)).name == "ETTh1"
    csv = next(shared_datasets.glob("**/ETTh1.csv"))
    copy = tmp_path / "ETTh1.csv"
    shutil.copy(csv, copy)
    assert tscl.load_dataset(OtherPath(copy)).task == "forecasting"


def test_model_save_and_load_take_a_str(tmp_path: Path, one_thread: None) -> None:
    model = tscl.ContrastiveModel(1, repr_dims=8, hidden_dims=8, depth=1, device="cpu")
    model.save(str(tmp_path / "model.pt"))
    assert tscl.ContrastiveModel.load(str(tmp_path / "model.pt"), device="cpu").input_dims == 1
