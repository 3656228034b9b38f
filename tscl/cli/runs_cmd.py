"""``tscl runs``: list run directories; ``tscl runs compare``: headline metrics and differing settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tscl.cli.application import app
from tscl.cli.options import JsonOpt
from tscl.cli.render import console, folded, print_json, print_warnings
from tscl.text import listing, plural, shell

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
    """List runs: dataset, objective, state (running, dead, finished, ...), step, metrics (validation first), stale.

    With --json, ``headline`` holds the metrics as numbers by name and ``headline_text`` the table's text.
    """
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
        console.print(f"no runs under {root} (start one with `tscl pretrain`)", markup=False)
        return
    table = Table(title=f"runs in {escape(str(root))}")
    for column in ("run", "dataset", "objective", "status", "step", "metrics", "stale"):
        table.add_column(column)
    for r in rows:
        status = str(r.get("status"))
        table.add_row(escape(r["run_dir"]), escape(str(r.get("dataset", "-"))), str(r.get("objective", "-")),
                      f"[red]{status}[/]" if status == "dead" else status, str(r.get("step", "-")),
                      r.get("headline_text", "-"), STALE if r.get("stale") else "")  # fmt: skip
    console.print(folded(table))
    for note in _listing_notes(rows):
        console.print(note, style="dim", soft_wrap=True, markup=False)


STALE = "[yellow]stale[/]"
STALE_NOTE = "stale: metrics computed from an earlier checkpoint than the run's latest; re-run `tscl evaluate RUN`"


def _listing_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Footnotes for what the table marks: stale metrics, dead runs, evaluations stored beside."""
    notes = []
    if any(r.get("stale") for r in rows):
        notes.append(STALE_NOTE)
    if any(r.get("status") == "dead" for r in rows):
        notes.append("dead: meta.json says running but no process holds the run's lock (it was killed); "
                     "continue it with `tscl pretrain --resume RUN`")  # fmt: skip
    beside = [r for r in rows if r.get("evaluations")]
    if beside:
        example = f"{beside[0]['run_dir']}/evaluations/{beside[0]['evaluations'][0]}"
        notes.append(f"{len(beside)} run(s) also hold evaluations of other datasets or protocols in RUN/evaluations/ "
                     f"(e.g. `tscl report {shell(example)}`)")  # fmt: skip
    return notes


@runs_app.command()
def compare(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Run directories, evaluation folders (RUN/evaluations/KEY) and/or sweep output folders."),
    ],
    protocol: Annotated[
        str | None,
        typer.Option(
            help="Compare each run's evaluation by this protocol (e.g. forecasting-ltsf: the part after the "
            "dataset in RUN/evaluations/<dataset>-<protocol>); default: each run's own metrics."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Side by side: headline metrics and the settings (config keys) that differ between the runs.

    Runs evaluated by different protocols (horizons, splits, feature modes, heads) go in separate tables.
    """
    from tscl.runs.comparison import compare_runs

    comparison = compare_runs(paths, protocol)
    print_warnings(
        f"{run['run_dir']}: {listing(run['unreadable'])} cannot be read (empty or damaged), so the comparison "
        f"leaves {'them' if len(run['unreadable']) > 1 else 'it'} out"
        for run in comparison.runs
        if run["unreadable"]
    )
    if json_out:
        print_json(comparison.to_dict())
        return
    groups = comparison.groups()
    for name, runs in groups.items():
        title = (name or "none (not evaluated)") if len(groups) > 1 else None
        console.print(folded(comparison_table(comparison, runs, title)))
    if len([name for name in groups if name is not None]) > 1:
        console.print("runs evaluated by different protocols are in separate tables: their numbers are not "
                      "comparable (tscl runs compare --protocol P takes each run's evaluation by P)",
                      style="dim", soft_wrap=True)  # fmt: skip
    if not comparison.differing:
        console.print("no setting differs between these runs", style="dim")
    from tscl.tasks import metric_label, validation_names

    validation = [metric_label(name) for name in comparison.metric_names if name in validation_names()]
    if validation:
        console.print(f"{', '.join(validation)}: validation numbers (no test data), the ones to compare settings on",
                      style="dim", soft_wrap=True)  # fmt: skip
    if any(run["stale"] for run in comparison.runs):
        console.print(STALE_NOTE, style="dim", soft_wrap=True)


def comparison_table(
    comparison: Comparison, runs: list[dict[str, Any]] | None = None, protocol: str | None = None
) -> Table:
    """The table of ``runs`` (default: all of the comparison's), titled with their ``protocol`` if given."""
    runs = comparison.runs if runs is None else runs
    names = [Path(run["run_dir"]).name for run in runs]
    if len(set(names)) < len(names):
        names = [run["run_dir"] for run in runs]
    names = [f"{name} ({Path(run['evaluation']).name})" if run.get("evaluation") else name
             for name, run in zip(names, runs, strict=True)]  # fmt: skip
    about = "" if protocol is None else f" · protocol {protocol}"
    table = Table(title=f"{plural(len(runs), 'run')}{about}")
    for column in ("run", "dataset", "objective", "status"):
        table.add_column(column, overflow="fold")
    from tscl.tasks import metric_label

    for name in comparison.metric_names:
        table.add_column(metric_label(name), justify="right")
    table.add_column("stale")
    for key in comparison.differing:
        table.add_column(key, style="cyan")
    for name, run in zip(names, runs, strict=True):
        cells = [escape(name), escape(str(run["dataset"])), str(run["objective"]), str(run["status"])]
        cells += [_value(run["metrics"].get(metric)) for metric in comparison.metric_names]
        cells.append(STALE if run["stale"] else "")
        cells += [_value(run["settings"].get(key)) for key in comparison.differing]
        table.add_row(*cells)
    return table


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
