"""Rendering helpers shared by commands: JSON on stdout, rich tables, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def step_progress(description: str, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr (only on a terminal) fed with ``hook(step, total, loss)``."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        console=err_console, transient=False,
    )  # fmt: skip
    with progress:
        task = progress.add_task(description, total=None, loss="-")

        def hook(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total or None, loss=f"{loss:.4f}")

        yield hook
