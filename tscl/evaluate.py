"""Evaluating a run: encode with the task's protocol, fit the head(s), compare with baselines, write reports.

Every report holds the pretrained encoder beside two baselines fitted with the same head and protocol: a
randomly initialised encoder of the same architecture (same seed) and the raw inputs. ``baselines=False``
skips them (they cost twice the encoder's own protocol, which matters on large sets) and records
``"baselines": {}``. Published numbers are added as a "paper" entry where the spec lists them.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from tscl.errors import ConfigError
from tscl.inference import check_channels, load_run, load_run_dataset
from tscl.pretraining import build_model
from tscl.rundir import read_json, write_json
from tscl.training.checkpoint import atomic_write_text

FORECAST_WINDOW = 201
MODEL, RANDOM, RAW = "tscl", "random init", "raw input"


def evaluate_run(
    run_dir: Path,
    dataset: str | None = None,
    data_dir: Path | None = None,
    task: str | None = None,
    head: str = "svm",
    seed: int = 0,
    device: str = "auto",
    plots: bool = True,
    baselines: bool = True,
) -> dict[str, Any]:
    """Evaluate the averaged encoder of ``run_dir`` and write ``metrics.json``/``metrics.csv`` (and plots).

    ``baselines=False`` leaves out the random-init and raw-input baselines; the encoder's own numbers are
    the same either way.
    """
    timings: dict[str, float] = {}
    began = time.perf_counter()
    model, config = load_run(run_dir, device)
    meta_path = run_dir / "meta.json"
    meta = read_json(meta_path, "run metadata") if meta_path.exists() else None  # fail before writing
    data = load_run_dataset(config, dataset, data_dir)
    check_channels(data, model.input_dims, config)
    timings["load_s"] = time.perf_counter() - began
    task = task or data.task
    if task != data.task:
        raise ConfigError(f"task must match the dataset's ({data.task}) but got {task!r}", hint="drop --task")
    random_model = build_model(config.replace(device=device), model.input_dims or 1) if baselines else None
    if task == "forecasting":
        metrics, extras = _forecasting(model, random_model, data, timings)
    else:
        metrics, extras = _classification(model, random_model, data, head, seed, timings)
    metrics.update(
        dataset=data.name, objective=config.objective, run_dir=str(run_dir),
        timings={k: round(v, 3) for k, v in timings.items()},
    )  # fmt: skip
    _write_metrics(run_dir, metrics)
    if plots:
        _plots(run_dir, metrics, extras, data)
    if meta is not None:
        meta.setdefault("timings", {})["evaluate"] = metrics["timings"]
        write_json(meta_path, meta)
    return metrics


def _timed(timings: dict[str, float], name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - began
    return out


def _forecasting(model: Any, random_model: Any, data: Any, timings: dict[str, float]) -> tuple[dict, dict]:
    from tscl.evaluation import lag_features, paper_forecasting, run_forecasting_protocol

    reprs = _timed(timings, "encode_s", model.encode, data.data, mode="timestamp", causal_window=FORECAST_WINDOW)
    ours = _timed(timings, "head_s", run_forecasting_protocol, reprs, data)
    metrics = dict(ours.metrics)
    metrics["univariate"] = bool(data.univariate)
    metrics["baselines"] = {}
    if random_model is not None:
        random_reprs = _timed(
            timings, "baseline_s", random_model.encode, data.data, mode="timestamp", causal_window=FORECAST_WINDOW
        )
        random = _timed(timings, "baseline_s", run_forecasting_protocol, random_reprs, data, n_examples=0)
        raw = _timed(timings, "baseline_s", run_forecasting_protocol, lag_features(data), data, n_examples=0)
        metrics["baselines"] = {RANDOM: random.metrics, RAW: raw.metrics}
    metrics["paper"] = paper_forecasting(data.name, data.univariate, _objective(model))
    return metrics, {"examples": ours.examples}


def _classification(
    model: Any, random_model: Any, data: Any, head: str, seed: int, timings: dict[str, float]
) -> tuple[dict, dict]:
    from tscl.evaluation import flatten_features, paper_classification, run_classification_protocol

    if data.y_train is None or data.y_test is None:
        raise ConfigError(f"dataset {data.name} has no labels, so it cannot be evaluated by classification")
    import torch

    n_classes = len(data.class_names)
    n_jobs = torch.get_num_threads()  # --threads: the SVM grid search's folds run in parallel
    train = _timed(timings, "encode_s", model.encode, data.X_train)
    test = _timed(timings, "encode_s", model.encode, data.X_test)
    ours = _timed(timings, "head_s", run_classification_protocol, train, data.y_train, test, data.y_test,
                  n_classes, head, seed, n_jobs)  # fmt: skip

    def baseline(tr: np.ndarray, te: np.ndarray) -> dict[str, Any]:
        return run_classification_protocol(tr, data.y_train, te, data.y_test, n_classes, head, seed, n_jobs).metrics

    metrics = dict(ours.metrics)
    metrics["baselines"] = {}
    if random_model is not None:
        began = time.perf_counter()
        random = baseline(random_model.encode(data.X_train), random_model.encode(data.X_test))
        length = max(data.X_train.shape[1], data.X_test.shape[1])
        raw = baseline(flatten_features(_pad_to(data.X_train, length)), flatten_features(_pad_to(data.X_test, length)))
        timings["baseline_s"] = time.perf_counter() - began
        metrics["baselines"] = {RANDOM: random, RAW: raw}
    # Published accuracies are TS2Vec's with the SVM head: only comparable to that setting.
    comparable = head == "svm" and _objective(model) == "ts2vec"
    metrics["paper"] = paper_classification(data.name) if comparable else None
    return metrics, {"test_repr": test, "confusion": ours.confusion}


def _pad_to(X: np.ndarray, length: int) -> np.ndarray:
    return np.pad(X, ((0, 0), (0, length - X.shape[1]), (0, 0)), constant_values=np.nan)


def _objective(model: Any) -> str:
    return str(model.params.get("objective", "ts2vec"))


def metric_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat rows (one per model and horizon) of a metrics dict, for CSV and comparisons."""
    entries = {MODEL: metrics, **metrics.get("baselines", {})}
    rows: list[dict[str, Any]] = []
    for name, result in entries.items():
        if metrics["task"] == "forecasting":
            for horizon, values in {**result["horizons"], "mean": result["mean"]}.items():
                rows.append({"model": name, "horizon": horizon, **{k: values.get(k) for k in
                             ("mse", "mae", "mse_raw", "mae_raw", "valid_mse", "valid_mae")}})  # fmt: skip
        else:
            rows.append({"model": name, **{k: result.get(k) for k in ("accuracy", "auprc", "cv_accuracy")}})
    return rows


