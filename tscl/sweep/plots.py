"""The sweep summary as PNG: per task, every (dataset, objective, setting) row's validation metric beside its
test metric (mean ± std over seeds), the best setting (chosen on validation) marked.

Written to ``<output>/plots/summary-<task>.png`` when the grid writes plots (``plots = false`` in every
trial's settings writes none).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tscl.runs.files import atomic_write_bytes
from tscl.tasks import create_task

__all__ = ["plot_summaries"]


def plot_summaries(folder: Path, rows: Sequence[dict[str, Any]]) -> list[Path]:
    """One ``summary-<task>.png`` per task with at least one measured row; returns the files written."""
    written = []
    for task in dict.fromkeys(str(row["task"]) for row in rows if row["task"] is not None and row["n"]):
        evaluation = create_task(task)
        names = [*evaluation.validation_names[:1], *evaluation.headline_names[:1]]
        measured = [row for row in rows if row["task"] == task and row["n"]]
        path = folder / f"summary-{task}.png"
        atomic_write_bytes(path, _summary_png(measured, names, set(evaluation.validation_names), task))
        written.append(path)
    return written


def _summary_png(rows: Sequence[dict[str, Any]], names: Sequence[str], validation: set[str], task: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [f"{r['dataset']} · {r['objective']} · {r['setting']}{' ★' if r.get('best') else ''}" for r in rows]
    fig = Figure(figsize=(4 + 3.2 * len(names), 1.2 + 0.35 * len(rows)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    positions = list(range(len(rows)))[::-1]
    for ax, name in zip(axes, names, strict=True):
        stats = [row["metrics"].get(name) for row in rows]
        means = [s["mean"] if s else float("nan") for s in stats]
        stds = [s["std"] if s else 0.0 for s in stats]
        colours = ["tab:orange" if row.get("best") else "tab:blue" for row in rows]
        ax.barh(positions, means, xerr=stds, color=colours, alpha=0.8, capsize=3)
        ax.set_title(f"{name} ({'validation' if name in validation else 'test'})", fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(positions, labels)
    fig.suptitle(f"{task}: mean ± std over seeds; ★ best setting, chosen on validation", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
