"""The experiment files in ``experiments/``: every grid is valid, and the UCR hold-out split is what it says."""

from __future__ import annotations

import functools
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from tscl.sweep import load_grid

EXPERIMENTS = Path(__file__).parents[2] / "experiments"


@functools.cache
def _holdout_module():  # type: ignore[no-untyped-def]
    """``experiments/ucr_holdout.py`` as a module (loaded once)."""
    spec = importlib.util.spec_from_file_location("ucr_holdout", EXPERIMENTS / "ucr_holdout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_every_experiment_grid_is_valid(path: Path) -> None:
    grid = load_grid(path, data_dir="/nonexistent")
    assert grid.trials()


def _write_ucr(root: Path, name: str, labels: list[int]) -> list[str]:
    folder = root / "UCR" / name
    folder.mkdir(parents=True)
    lines = [f"{label}\t{i}.0\t{i + 1}.5\t{-i}.25" for i, label in enumerate(labels)]
    (folder / f"{name}_TRAIN.tsv").write_text("\n".join(lines) + "\n")
    (folder / f"{name}_TEST.tsv").write_text("9\t0\t0\t0\n")
    return lines


def test_holdout_is_a_stratified_partition_of_the_training_split(tmp_path: Path) -> None:
    holdout = _holdout_module()
    labels = [1] * 10 + [2] * 5 + [3] * 1 + [4] * 3
    lines = _write_ucr(tmp_path / "data", "Toy", labels)
    assert holdout.main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / "UCR" / "ToyHO"
    train = (folder / "ToyHO_TRAIN.tsv").read_text().splitlines()
    test = (folder / "ToyHO_TEST.tsv").read_text().splitlines()
    assert sorted(train + test) == sorted(lines)  # a partition, lines copied verbatim; the test split unread
    held = Counter(line.split("\t")[0] for line in test)
    assert held == Counter({"1": 2, "2": 1, "4": 1})  # round(0.2 n) per class; a single series stays in
    again = holdout.held_out_lines(lines, 0.2, 0)
    assert {lines[i] for i in again} == set(test)  # same seed, same split
    assert holdout.held_out_lines(lines, 0.2, 1) != again


def test_holdout_refuses_bad_arguments_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holdout = _holdout_module()
    _write_ucr(tmp_path / "data", "Toy", [1, 2, 1, 2])
    assert holdout.main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o"), "--fraction", "1"]) == 1
    assert holdout.main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o"), "Nope"]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
    assert "Nope" in errors[1]
    assert not (tmp_path / "o").exists()


def test_holdout_of_gunpoint_loads_as_a_dataset(shared_datasets: Path, tmp_path: Path) -> None:
    from tscl.data import load_dataset

    holdout = _holdout_module()
    assert holdout.main(["--data-dir", str(shared_datasets), "--out", str(tmp_path), "GunPoint"]) == 0
    data = load_dataset("GunPointHO", tmp_path)
    original = load_dataset("GunPoint", shared_datasets)
    assert data.task == "classification"
    assert data.y_train is not None and data.y_test is not None and original.y_train is not None
    assert len(data.y_train) == 40 and len(data.y_test) == 10
    assert sorted(Counter(data.y_test.tolist()).values()) == [5, 5]  # GunPoint's training split is 24 + 26
    assert data.class_names == original.class_names