def _write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    write_json(run_dir / "metrics.json", metrics)
    rows = metric_rows(metrics)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(run_dir / "metrics.csv", buffer.getvalue())


def _plots(run_dir: Path, metrics: dict[str, Any], extras: dict[str, Any], data: Any) -> None:
    from tscl.evaluation import plots

    folder = run_dir / "plots"
    if metrics["task"] == "forecasting":
        examples = extras["examples"]
        if examples:
            plots.plot_forecasts(
                {h: e.truth for h, e in examples.items()}, {h: e.pred for h, e in examples.items()},
                folder / "forecasts.png", history={h: e.history for h, e in examples.items()},
                title=f"{data.name}: forecast vs truth (test)",
            )  # fmt: skip
        columns = {MODEL: metrics, **metrics["baselines"]}
        if metrics.get("paper"):
            columns["paper"] = metrics["paper"]
        plots.plot_metric_by_horizon(columns, folder / "mse_by_horizon.png", title=f"{data.name}: test MSE")
    else:
        plots.plot_embedding(extras["test_repr"], data.y_test, folder / "embedding.png", data.class_names,
                             title=f"{data.name}: test representations (PCA)")  # fmt: skip
        plots.plot_confusion_matrix(extras["confusion"], folder / "confusion.png", data.class_names,
                                    title=f"{data.name}: confusion ({metrics['head']})")  # fmt: skip
