"""Tests of the task registry: names, lookups by dataset and by stored metrics, plug-ins, and that
``evaluate_run`` hands every step to the dataset's task."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.cli_helpers import run_cli
from tscl.data import load_dataset
from tscl.errors import ConfigError
from tscl.runs.evaluation import evaluate_run
from tscl.tasks import (
    TASKS,
    create_task,
    headline_names,
    list_tasks,
    register_task,
    task_for,
    task_named,
    task_of,
)
from tscl.tasks.classification import ClassificationTask
from tscl.tasks.forecasting import ForecastingTask

START = datetime(2020, 1, 1)
TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]


def _toy_csv(path: Path, rows: int = 3700) -> Path:
    """An hourly two-column series long enough for the protocol's 720-step horizon on a 60/20/20 split."""
    rng = np.random.default_rng(0)
    wave = np.sin(np.arange(rows) * 2 * np.pi / 24) + 0.1 * rng.normal(size=rows)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "load", "OT"])
        for hour, value in enumerate(wave):
            writer.writerow([(START + timedelta(hours=hour)).isoformat(" "), 2 * value + 1, value])
    return path


def test_the_built_in_tasks_and_an_unknown_name() -> None:
    assert list_tasks() == ["classification", "forecasting", "label-efficiency"]
    assert isinstance(create_task("forecasting"), ForecastingTask)
    with pytest.raises(ConfigError) as raised:
        create_task("regression")
    assert raised.value.message == (
        "task must be one of classification, forecasting, label-efficiency but got 'regression'"
    )


def test_options_are_strict_but_shared_settings_go_to_the_tasks_that_take_them() -> None:
    with pytest.raises(ConfigError, match="task.head is not an option of forecasting"):
        create_task("forecasting", head="svm")
    assert isinstance(task_named("forecasting", head="knn"), ForecastingTask)
    classification = task_named("classification", head="knn")
    assert isinstance(classification, ClassificationTask) and classification.head == "knn"
    with pytest.raises(ConfigError, match="task must be one of"):
        task_named("regression", head="knn")


def test_task_for_looks_up_the_task_of_either_kind_of_dataset(tmp_path: Path, isolated_data_env: Path) -> None:
    assert isinstance(task_for(load_dataset("GunPoint")), ClassificationTask)
    forecasting = load_dataset(_toy_csv(tmp_path / "toy.csv"), univariate=True)
    assert isinstance(task_for(forecasting), ForecastingTask)
    valid = "classification, forecasting, label-efficiency"
    with pytest.raises(ConfigError, match=f"task must be one of {valid} but got 'ranking'"):
        task_for(SimpleNamespace(task="ranking"))


def test_task_of_reads_the_task_a_metrics_dict_names() -> None:
    assert isinstance(task_of({"task": "forecasting", "mean": {}}), ForecastingTask)
    assert isinstance(task_of({"task": "classification"}), ClassificationTask)
    for metrics in (None, {}, {"accuracy": 0.9}, {"task": "ranking"}, {"task": 3}):
        assert task_of(metrics) is None


def test_headline_names_are_every_tasks_in_task_name_order() -> None:
    assert headline_names() == ["accuracy", "auprc", "mse", "mae"]


class HorizonMSETask(ForecastingTask):
    """A plug-in task: forecasting judged by its mean MSE only."""

    name = "horizon-mse"
    headline_names = ("mse",)


def test_a_registered_task_is_listed_and_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TASKS, "_registered", {})  # the registration ends with the test
    register_task("horizon-mse", HorizonMSETask)
    assert list_tasks() == ["classification", "forecasting", "horizon-mse", "label-efficiency"]
    metrics = {"task": "horizon-mse", "mean": {"mse": 0.5, "mae": 0.7}}
    task = task_of(metrics)
    assert isinstance(task, HorizonMSETask) and task.headline(metrics) == {"mse": 0.5}
    assert headline_names() == ["accuracy", "auprc", "mse", "mae"]  # no new column: mse is one already
    with pytest.raises(ConfigError, match="already registered"):
        register_task("forecasting", HorizonMSETask)


@pytest.fixture
def gunpoint_run(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run = tmp_path / "gunpoint"
    code, _, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)
    assert code == 0, err
    return run


def test_evaluate_run_hands_every_step_to_the_registered_task(
    gunpoint_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    class RecordingTask(ClassificationTask):
        def evaluate(self, model: Any, data: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            calls.append(f"evaluate {data.name} {kwargs['objective']} head={self.head}")
            return super().evaluate(model, data, **kwargs)

        def metric_rows(self, metrics: Any) -> list[dict[str, Any]]:
            calls.append("rows")
            return [{"model": "tscl", "recorded": 1}]

        def plots(self, folder: Path, metrics: Any, extras: Any, data: Any) -> None:
            calls.append("plots")

    monkeypatch.setattr(TASKS, "_registered", {})
    register_task("classification", RecordingTask, replace=True)
    metrics = evaluate_run(gunpoint_run, head="knn", device="cpu", baselines=False)
    assert calls == ["evaluate GunPoint ts2vec head=knn", "plots", "rows"]  # plots drawn before the metrics are written
    assert metrics["head"] == "knn" and metrics["baselines"] == {}
    assert (gunpoint_run / "metrics.csv").read_text().splitlines() == ["model,recorded", "tscl,1"]
    with pytest.raises(ConfigError, match=r"task must match the dataset's \(classification\) but got 'forecasting'"):
        evaluate_run(gunpoint_run, task="forecasting", device="cpu", baselines=False)


def test_a_forecasting_run_is_evaluated_by_the_forecasting_task(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _toy_csv(tmp_path / "toy.csv")
    run = tmp_path / "toy-run"
    args = ["pretrain", "--dataset", str(data), "--univariate", "--iters", "2", *TINY, "--run-dir", str(run)]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    code, out, err = run_cli(["evaluate", str(run), "--no-baselines", "--json", "--threads", "1"], capsys)
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["task"] == "forecasting" and metrics["univariate"] is True and metrics["paper"] is None
    assert list(metrics["horizons"]) == ["24", "48", "168", "336", "720"]
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0] == "model,horizon,mse,mae,mse_raw,mae_raw,valid_mse,valid_mae" and len(lines) == 7
    assert sorted(p.name for p in (run / "plots").glob("*.png")) == ["forecasts.png", "loss.png", "mse_by_horizon.png"]
    code, out, _ = run_cli(["report", str(run)], capsys)
    assert code == 0 and out.count("toy · ts2vec · univariate") == 3  # normalised, raw scale, validation split
    assert "(validation split, normalised)" in out and "tscl MSE" in out
    code, out, _ = run_cli(["runs", "--runs-dir", str(tmp_path), "--json"], capsys)
    mean = metrics["mean"]  # the validation error first: the number to compare settings on
    headline = f"valid MSE {mean['valid_mse']:.3f} · MSE {mean['mse']:.3f} / MAE {mean['mae']:.3f}"
    assert code == 0 and [r["headline_text"] for r in json.loads(out)] == [headline]
    numbers = json.loads(out)[0]["headline"]  # the same metrics as numbers, validation first
    assert list(numbers) == ["valid_mse", "mse", "mae"] and numbers["valid_mse"] == pytest.approx(mean["valid_mse"])
