"""Run diagnostics: per-step objective statistics (CSV + plot) and representation quality at the end.

Objectives may expose a ``diagnostics`` dict (e.g. AutoTCL's mask keep-rate and view-to-input distance) that
is read after every step. At the end of a run, alignment and uniformity (Wang & Isola, ICML 2020) of the
averaged encoder's embeddings are measured on held-out windows, which the dataset's evaluation task picks
(no labels are used).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from tscl.runs.files import atomic_write_bytes, write_csv
from tscl.tasks import task_for

__all__ = [
    "held_out_windows",
    "plot_diagnostics",
    "read_diagnostics",
    "representation_report",
    "write_diagnostics",
]

HELD_OUT_WINDOW = 201  # the forecasting protocol's encoding window
HELD_OUT_LIMIT = 256


def read_diagnostics(path: Path, upto_step: int) -> list[dict[str, float]]:
    """Rows of an existing ``diagnostics.csv`` up to ``upto_step`` (for resumed runs); [] if absent."""
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values = {k: float(v) if v != "" else math.nan for k, v in row.items()}
            if values["step"] <= upto_step:
                rows.append(values)
    return rows


def write_diagnostics(path: Path, rows: list[dict[str, float]]) -> None:
    """Write one row per step (columns: step, then the objective's statistics; empty = not measured)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def cell(column: str, value: float) -> str | int:
        return "" if math.isnan(value) else (int(value) if column == "step" else f"{value:.6g}")

    write_csv(path, columns, ([cell(c, row.get(c, math.nan)) for c in columns] for row in rows))


def plot_diagnostics(path: Path, rows: list[dict[str, float]], title: str) -> None:
    """One panel per statistic against the iteration, as a PNG."""
    # The figure API with the Agg canvas: no pyplot (0.2-0.3 s to import) and no global backend change.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [k for k in dict.fromkeys(key for row in rows for key in row) if k != "step"]
    steps = np.array([row["step"] for row in rows])
    fig = Figure(figsize=(6, 1.8 * len(names) + 0.6), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        values = np.array([row.get(name, math.nan) for row in rows], dtype=float)
        keep = ~np.isnan(values)
        ax.plot(steps[keep], values[keep], lw=0.9)
        ax.set_ylabel(name.replace("_", " "), fontsize=8)
    axes[-1, 0].set_xlabel("iteration")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())


def held_out_windows(
    dataset: Any, length: int = HELD_OUT_WINDOW, limit: int = HELD_OUT_LIMIT
) -> tuple[np.ndarray, int, str]:
    """Held-out data for diagnostics: ``(windows [N, T, C], covariate channels, description)``.

    The dataset's task picks them (forecasting: ``length``-step windows of the validation split;
    classification: the test series); at most ``limit`` are kept, evenly spaced; N may be 0 (nothing held out).
    """
    task = task_for(dataset)
    windows, source = task.held_out_windows(dataset, length)
    if windows.shape[0] > limit:
        windows = windows[np.linspace(0, windows.shape[0] - 1, limit).round().astype(int)]
    return np.ascontiguousarray(windows, dtype=np.float32), task.covariate_channels(dataset), source


def representation_report(model: Any, dataset: Any, seed: int = 0) -> dict[str, Any] | None:
    """Alignment and uniformity of ``model.encode`` on held-out windows (None when there are fewer than 2)."""
    from tscl.losses._alignment import jitter_pairs_diagnostics

    windows, skip, source = held_out_windows(dataset)
    if windows.shape[0] < 2:
        return None
    report = jitter_pairs_diagnostics(model.encode, windows, seed=seed, skip_channels=skip)
    return {**report, "held_out": source}
