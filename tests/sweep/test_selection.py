"""The sweep's best setting is chosen on validation metrics (``cv_accuracy``, ``valid_mse``), never on test.

The trials' run directories are written by hand with numbers whose validation and test rankings disagree, so
the choice shows which one was used; ``tscl sweep`` then finds every trial finished and only summarises.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_cli
from tscl.config import dump_config
from tscl.sweep import load_grid
from tscl.sweep.trial import Layout

GRID = """
datasets = ["GunPoint", "ETTh1", "ArrowHead"]
seeds = [0, 1]
output = "{output}"
[[settings]]
name = "a"
lr = 0.001
[[settings]]
name = "b"
lr = 0.01
"""
# (dataset, setting) -> the metrics of both seeds: "a" wins on test, "b" on validation.
CLASSIFICATION = {
    "a": {"task": "classification", "head": "svm", "accuracy": 0.95, "auprc": 0.97, "cv_accuracy": 0.70},
    "b": {"task": "classification", "head": "svm", "accuracy": 0.80, "auprc": 0.85, "cv_accuracy": 0.90},
}
FORECASTING = {
    "a": {"task": "forecasting", "horizons": {}, "mean": {"mse": 0.20, "mae": 0.30, "valid_mse": 0.60}},
    "b": {"task": "forecasting", "horizons": {}, "mean": {"mse": 0.40, "mae": 0.45, "valid_mse": 0.50}},
}
NO_VALIDATION = {  # a head without a grid search: no cross-validation accuracy, no choice
    "a": {"task": "classification", "head": "knn", "accuracy": 0.9, "auprc": None, "cv_accuracy": None},
    "b": {"task": "classification", "head": "knn", "accuracy": 0.7, "auprc": None, "cv_accuracy": None},
}
METRICS = {"GunPoint": CLASSIFICATION, "ETTh1": FORECASTING, "ArrowHead": NO_VALIDATION}


def _finished_trials(grid_path: Path, output: Path, metrics: dict[str, Any] = METRICS) -> None:
    """Every trial of the grid as a finished, evaluated run directory holding the numbers above."""
    layout = Layout(output)
    for trial in load_grid(grid_path).trials():
        run = layout.run_dir(trial.id)
        run.mkdir(parents=True)
        (run / "config.toml").write_text(dump_config(trial.config))
        meta = {"status": "finished", "dataset": trial.dataset, "objective": trial.objective, "step": 2}
        (run / "meta.json").write_text(json.dumps(meta))
        (run / "metrics.json").write_text(json.dumps(metrics[trial.dataset][trial.setting]))


def test_the_best_setting_is_chosen_on_validation_never_on_test(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(output=output.as_posix()))
    _finished_trials(grid, output)

    code, out, err = run_cli(["sweep", str(grid), "--json"], capsys)
    assert code == 0, err
    rows = {(row["dataset"], row["setting"]): row for row in json.loads(out)["rows"]}
    assert rows[("GunPoint", "b")]["best"] and not rows[("GunPoint", "a")]["best"]  # higher cv_accuracy
    assert rows[("ETTh1", "b")]["best"] and not rows[("ETTh1", "a")]["best"]  # lower valid_mse
    assert not rows[("ArrowHead", "a")]["best"] and not rows[("ArrowHead", "b")]["best"]
    assert list(rows[("GunPoint", "a")]["metrics"]) == ["cv_accuracy", "accuracy", "auprc"]  # validation first
    assert list(rows[("ETTh1", "a")]["metrics"]) == ["valid_mse", "mse", "mae"]
    assert rows[("ETTh1", "b")]["metrics"]["valid_mse"] == {"mean": 0.5, "std": 0.0}

    summary = json.loads((output / "summary.json").read_text())
    assert summary["best"] == [
        {"dataset": "GunPoint", "objective": "ts2vec", "setting": "b", "selected_on": "cv_accuracy"},
        {"dataset": "ETTh1", "objective": "ts2vec", "setting": "b", "selected_on": "valid_mse"},
    ]
    with open(output / "summary.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        lines = {(line["dataset"], line["setting"]): line for line in reader}
        columns = list(reader.fieldnames or [])
    assert columns.index("cv_accuracy_mean") < columns.index("accuracy_mean")
    assert columns.index("valid_mse_mean") < columns.index("mse_mean")
    assert [key for key, line in lines.items() if line["best"] == "best"] == [("GunPoint", "b"), ("ETTh1", "b")]
    for task in ("classification", "forecasting"):  # validation beside test, the best marked
        assert (output / "plots" / f"summary-{task}.png").read_bytes()[:4] == b"\x89PNG"

    code, out, err = run_cli(["sweep", str(grid)], capsys)
    assert code == 0, err
    text = " ".join(out.split())
    assert "b ★" in text and "best mean validation metric (never test)" in text


def test_the_summary_sets_each_objective_beside_its_baselines_and_names_those_it_loses_to(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(output=output.as_posix()).replace('"ETTh1", "ArrowHead"', '"ETTh1"'))
    untrained = {"task": "classification", "head": "svm", "accuracy": 0.9, "auprc": 0.9, "cv_accuracy": 0.80}
    raw = {"task": "classification", "head": "svm", "accuracy": 0.7, "auprc": 0.7, "cv_accuracy": 0.75}
    raw_series = {"task": "forecasting", "horizons": {}, "mean": {"mse": 0.3, "mae": 0.4, "valid_mse": 0.55}}
    METRICS_WITH = {  # "a" (cv 0.70) is below both baselines, "b" (cv 0.90) above; on ETTh1 raw input sits between
        "GunPoint": {k: {**v, "baselines": {"random init": untrained, "raw input": raw}} for k, v in
                     CLASSIFICATION.items()},
        "ETTh1": {k: {**v, "baselines": {"raw input": raw_series}} for k, v in FORECASTING.items()},
    }  # fmt: skip
    _finished_trials(grid, output, METRICS_WITH)

    code, out, err = run_cli(["sweep", str(grid), "--json"], capsys)
    assert code == 0, err
    rows = {(row["dataset"], row["setting"]): row for row in json.loads(out)["rows"]}
    assert rows[("GunPoint", "a")]["baselines"]["random init"]["cv_accuracy"] == {"mean": 0.8, "std": 0.0}
    assert rows[("GunPoint", "a")]["below"] == ["random init", "raw input"]
    assert rows[("GunPoint", "b")]["below"] == []
    assert rows[("ETTh1", "a")]["below"] == ["raw input"] and rows[("ETTh1", "b")]["below"] == []  # valid_mse
    code, out, err = run_cli(["sweep", str(grid)], capsys)
    assert code == 0, err
    text = " ".join(out.split())
    assert "below" in text and "classification · baselines" in text and "forecasting · baselines" in text


def _row(setting: str, metrics: dict[str, Any]) -> dict[str, Any]:
    stats = {name: {"mean": value, "std": 0.0} for name, value in metrics.items()}
    return {"dataset": "d", "objective": "o", "setting": setting, "task": "classification", "n": 1, "metrics": stats}


def test_one_setting_or_no_validation_number_chooses_nothing() -> None:
    from tscl.sweep.summary import mark_best

    assert mark_best([_row("only", {"cv_accuracy": 0.9, "accuracy": 0.9})]) == []
    rows = [_row("a", {"accuracy": 0.9}), _row("b", {"cv_accuracy": 0.5, "accuracy": 0.1})]
    assert [row["setting"] for row in mark_best(rows)] == ["b"]  # the only one measured on validation
