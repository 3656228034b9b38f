"""``tscl sweep GRID.toml``: batch experiments, resumable and in parallel, summarised as mean ± std tables."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tscl.cli.application import app, fail
from tscl.cli.options import JsonOpt, ThreadsOpt
from tscl.cli.render import console, err_console, folded, print_json
from tscl.text import plural

if TYPE_CHECKING:
    from tscl.sweep import SweepEvent, SweepResult


@app.command()
def sweep(
    grid: Annotated[Path, typer.Argument(help="Grid file (.toml): datasets x objectives x seeds x settings.")],
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Trials at once, each in its own process; CPUs are split.")
    ] = 1,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where to look for dataset files (overrides the grid's)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output folder (overrides the grid's).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the trials and what each needs; run nothing.")
    ] = False,
    backend: Annotated[
        str, typer.Option(help="local (this machine, --workers processes) or ray (pip install 'tscl\\[ray]').")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="With --backend ray: auto or ray://HOST:PORT for a cluster (default: a local instance)."),
    ] = None,
    cpus_per_trial: Annotated[float, typer.Option(min=0.01, help="With --backend ray: CPUs per trial.")] = 1,
    gpus_per_trial: Annotated[float, typer.Option(min=0, help="With --backend ray: GPUs per trial.")] = 0,
    track: Annotated[
        list[str] | None,
        typer.Option(
            help="Send each trial to a tracker, repeatable: mlflow (runs nested under one for the sweep) "
            "or tensorboard (event files in each trial's run directory)."
        ),
    ] = None,
    threads: ThreadsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run every unfinished trial of a grid (re-running resumes), then print and write the summary."""
    from tscl.sweep import run_sweep

    with sweep_progress(rich_bar=err_console.is_terminal and not json_out) as progress:

        def hook(event: SweepEvent) -> None:
            if event.kind == "begin" and event.total >= LARGE_SWEEP:
                err_console.print(
                    f"warning: {plural(event.total, 'trial')} to run: if that is more than meant, stop with Ctrl-C "
                    "(finished trials are kept) and check the grid with --dry-run",
                    soft_wrap=True, markup=False, highlight=False,
                )  # fmt: skip
            progress(event)

        result = run_sweep(grid, workers=workers, data_dir=data_dir, dry_run=dry_run, output=output,
                           on_event=None if dry_run else hook, backend=backend, address=address,
                           cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial,
                           track=track or (), threads=threads)  # fmt: skip
    if json_out:
        print_json(result.to_dict())
    elif dry_run:
        render_plan(result)
    else:
        render_result(result)
    if not dry_run and not result.ok:
        counts = result.counts()
        unfinished = len(result.trials) - counts.get("finished", 0)
        fail(
            f"{unfinished} of {plural(len(result.trials), 'trial')} did not finish ({_counts_text(counts)})",
            f"errors are in {result.output / 'summary.json'}; fix them and re-run (finished trials are kept)",
        )


LARGE_SWEEP = 1000  # trials to run from which a sweep warns as it starts (a grid's product grows fast)


@contextmanager
def sweep_progress(rich_bar: bool) -> Iterator[Callable[[SweepEvent], None]]:
    """A progress display fed with sweep events: a rich bar on a terminal, else plain lines on stderr."""
    if not rich_bar:
        yield _plain_line
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=err_console,
    )  # fmt: skip
    with progress:
        task = progress.add_task("trials", total=None, state="")

        def hook(event: SweepEvent) -> None:
            if event.kind == "fetch":
                progress.console.print(f"fetch {event.message}")
                return
            state = f"running {event.running} · failed {event.failed}"
            if event.skipped:
                state += f" · already done {event.skipped}"
            progress.update(task, total=event.total, completed=event.done, state=state)
            if event.kind == "end" and event.trial is not None and event.trial.status != "finished":
                failure = escape(f"{event.trial.id}: {event.trial.error}")
                progress.console.print(f"[red]{event.trial.status}[/] {failure}")

        yield hook


def _plain_line(event: SweepEvent) -> None:
    if event.kind == "fetch":
        print(f"sweep: fetch {event.message}", file=sys.stderr, flush=True)
        return
    if event.kind == "begin":
        print(f"sweep: {plural(event.total, 'trial')} to run, {event.skipped} already finished", file=sys.stderr)
        return
    trial = event.trial
    assert trial is not None
    if event.kind == "start":
        print(f"[{event.done}/{event.total}] start {trial.id} ({trial.action})", file=sys.stderr)
        return
    took = f" in {trial.seconds:.1f} s" if trial.seconds is not None else ""
    error = f": {trial.error}" if trial.error else ""
    print(f"[{event.done}/{event.total}] {trial.status} {trial.id}{took}{error}", file=sys.stderr, flush=True)


def render_plan(result: SweepResult) -> None:
    table = Table(title=escape(f"sweep {result.name}: {plural(len(result.trials), 'trial')} in {result.output}"))
    for column in ("trial", "dataset", "objective", "setting", "seed", "needs"):
        table.add_column(column)
    for t in result.trials:
        table.add_row(t.id, escape(t.dataset), t.objective, escape(t.setting), str(t.seed), t.action)
    console.print(folded(table))
    _note_not_in_grid(result)


