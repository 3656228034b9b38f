"""A sweep sent to experiment trackers: one tracked run per trial, nested under one run for the sweep.

``tscl sweep GRID --track mlflow`` opens (or, on a re-run, reopens) an MLflow run named after the sweep, whose
id is kept in ``OUTPUT/tracking.json``; every trial's pretraining and evaluation go to a run of its own nested
under it (the ``mlflow.parentRunId`` tag, which works across the processes and Ray workers that run trials);
the sweep run gets the grid and the summary files as artifacts and each summary row's mean metrics.
``--track tensorboard`` writes each trial's event files into its run directory (``tensorboard --logdir
OUTPUT/trials`` shows them side by side).

What a trial needs to reach the same tracking store from another process is :class:`SweepTracking`, a
small picklable value: the tracker names, the parent run and the resolved tracking URI and experiment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tscl.runs.files import read_json_or_none, write_json
from tscl.runs.tracking import (
    _mlflow,
    _reported,
    _require,
    check_trackers,
    log_evaluation,
    numeric_leaves,
    start_trackers,
)

TRACKING = "tracking.json"
SUMMARY_FILES = ("grid.toml", "summary.json", "summary.csv")


@dataclass(frozen=True)
class SweepTracking:
    """Where a sweep's trials send their runs (picklable: it travels to worker processes and Ray tasks)."""

    names: tuple[str, ...]
    parent: str | None = None  # the sweep's MLflow run
    uri: str | None = None  # MLflow tracking URI, absolute, as the sweep process resolved it
    experiment: str | None = None

    def activate(self) -> None:
        """Point this process's MLflow at the sweep's store and experiment (a worker's may differ)."""
        if self.uri is not None:
            os.environ["MLFLOW_TRACKING_URI"] = self.uri
        if self.experiment is not None:
            os.environ["MLFLOW_EXPERIMENT_NAME"] = self.experiment


def _absolute(uri: str) -> str:
    """A tracking URI that means the same store from any working directory (local paths made absolute)."""
    match = re.fullmatch(r"sqlite:///(.*)", uri)
    if match and not os.path.isabs(match.group(1)):
        return f"sqlite:///{Path(match.group(1)).resolve()}"
    if "://" not in uri and not uri.startswith("file:"):
        return str(Path(uri).resolve())
    return uri


def open_sweep(names: Iterable[str], name: str, output: Path) -> SweepTracking | None:
    """Start (or reopen, on a re-run of the same sweep) the sweep's tracked run; None when nothing is tracked."""
    names = tuple(check_trackers(names))
    if not names:
        return None
    if "mlflow" not in names:
        return SweepTracking(names)
    # the store as an absolute URI, used from here on by this process too: the trials' processes (other working
    # directories) write where the sweep's run is, and the store exists before they start (no racing set-up)
    uri = _absolute(_require("mlflow", "mlflow").get_tracking_uri())
    SweepTracking(names, uri=uri).activate()
    mlflow = _mlflow()
    state = read_json_or_none(output / TRACKING) or {}
    with _reported("mlflow"):
        client = mlflow.tracking.MlflowClient()
        experiment = mlflow.get_experiment_by_name(os.environ.get("MLFLOW_EXPERIMENT_NAME", "tscl"))
        run_id = state.get("mlflow_run_id")
        if run_id is not None and _exists(client, run_id):
            client.update_run(run_id, status="RUNNING")
        else:
            run = client.create_run(experiment.experiment_id, run_name=name, tags={"tscl.sweep": str(output.resolve())})
            run_id = run.info.run_id
            write_json(output / TRACKING, {**state, "mlflow_run_id": run_id})
    return SweepTracking(names, parent=run_id, uri=uri, experiment=experiment.name)


def _exists(client: Any, run_id: str) -> bool:
    try:
        return client.get_run(run_id).info.lifecycle_stage == "active"
    except Exception:  # deleted, or another store
        return False


def trial_trackers(tracking: SweepTracking, run_dir: Path, resumed: bool) -> list[Any]:
    """A trial's trackers: a new run nested under the sweep's, or the resumed trial's own run going on."""
    tracking.activate()
    return start_trackers(tracking.names, resumed=run_dir if resumed else None, parent=tracking.parent)


def track_evaluation(tracking: SweepTracking, run_dir: Path, metrics: dict[str, Any]) -> None:
    tracking.activate()
    log_evaluation(run_dir, metrics, tracking.names)


def close_sweep(tracking: SweepTracking | None, output: Path, rows: Sequence[dict[str, Any]], ok: bool) -> None:
    """Give the sweep's run its summary (files, and each row's mean metrics) and end it."""
    if tracking is None or tracking.parent is None:
        return
    tracking.activate()
    mlflow = _mlflow()
    with _reported("mlflow"):
        client = mlflow.tracking.MlflowClient()
        metrics: dict[str, float] = {}
        for row in rows:
            label = "/".join([Path(str(row["dataset"])).name, str(row["objective"]), str(row["setting"])])
            means = {name: stats["mean"] for name, stats in row["metrics"].items()}
            for key, value in numeric_leaves(means).items():
                metrics[re.sub(r"[^\w\-./ ]", "_", f"{label}/{key}")] = value
        for key, value in metrics.items():
            client.log_metric(tracking.parent, key, value)
        for file in SUMMARY_FILES:
            if (output / file).is_file():
                client.log_artifact(tracking.parent, str(output / file))
        client.set_terminated(tracking.parent, status="FINISHED" if ok else "FAILED")
