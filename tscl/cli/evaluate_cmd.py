"""``tscl evaluate`` and ``tscl report``: downstream protocols on a run's frozen encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tscl.cli import app
from tscl.cli.options import DataDirOpt, DatasetOpt, DeviceOpt, JsonOpt, ThreadsOpt
from tscl.cli.render import console, err_console, print_json
from tscl.tasks import list_tasks, task_named
from tscl.tasks.heads import DEFAULT_HEAD, HEADS, list_heads

RunArg = Annotated[Path, typer.Argument(help="Run directory made by tscl pretrain.")]


def render_metrics(metrics: dict[str, Any]) -> None:
    """Print the report tables of a metrics dict (as stored in metrics.json), as its task lays them out."""
    for table in task_named(str(metrics.get("task"))).tables(metrics):
        console.print(table)
    if metrics.get("objective_log"):
        console.print(objective_log_table(metrics["objective_log"]))
    timings = metrics.get("timings")
    if timings:
        console.print("timings: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()), style="dim")


def objective_log_table(rows: list[dict[str, Any]], last: int = 10) -> Any:
    """The objective's per-epoch records of pretraining (its last ``last`` epochs) as a table."""
    from rich.table import Table

    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = Table(title=f"pretraining, per epoch ({min(last, len(rows))} of {len(rows)} shown)")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for row in rows[-last:]:
        table.add_row(*(f"{row[c]:.4g}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns))
    return table


@app.command()
def evaluate(
    run: RunArg,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    task: Annotated[
        str | None, typer.Option(help=f"Evaluation task: {' or '.join(list_tasks())} (default: the dataset's).")
    ] = None,
    head: Annotated[str, typer.Option(help=f"Classification head: {', '.join(list_heads())}.")] = DEFAULT_HEAD,
    seed: Annotated[int, typer.Option(help="Seed of the head's random choices.")] = 0,
    device: DeviceOpt = None,
    threads: ThreadsOpt = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip writing PNG plots.")] = False,
    no_baselines: Annotated[
        bool,
        typer.Option(
            "--no-baselines",
            help="Skip the random-init and raw-input baselines (each costs about as much as the encoder's own "
            "protocol; the encoder's numbers are unchanged).",
        ),
    ] = False,
    track: Annotated[
        list[str] | None,
        typer.Option(help="Add the metrics to the run's tracked run: mlflow or tensorboard (repeatable)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit the task's head on the frozen encoder; print a report, write metrics.json/.csv and plots."""
    from tscl.runs.evaluation import evaluate_run

    if head not in HEADS:
        raise HEADS.unknown(head)
    if track:
        from tscl.runs.tracking import check_trackers

        check_trackers(track)
    with console.status("evaluating...") if not json_out and console.is_terminal else _null():
        metrics = evaluate_run(
            run, dataset, data_dir, task, head, seed, device or "auto", plots=not no_plots,
            baselines=not no_baselines, threads=threads,
        )
    if track:
        from tscl.runs.tracking import log_evaluation

        log_evaluation(run, metrics, track)
    provenance = metrics["provenance"]
    if provenance["run_status"] == "running":  # on stderr: --json output stays one document
        err_console.print(f"note: {run} is still training: evaluated its checkpoint at iteration "
                          f"{provenance['checkpoint']['step']}", soft_wrap=True)  # fmt: skip
    if json_out:
        print_json(metrics)
        return
    render_metrics(metrics)
    folder = (run / provenance["file"]).parent
    plots = "" if no_plots else f" and plots in {folder / 'plots'}"
    console.print(f"wrote {folder / 'metrics.json'} and {folder / 'metrics.csv'}{plots}", soft_wrap=True)
    if folder != run:
        console.print(f"(beside the run's own metrics.json: {folder.name} is not the run's own dataset and protocol)",
                      style="dim", soft_wrap=True)  # fmt: skip


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@app.command()
def report(
    run: Annotated[
        Path, typer.Argument(help="Run directory, or the folder of another evaluation (RUN/evaluations/KEY).")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Re-render a run's report from its stored metrics.json (nothing is recomputed); says when it is stale."""
    from tscl.runs.evaluation import stored_metrics, stored_stale_reason

    metrics = stored_metrics(run)
    reason = stored_stale_reason(run, metrics)
    if json_out:
        print_json({**metrics, "stale": reason is not None, "stale_reason": reason})
        return
    render_metrics(metrics)
    if reason is not None:
        console.print(f"[yellow]stale[/]: {reason}; re-run `tscl evaluate` for the latest", soft_wrap=True)
    from tscl.runs.metrics import other_evaluations

    others = other_evaluations(run)
    if others:
        console.print(f"other evaluations: {', '.join(others)} (tscl report {run}/evaluations/KEY)",
                      style="dim", soft_wrap=True)  # fmt: skip
