"""Experiment tracking end to end: a pretraining and its evaluation land in MLflow and TensorBoard."""

from __future__ import annotations

import csv
import json
import socket
import time
from pathlib import Path

import pytest

from tests.cli_helpers import one_line_error, run_cli
from tscl.runs.tracking import numeric_leaves

TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]


def test_numeric_leaves_flatten_nested_metrics() -> None:
    values = {"accuracy": 0.9, "ok": True, "horizons": {"24": {"mse": 0.1}}, "name": "x", "bad": float("nan")}
    assert numeric_leaves(values) == {"accuracy": 0.9, "horizons/24/mse": 0.1}


def test_mlflow_finds_the_run_with_params_final_loss_and_accuracy(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tscl-test")
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "6", *TINY, "--run-dir", str(run), "--track", "mlflow"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["evaluate", str(run), "--no-baselines", "--no-plots", "--track", "mlflow", "--json"],
                             capsys)  # fmt: skip
    assert code == 0, err
    accuracy = json.loads(out)["accuracy"]
    found = mlflow.search_runs(experiment_names=["tscl-test"])
    assert len(found) == 1
    row = found.iloc[0]
    assert row["run_id"] == json.loads((run / "tracking.json").read_text())["mlflow_run_id"]
    assert row["params.objective"] == "ts2vec" and row["params.encoder.repr_dims"] == "16"
    with open(run / "losses.csv") as handle:
        final = [float(r["loss"]) for r in csv.DictReader(handle)][-1]
    assert row["metrics.loss"] == pytest.approx(final, abs=1e-4)  # losses.csv keeps 4 decimals
    assert row["metrics.eval/accuracy"] == pytest.approx(accuracy)
    assert row["tags.mlflow.runName"] == "run"


def test_tensorboard_event_files_hold_the_loss_curve(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "5", *TINY, "--run-dir", str(run), "--track", "tensorboard"],
                           capsys)  # fmt: skip
    assert code == 0, err
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("loss")] == [1, 2, 3, 4, 5]


def test_an_unknown_tracker_fails_before_any_work(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run), "--track", "wandb"], capsys)
    assert code == 1 and "--track must be one of mlflow, tensorboard" in err
    assert not run.exists()


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_mlflow_server_where_nothing_listens_fails_in_seconds_before_any_work(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mlflow")
    uri = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run, grid = tmp_path / "run", tmp_path / "grid.toml"
    grid.write_text(f'datasets = ["GunPoint"]\noutput = "{(tmp_path / "sweep").as_posix()}"\n')
    commands = {
        "pretrain": ["pretrain", "--iters", "2", *TINY, "--run-dir", str(run), "--track", "mlflow"],
        "sweep": ["sweep", str(grid), "--track", "mlflow"],
    }
    for args in commands.values():
        began = time.monotonic()
        code, out, err = run_cli(args, capsys)
        assert time.monotonic() - began < 10, args
        one_line_error(code, err, "MLFLOW_TRACKING_URI must name a tracking server", f"nothing answers at {uri}")
        assert out == ""
    assert not run.exists() and not (tmp_path / "sweep").exists() and list(tmp_path.glob("cwd/*")) == []
