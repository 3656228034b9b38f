"""The Python API's opt-in progress bar for ``fit(..., progress=True)`` (rich: a terminal or a notebook)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Hook = Callable[[Any, float], None]


@contextmanager
def fit_progress(enabled: bool, model: Any, n_iters: int | None, n_epochs: int | None) -> Iterator[Hook | None]:
    """A progress bar on stderr fed after every step with ``hook(model, loss)``; None when not ``enabled``."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    unit = "iterations" if n_iters is not None else f"epoch 0/{n_epochs}"
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        console=Console(stderr=True),
    )  # fmt: skip
    with progress:
        task = progress.add_task(f"fit ({unit})", total=n_iters, completed=model.progress.step, loss="-")

        def hook(fitted: Any, loss: float) -> None:
            state = fitted.progress
            description = None if n_iters is not None else f"fit (epoch {state.epoch}/{n_epochs})"
            progress.update(task, completed=state.step, loss=f"{loss:.4f}", description=description)

        yield hook
