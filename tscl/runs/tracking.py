"""Experiment tracking: a run's configuration, loss curve, metrics and files sent to MLflow or TensorBoard.

Both are optional extras (``pip install "tscl[mlflow]"`` / ``"tscl[tensorboard]"``), imported only when asked
for. A tracker sees a pretraining run step by step (``step``), then the finished run directory (``finish``:
the resolved configuration as parameters, plots and ``config.toml`` as artifacts); ``tscl evaluate`` adds the
evaluation's metrics to the same tracked run (``log_evaluation``). Which tracked run belongs to a run
directory is kept in its ``tracking.json``.

* MLflow: the store is ``MLFLOW_TRACKING_URI`` when set, else MLflow's default (a local ``./mlflow.db``
  SQLite store with artifacts in ``./mlartifacts``, or ``./mlruns`` with older MLflow); one MLflow run
  per tscl run, named after its directory, in the experiment ``tscl`` (``MLFLOW_EXPERIMENT_NAME`` overrides).
* TensorBoard: event files in ``RUN_DIR/tensorboard`` (``tensorboard --logdir RUN_DIR``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from tscl.errors import ConfigError, TsclError
from tscl.net import unreachable
from tscl.runs.files import read_json_or_none, write_json
from tscl.runs.layout import CONFIG, METRICS, PLOTS, load_run_config

__all__ = ["TRACKERS", "Tracker", "log_evaluation", "start_trackers"]

TRACKING = "tracking.json"
TRACKERS = ("mlflow", "tensorboard")
LOSS_BATCH = 100  # loss values sent to MLflow at once
PARENT_TAG = "mlflow.parentRunId"  # how MLflow nests a run under another (the UI shows it as a child)


class Tracker(Protocol):
    def step(self, step: int, loss: float) -> None: ...

    def finish(self, run_dir: Path) -> None: ...

    def abort(self) -> None: ...


def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"--track {extra} needs the {module} package but it is not installed",
            hint=f'pip install "tscl[{extra}]"',
        ) from None


def check_trackers(names: Iterable[str]) -> list[str]:
    """The tracker names, validated (unknown names, missing extras and an MLflow server where nothing listens
    fail before any work). One name given as a string is one tracker, not its letters."""
    names = list(dict.fromkeys([names] if isinstance(names, str) else names))
    for name in names:
        if name not in TRACKERS:
            raise ConfigError(f"--track must be one of {', '.join(TRACKERS)} but got {name!r}")
        module = _require("mlflow" if name == "mlflow" else "tensorboard", name)
        if name == "mlflow":
            check_mlflow_server(str(module.get_tracking_uri()))
    return names


def check_mlflow_server(uri: str) -> None:
    """Refuse an ``http(s)://`` tracking URI where nothing listens: MLflow's client would retry for minutes
    before failing. Other stores (a local file or database) are not probed.

    Raises:
        ConfigError: Nothing accepted a TCP connection to the URI's host and port within a few seconds.
    """
    parsed = urlsplit(uri)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:  # a port that is no number: MLflow names it better
        return
    reason = unreachable(parsed.hostname, port)
    if reason is not None:
        raise ConfigError(
            f"MLFLOW_TRACKING_URI must name a tracking server that is listening but nothing answers at {uri} "
            f"({reason})",
            hint="start the MLflow server it names (`mlflow server`), fix MLFLOW_TRACKING_URI, or unset it for a "
            "local store",
        )


def start_trackers(names: Iterable[str], resumed: Path | None = None, parent: str | None = None) -> list[Tracker]:
    """Trackers for a pretraining run; ``resumed``: the run directory being resumed (its tracked run goes on),
    ``parent``: the MLflow run a new run is nested under (a sweep's)."""
    run_id = None
    if resumed is not None:
        run_id = (read_json_or_none(resumed / TRACKING) or {}).get("mlflow_run_id")
    return [
        MlflowTracker(run_id=run_id, parent=parent) if name == "mlflow" else TensorBoardTracker()
        for name in check_trackers(names)
    ]


def numeric_leaves(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every finite number in a nested mapping, keyed by its path joined with ``/``."""
    out: dict[str, float] = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(numeric_leaves(value, path + "/"))
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[path] = float(value)
    return out


def _params(run_dir: Path) -> dict[str, str]:
    return {key: str(value) for key, value in load_run_config(run_dir).flat().items()}


def _remember(run_dir: Path, key: str, value: str) -> None:
    state = read_json_or_none(run_dir / TRACKING) or {}
    write_json(run_dir / TRACKING, {**state, key: value})


# -- MLflow ----------------------------------------------------------------------------------------------------
def _mlflow() -> Any:
    mlflow = _require("mlflow", "mlflow")
    with _reported("mlflow"):
        mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "tscl"))
    return mlflow


@contextmanager
def _reported(name: str) -> Iterator[None]:
    """A tracking library's error as one line naming the tracker (the run directory is complete regardless)."""
    try:
        yield
    except TsclError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        raise TsclError(
            f"tracking to {name} failed: {type(exc).__name__}: {text}",
            hint="check MLFLOW_TRACKING_URI (mlflow) or the run directory's permissions; the run itself is saved",
        ) from None


class MlflowTracker:
    """One MLflow run per pretraining run: params, the loss per step, artifacts.

    ``run_id``: continue this MLflow run (a resumed tscl run); ``parent``: nest a new run under this one.
    """

    def __init__(self, run_id: str | None = None, parent: str | None = None) -> None:
        self.mlflow = _mlflow()
        self.client = self.mlflow.tracking.MlflowClient()
        self.run_id, self.parent = run_id, parent
        self.run: Any = None  # started at the first step: a command failing on bad input leaves no run behind
        self.pending: list[Any] = []

    def _started(self) -> Any:
        if self.run is None:
            tags = {PARENT_TAG: self.parent} if self.parent and self.run_id is None else None
            with _reported("mlflow"):
                self.run = self.mlflow.start_run(run_id=self.run_id, tags=tags)
        return self.run

    def abort(self) -> None:
        """End the MLflow run as failed (the pretraining raised); nothing happens if it never started."""
        if self.run is not None:
            try:  # best effort: the error being raised is the one to report
                self._flush()
                self.mlflow.end_run(status="FAILED")
            except Exception:
                pass
            self.run = None

    def step(self, step: int, loss: float) -> None:
        from mlflow.entities import Metric

        self._started()
        if math.isfinite(loss):
            self.pending.append(Metric("loss", loss, 0, step))
        if len(self.pending) >= LOSS_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            with _reported("mlflow"):
                self.client.log_batch(self.run.info.run_id, metrics=self.pending)
            self.pending = []

    def _log_params(self, params: dict[str, str]) -> None:
        """Params of a new run; a resumed run keeps its first values (MLflow refuses to change a param) and
        records what changed on resume (a larger target) as ``resumed.<key>`` tags."""
        logged = self.client.get_run(self.run.info.run_id).data.params if self.run_id is not None else {}
        self.mlflow.log_params({k: v for k, v in params.items() if k not in logged})
        changed = {f"resumed.{k}": v for k, v in params.items() if k in logged and logged[k] != v}
        if changed:
            self.mlflow.set_tags(changed)

    def finish(self, run_dir: Path) -> None:
        self._started()
        self._flush()
        with _reported("mlflow"):
            self.mlflow.set_tag("mlflow.runName", run_dir.name)
            self.mlflow.set_tag("tscl.run_dir", str(run_dir.resolve()))
            self._log_params(_params(run_dir))
            self.mlflow.log_artifact(str(run_dir / CONFIG))
            if (run_dir / PLOTS).is_dir():
                self.mlflow.log_artifacts(str(run_dir / PLOTS), artifact_path="plots")
            self.mlflow.end_run()
        _remember(run_dir, "mlflow_run_id", self.run.info.run_id)


# -- TensorBoard -------------------------------------------------------------------------------------------------
def _writer(run_dir: Path | None) -> Any:
    _require("tensorboard", "tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=None if run_dir is None else str(run_dir / "tensorboard"))


class TensorBoardTracker:
    """Event files in the run directory: the loss per step, the configuration as text."""

    def __init__(self) -> None:
        self.losses: list[tuple[int, float]] = []  # the run directory is known only at the end

    def step(self, step: int, loss: float) -> None:
        self.losses.append((step, loss))

    def abort(self) -> None:
        self.losses = []

    def finish(self, run_dir: Path) -> None:
        with _reported("tensorboard"):
            self._write(run_dir)
        _remember(run_dir, "tensorboard", str(run_dir / "tensorboard"))

    def _write(self, run_dir: Path) -> None:
        writer = _writer(run_dir)
        try:
            for step, loss in self.losses:
                writer.add_scalar("loss", loss, step)
            config = "\n".join(f"    {key} = {value}" for key, value in _params(run_dir).items())
            writer.add_text("config", config)
        finally:
            writer.close()


# -- evaluation ----------------------------------------------------------------------------------------------------
def log_evaluation(run_dir: Path, metrics: Mapping[str, Any], names: Iterable[str]) -> None:
    """Add an evaluation's metrics (and its plots) to the run's tracked runs (started here if it has none)."""
    # Published numbers are not measurements; the provenance's numbers (step, seeds) are not results.
    measured = {k: v for k, v in metrics.items() if k not in ("paper", "provenance")}
    stored = Path(str((metrics.get("provenance") or {}).get("file", METRICS))).parent
    prefix = "eval" if stored == Path(".") else f"eval/{stored.name}"  # another dataset or protocol: apart
    values = {f"{prefix}/{key}": value for key, value in numeric_leaves(measured).items()}
    state = read_json_or_none(run_dir / TRACKING) or {}
    for name in check_trackers(names):
        if name == "mlflow":
            mlflow = _mlflow()
            with _reported("mlflow"), mlflow.start_run(run_id=state.get("mlflow_run_id")) as run:
                if "mlflow_run_id" not in state:
                    mlflow.set_tag("mlflow.runName", run_dir.name)
                    mlflow.log_params(_params(run_dir))
                    _remember(run_dir, "mlflow_run_id", run.info.run_id)
                mlflow.log_metrics({key.replace(" ", "_"): v for key, v in values.items()})
                if (run_dir / stored / PLOTS).is_dir():
                    mlflow.log_artifacts(str(run_dir / stored / PLOTS), artifact_path=str(stored / PLOTS))
        else:
            with _reported("tensorboard"):
                writer = _writer(run_dir)
                try:
                    for key, value in values.items():
                        writer.add_scalar(key, value, 0)
                finally:
                    writer.close()
