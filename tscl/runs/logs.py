"""The training log of a run: ``losses.csv`` and its plot."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from tscl.runs.files import atomic_write_bytes, write_csv


def write_losses(path: Path, losses: list[float], epoch_log: list[dict[str, float]] | None = None) -> None:
    """One row per step; an objective's per-epoch records (``epoch_log``, rows with a ``step``) add columns,
    filled on the step that ended each epoch and empty elsewhere."""
    by_step = {int(row["step"]): row for row in epoch_log or []}
    extra = list(dict.fromkeys(key for row in epoch_log or [] for key in row if key != "step"))

    def cells(step: int) -> list[str]:
        row = by_step.get(step, {})
        return [f"{row[key]:.6g}" if key in row else "" for key in extra]

    rows = ([step, f"{loss:.6g}", *cells(step)] for step, loss in enumerate(losses, start=1))
    write_csv(path, ["step", "loss", *extra], rows)


def import_plotting_in_background() -> threading.Thread:
    """Import matplotlib's figure and Agg canvas (~0.3 s) on a daemon thread, while training runs.

    The training steps spend their time in torch's kernels, which release the interpreter lock, so the import
    overlaps with them instead of adding to the run's wall time when the plots are drawn.
    """

    def load() -> None:
        try:
            import matplotlib.backends.backend_agg  # noqa: F401
            import matplotlib.figure  # noqa: F401
        except Exception:  # noqa: BLE001  (the plots' own import reports any problem, in the main thread)
            pass

    thread = threading.Thread(target=load, name="tscl-import-plotting", daemon=True)
    thread.start()
    return thread


def plot_losses(path: Path, losses: list[float], title: str) -> None:
    """Loss per iteration with a running mean, as a PNG."""
    # The figure API with the Agg canvas: no pyplot (0.2-0.3 s to import) and no global backend change.
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="loss")
    if len(losses) >= 10:
        k = max(len(losses) // 20, 5)
        smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, lw=1.6, label=f"mean of {k}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
