"""Rendering helpers shared by commands: JSON on stdout, rich tables, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tscl.text import plural as plural  # re-exported for the commands

console = Console()
err_console = Console(stderr=True)


def folded(table: Table) -> Table:
    """``table`` with every text column folding long cells onto further lines instead of cutting them with "…"
    (run directories, trial ids and dataset names stay whole on an 80-column terminal) and no number ever cut
    (see :func:`tscl.tasks.report.fitted`)."""
    from tscl.tasks.report import fitted

    return fitted(table, console.width)


def print_warnings(warnings: Iterable[str]) -> None:
    """``warning: ...`` lines on stderr (--json output on stdout stays one document)."""
    for warning in warnings:
        err_console.print(f"[yellow]warning[/]: {warning}", soft_wrap=True)


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


@contextmanager
def phase_progress(labels: dict[str, str], enabled: bool = True) -> Iterator[Any]:
    """A display of a command's phases fed with ``on_phase(name)`` as each begins (names are ``labels``' keys).

    On a terminal (stderr), one line per phase with a spinner, ticked with its duration when the next begins.
    Elsewhere (a pipe, a log file) nothing is shown, so that an error stays the only line on stderr; yields
    None then, and when not ``enabled``.
    """
    if not enabled or not err_console.is_terminal:
        yield None
        return
    from rich.progress import SpinnerColumn

    progress = Progress(
        SpinnerColumn(finished_text="[green]✓[/]"), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err_console, transient=False,
    )  # fmt: skip
    current: list[Any] = []

    def begin(name: str) -> None:
        if current:
            progress.update(current[-1], completed=1)
        current.append(progress.add_task(labels.get(name, name), total=1))

    with progress:
        yield _once_per_phase(begin)
        if current:
            progress.update(current[-1], completed=1)


def _once_per_phase(show: Any) -> Any:
    """``show(name)`` when ``name`` differs from the last phase (a phase may be announced several times)."""
    last: list[str] = []

    def on_phase(name: str) -> None:
        if not last or last[-1] != name:
            last.append(name)
            show(name)

    return on_phase
