"""``tscl sweep --track``: one MLflow run per trial nested under the sweep's run, on every back-end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_cli
from tests.sweep.test_ray_backend import GRID
from tests.sweep.test_sweep import TINY_TOML

EXPERIMENT = "tscl-sweep-test"


def _tracked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    mlflow = pytest.importorskip("mlflow")
    # a relative store: the trials' processes (other working directories) must still find it
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", EXPERIMENT)
    return mlflow


def _sweep(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(output=(tmp_path / "out").as_posix(), base=TINY_TOML))
    code, _, err = run_cli(["sweep", str(grid), "--track", "mlflow", *args], capsys)
    assert code == 1 and "2 of 4 trials did not finish" in err, err  # the wrong-task trials fail alone
    return json.loads((tmp_path / "out" / "summary.json").read_text())


def _check_nesting(mlflow: Any, summary: dict[str, Any], out: Path) -> None:
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT])
    parent_id = json.loads((out / "tracking.json").read_text())["mlflow_run_id"]
    parent = runs[runs["run_id"] == parent_id].iloc[0]
    assert parent["tags.mlflow.runName"] == "grid" and parent["status"] == "FAILED"  # not every trial finished
    children = runs[runs["tags.mlflow.parentRunId"] == parent_id]
    assert len(children) == 4 and len(runs) == 5  # one per trial, nothing else
    by_dir = {row["tags.tscl.run_dir"]: row for _, row in children.iterrows()}
    for trial in summary["trials"]:
        child = by_dir[str(Path(trial["run_dir"]).resolve())]
        own = json.loads((Path(trial["run_dir"]) / "tracking.json").read_text())["mlflow_run_id"]
        assert child["run_id"] == own and child["params.seed"] == str(trial["seed"])
        assert child["metrics.loss"] > 0
        if trial["status"] == "finished":  # the evaluation landed in the trial's own run
            metrics = json.loads((Path(trial["run_dir"]) / "metrics.json").read_text())
            assert child["metrics.eval/accuracy"] == pytest.approx(metrics["accuracy"])
    row = next(r for r in summary["rows"] if r["setting"] == "ok")
    assert parent["metrics.GunPoint/ts2vec/ok/accuracy"] == pytest.approx(row["metrics"]["accuracy"]["mean"])
    artifacts = mlflow.tracking.MlflowClient().list_artifacts(parent_id)
    assert {"grid.toml", "summary.json", "summary.csv"} <= {a.path for a in artifacts}


def test_sweep_trials_are_nested_runs_under_the_sweep(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mlflow = _tracked(tmp_path, monkeypatch)
    pytest.importorskip("tensorboard")
    summary = _sweep(tmp_path, ["--workers", "2", "--track", "tensorboard"], capsys)
    _check_nesting(mlflow, summary, tmp_path / "out")
    for trial in summary["trials"]:  # and TensorBoard event files in every trial's run directory
        assert list((Path(trial["run_dir"]) / "tensorboard").glob("events.out.tfevents.*"))
    # re-running retries the failed evaluations inside the same runs: no new sweep run, no new trial runs
    _sweep(tmp_path, [], capsys)
    assert len(mlflow.search_runs(experiment_names=[EXPERIMENT])) == 5


def test_sweep_tracking_on_ray_nests_the_same_way(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ray = pytest.importorskip("ray")
    mlflow = _tracked(tmp_path, monkeypatch)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = _sweep(tmp_path, ["--backend", "ray"], capsys)
    finally:
        ray.shutdown()
    _check_nesting(mlflow, summary, tmp_path / "out")


def test_resuming_a_tracked_run_continues_its_mlflow_run(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mlflow = _tracked(tmp_path, monkeypatch)
    tiny = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--threads", "1"]
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "4", *tiny, "--run-dir", str(run), "--track", "mlflow"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--iters", "7", "--track", "mlflow"], capsys)
    assert code == 0, err
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT])
    assert len(runs) == 1
    history = mlflow.tracking.MlflowClient().get_metric_history(runs.iloc[0]["run_id"], "loss")
    assert [m.step for m in history] == list(range(1, 8))
    assert runs.iloc[0]["params.iters"] == "4" and runs.iloc[0]["tags.resumed.iters"] == "7"
