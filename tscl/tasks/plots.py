"""PNG plots of evaluation outcomes (matplotlib Agg, no pyplot global state); each task picks the ones it draws.

Every function takes plain arrays / dicts and an output path, writes the PNG atomically (temporary file in the
same directory, then ``os.replace``) and returns the path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from tscl.errors import DataError
from tscl.fileio import share_like_open

__all__ = ["plot_confusion_matrix", "plot_embedding", "plot_forecasts", "plot_metric_by_horizon"]


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".png")
    os.close(handle)
    try:
        share_like_open(temporary)  # not private, as mkstemp makes it
        FigureCanvasAgg(fig)
        fig.savefig(temporary, format="png", dpi=110, bbox_inches="tight")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _channel(array: np.ndarray, channel: int) -> np.ndarray:
    """``[W, H]`` view of ``[W, H]`` or ``[W, H, K]`` (one channel)."""
    return array[..., channel] if array.ndim == 3 else array


def plot_forecasts(
    truth: Mapping[int, np.ndarray],
    pred: Mapping[int, np.ndarray],
    path: str | os.PathLike[str],
    history: Mapping[int, np.ndarray] | None = None,
    channel: int = -1,
    title: str = "",
) -> Path:
    """Forecast vs truth on a few test windows: one row per horizon, one column per window.

    Args:
        truth: Horizon -> true future ``[W, H]`` or ``[W, H, K]``.
        pred: Horizon -> predicted future, same shape as ``truth``.
        path: Output PNG path.
        history: Horizon -> observed past ``[W, L(, K)]`` drawn before each window, optional.
        channel: Target channel drawn when arrays are 3-D.
        title: Figure title.
    """
    horizons = sorted(truth)
    if not horizons:
        raise DataError("`truth` must hold at least one horizon but got none")
    n_windows = max(truth[h].shape[0] for h in horizons)
    fig = Figure(figsize=(3.2 * n_windows, 2.2 * len(horizons)))
    axes = fig.subplots(len(horizons), n_windows, squeeze=False)
    for row, horizon in enumerate(horizons):
        true_h, pred_h = _channel(truth[horizon], channel), _channel(pred[horizon], channel)
        past = _channel(history[horizon], channel) if history is not None and horizon in history else None
        for col in range(n_windows):
            ax = axes[row][col]
            if col >= true_h.shape[0]:
                ax.set_axis_off()
                continue
            steps = np.arange(1, true_h.shape[1] + 1)
            true_steps, true_values = steps, true_h[col]
            if past is not None:
                ax.plot(np.arange(1 - past.shape[1], 1), past[col], color="0.55", lw=0.9, label="history")
                # Start the truth line at the last observed step so the series reads as continuous.
                true_steps, true_values = np.r_[0, steps], np.r_[past[col, -1], true_h[col]]
            ax.plot(true_steps, true_values, color="black", lw=1.0, label="truth")
            ax.plot(steps, pred_h[col], color="tab:red", lw=1.0, label="forecast")
            ax.axvline(0.5, color="0.8", lw=0.8)
            ax.tick_params(labelsize=7)
            if col == 0:
                ax.set_ylabel(f"H = {horizon}", fontsize=9)
    axes[0][0].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_metric_by_horizon(
    results: Mapping[str, Mapping[str, Any]],
    path: str | os.PathLike[str],
    metric: str = "mse",
    title: str = "",
) -> Path:
    """Grouped bars of one metric per horizon (groups) for several models / baselines (bars).

    Args:
        results: Column name -> ``evaluate_forecasting`` dict (or published numbers of that shape); entries
            missing a horizon or the metric are left blank.
        path: Output PNG path.
        metric: Key inside each horizon entry (``"mse"``, ``"mae"``, ``"mse_raw"``, ``"mae_raw"``).
        title: Figure title.
    """
    horizons = sorted({h for r in results.values() for h in r.get("horizons", {})}, key=int)
    names = list(results)
    fig = Figure(figsize=(max(4.0, 1.2 * len(horizons) * max(1, len(names)) * 0.5 + 2), 3.4))
    ax = fig.subplots()
    width = 0.8 / max(1, len(names))
    positions = np.arange(len(horizons))
    for i, name in enumerate(names):
        entries = results[name].get("horizons", {})
        values = [entries.get(h, {}).get(metric, np.nan) for h in horizons]
        values = [np.nan if v is None else float(v) for v in values]
        ax.bar(positions + (i - (len(names) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(positions, [str(h) for h in horizons])
    ax.set_xlabel("horizon")
    ax.set_ylabel(metric.upper().replace("_RAW", " (raw)"))
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric.upper()} per horizon")
    return _save(fig, path)


def plot_embedding(
    reprs: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike[str],
    class_names: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """2-D PCA projection of instance representations ``[N, D]`` coloured by class label ``[N]``."""
    if reprs.ndim != 2 or reprs.shape[0] != len(labels) or reprs.shape[0] < 2:
        raise DataError(
            f"`reprs` must be [N, D] with N = len(labels) >= 2 but got {reprs.shape} and {len(labels)} labels"
        )
    n_components = min(2, reprs.shape[0], reprs.shape[1])
    points = PCA(n_components=n_components, svd_solver="full").fit_transform(reprs)
    if n_components < 2:
        points = np.column_stack([points, np.zeros(len(points))])
    fig = Figure(figsize=(5.0, 4.2))
    ax = fig.subplots()
    labels = np.asarray(labels)
    for label in np.unique(labels):
        name = class_names[int(label)] if class_names is not None else str(label)
        chosen = labels == label
        ax.scatter(points[chosen, 0], points[chosen, 1], s=12, alpha=0.8, label=name)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if len(np.unique(labels)) <= 20:
        ax.legend(fontsize=7, markerscale=1.5)
    ax.set_title(title or "Instance representations (PCA)")
    return _save(fig, path)


def plot_confusion_matrix(
    confusion: np.ndarray,
    path: str | os.PathLike[str],
    class_names: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """Confusion matrix ``[K, K]`` (rows true, columns predicted) as a heat map with counts."""
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise DataError(f"`confusion` must be a square [K, K] array but got shape {confusion.shape}")
    k = confusion.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig = Figure(figsize=(1.0 + 0.45 * k + 2, 0.45 * k + 2))
    ax = fig.subplots()
    image = ax.imshow(confusion, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        threshold = confusion.max() / 2 if confusion.size else 0
        for i in range(k):
            for j in range(k):
                colour = "white" if confusion[i, j] > threshold else "black"
                ax.text(j, i, f"{confusion[i, j]:g}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(title or "Confusion matrix")
    return _save(fig, path)
