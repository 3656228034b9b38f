"""``tscl runs``: list run directories; ``tscl runs compare``: headline metrics and differing settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tscl.cli import app
from tscl.cli.options import JsonOpt
from tscl.cli.render import console, print_json

if TYPE_CHECKING:
    from tscl.runs.comparison import Comparison

runs_app = typer.Typer(
    help="List runs (with no command) or compare them.", invoke_without_command=True, no_args_is_help=False
)
app.add_typer(runs_app, name="runs")


@runs_app.callback()
def runs(
    ctx: typer.Context,
    runs_dir: Annotated[Path | None, typer.Option(help="Folder holding run directories (default ./runs).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List runs with their dataset, objective, status and headline metric."""
    if ctx.invoked_subcommand is not None:
        return
    from tscl.runs.layout import default_runs_root
    from tscl.runs.listing import list_runs

    root = runs_dir or default_runs_root()
    rows = list_runs(root)
    if json_out:
        print_json([{k: v for k, v in r.items() if k != "metrics"} for r in rows])
        return
    if not rows:
        console.print(f"no runs under {root} (start one with `tscl pretrain`)")
        return
    table = Table(title=f"runs in {root}")
    for column in ("run", "dataset", "objective", "status", "step", "headline metric"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["run_dir"], str(r.get("dataset", "-")), str(r.get("objective", "-")),
                      str(r.get("status")), str(r.get("step", "-")), r.get("headline", "-"))  # fmt: skip
    console.print(table)


@runs_app.command()
def compare(
    paths: Annotated[list[Path], typer.Argument(help="Run directories and/or sweep output folders.")],
    json_out: JsonOpt = False,
) -> None:
    """Side by side: headline metrics and the settings (config keys) that differ between the runs."""
    from tscl.runs.comparison import compare_runs

    comparison = compare_runs(paths)
    if json_out:
        print_json(comparison.to_dict())
        return
    console.print(comparison_table(comparison))
    if not comparison.differing:
        console.print("no setting differs between these runs", style="dim")


def comparison_table(comparison: Comparison) -> Table:
    names = [Path(run["run_dir"]).name for run in comparison.runs]
    if len(set(names)) < len(names):
        names = [run["run_dir"] for run in comparison.runs]
    table = Table(title=f"{len(comparison.runs)} runs")
    for column in ("run", "dataset", "objective", "status"):
        table.add_column(column, overflow="fold")
    for name in comparison.metric_names:
        table.add_column(name, justify="right")
    for key in comparison.differing:
        table.add_column(key, style="cyan")
    for name, run in zip(names, comparison.runs, strict=True):
        cells = [name, str(run["dataset"]), str(run["objective"]), str(run["status"])]
        cells += [_value(run["metrics"].get(metric)) for metric in comparison.metric_names]
        cells += [_value(run["settings"].get(key)) for key in comparison.differing]
        table.add_row(*cells)
    return table


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