def _note_not_in_grid(result: SweepResult) -> None:
    """Trial folders of an earlier version of the grid: kept, but in no summary of this one."""
    if result.not_in_grid:
        shown = ", ".join(result.not_in_grid[:3]) + (", ..." if len(result.not_in_grid) > 3 else "")
        one = len(result.not_in_grid) == 1
        err_console.print(
            f"note: {plural(len(result.not_in_grid), 'trial folder')} in {result.output / 'trials'} "
            f"{'is' if one else 'are'} not part of this grid (made before its settings changed): {shown}; the "
            f"summary leaves {'it' if one else 'them'} out, `tscl runs compare` of the folder does not",
            soft_wrap=True, markup=False, highlight=False,
        )  # fmt: skip


def render_result(result: SweepResult) -> None:
    """Mean ± std tables (one per task), the unfinished trials with their errors, and the files written."""
    from tscl.sweep.summary import BEST_NOTE, STD_NOTE
    from tscl.tasks import create_task, list_tasks

    for task in list_tasks():
        rows = [row for row in result.rows if row["task"] == task]
        if rows:
            evaluation = create_task(task)
            names = (*evaluation.validation_names, *evaluation.headline_names)
            console.print(folded(summary_table(f"{result.name} · {task}", rows, names, evaluation.validation_names)))
            if any(row.get("baselines") for row in rows):
                console.print(folded(baseline_table(f"{result.name} · {task} · baselines", rows, names)))
    if result.archives:
        console.print(folded(archive_table(result)))
    problems = [t for t in result.trials if t.status != "finished"]
    if problems:
        table = Table(title="unfinished trials")
        for column in ("trial", "status", "error"):
            table.add_column(column, overflow="fold")
        for t in problems:
            table.add_row(t.id, t.status, escape(t.error or "-"))
        console.print(folded(table))
    console.print(f"{_counts_text(result.counts())}; {STD_NOTE}", style="dim")
    if any(row.get("best") for row in result.rows):
        console.print(f"★ {BEST_NOTE}", style="dim")
    console.print("wrote " + ", ".join(str(f) for f in result.files), markup=False)
    _note_not_in_grid(result)


def summary_table(
    title: str, rows: list[dict[str, Any]], names: tuple[str, ...], validation: tuple[str, ...] = ()
) -> Table:
    """Mean ± std per row, validation metrics first (marked "valid."); ★ marks the best setting."""
    table = Table(title=escape(title))
    for column in ("dataset", "objective", "setting", "n"):
        table.add_column(column)
    papers = [name for name in names if any((row["paper"] or {}).get(name) is not None for row in rows)]
    for name in names:
        table.add_column(f"{name} ({'valid., ' if name in validation else ''}mean ± std)", justify="right")
    for name in papers:
        table.add_column(f"paper {name}", justify="right", style="dim")
    below = any(row.get("below") for row in rows)
    if below:
        table.add_column("below (valid.)", style="yellow")
    table.add_column("unfinished", justify="right")
    for row in rows:
        setting = escape(f"{row['setting']} ★" if row.get("best") else row["setting"])
        cells = [escape(row["dataset"]), row["objective"], setting, str(row["n"])]
        cells += [_mean_std(row["metrics"].get(name)) for name in names]
        cells += [_number((row["paper"] or {}).get(name)) for name in papers]
        if below:
            cells.append(", ".join(row.get("below") or ()))
        cells.append(str(row["unfinished"]) if row["unfinished"] else "")
        table.add_row(*cells)
    return table


def baseline_table(title: str, rows: list[dict[str, Any]], names: tuple[str, ...]) -> Table:
    """Mean ± std of each row's baselines over the same seeds: the objective's encoder untrained (random init,
    one per objective) and the raw input (one per dataset), each shown once per setting."""
    from tscl.tasks.base import RANDOM

    table = Table(title=escape(title))
    for column in ("dataset", "baseline", "setting", "n"):
        table.add_column(column)
    for name in names:
        table.add_column(f"{name} (mean ± std)", justify="right")
    shown: set[tuple[str, str, str]] = set()
    for row in rows:
        for baseline, metrics in sorted((row.get("baselines") or {}).items()):
            label = baseline if baseline != RANDOM else f"{row['objective']} untrained"
            if (row["dataset"], label, row["setting"]) in shown:
                continue
            shown.add((row["dataset"], label, row["setting"]))
            cells = [escape(row["dataset"]), label, escape(row["setting"]), str(row["n"])]
            table.add_row(*cells, *(_mean_std(metrics.get(name)) for name in names))
    return table


def archive_table(result: SweepResult) -> Table:
    """Per swept archive and (objective, setting): datasets done and the average of each headline metric."""
    names = sorted({name for row in result.archives for name in row["metrics"]})
    table = Table(title=escape(f"{result.name} · archive averages over the datasets done"))
    for column in ("archive", "objective", "setting", "done"):
        table.add_column(column)
    for name in names:
        table.add_column(f"average {name}", justify="right")
    for row in result.archives:
        cells = [row["archive"], row["objective"], escape(row["setting"]), f"{row['done']}/{row['datasets']}"]
        table.add_row(*cells, *(_number(row["metrics"].get(name)) for name in names))
    return table


def _mean_std(stats: dict[str, float] | None) -> str:
    return "-" if stats is None else f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
