"""``tscl data``: list, inspect and download datasets. Commands parse, call :mod:`tscl.data`, render."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tscl.cli.application import app
from tscl.cli.options import (
    DataDirOpt,
    FetchDirOpt,
    JsonOpt,
    SplitByOpt,
    SplitSeedOpt,
    StrideOpt,
    TargetOpt,
    TimeColOpt,
    UnivariateOpt,
    WindowOpt,
)
from tscl.errors import DataError, DownloadError

if TYPE_CHECKING:
    from tscl.data.fetch import FetchResult
from tscl.cli.render import folded, print_warnings

data = typer.Typer(
    help="List, inspect and download datasets (ETT, UCR, UEA, your own files).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(data, name="data")

NameArg = Annotated[str, typer.Argument(help="Catalog name (ETTh1, GunPoint, ...) or a path to a data file.")]
NamesArg = Annotated[list[str], typer.Argument(help="Catalog names (ETTh1, Libras, ...) or archives (UCR:all).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Download again even if a valid copy is present.")]
ArchiveOpt = Annotated[str | None, typer.Option("--archive", help="Only one archive: UCR, UEA or forecasting.")]
TaskFilterOpt = Annotated[str | None, typer.Option("--task", help="Only one task: classification or forecasting.")]
CachedOpt = Annotated[
    bool, typer.Option("--cached", help="Only the datasets usable offline: found locally or bundled with aeon.")
]


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2))


@data.command("list")
def list_command(
    data_dir: DataDirOpt = None,
    archive: ArchiveOpt = None,
    task: TaskFilterOpt = None,
    cached: CachedOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """List the catalog (every UCR and UEA dataset, the forecasting set) and which are usable offline."""
    from tscl.data.locate import BUNDLED_SOURCE, catalog_status

    rows = [row for row in catalog_status(data_dir, task=task, archive=archive) if row["offline"] or not cached]
    if json_output:
        _print_json(rows)
        return
    held = sum(row["cached"] for row in rows)
    bundled = sum(row["found"] == BUNDLED_SOURCE for row in rows)
    title = f"tscl datasets: {len(rows)} listed, {held} cached, {bundled} bundled"
    table = Table(title=title, caption="found: the folder of a local copy, or bundled (aeon's copy, offline)")
    table.add_column("name", no_wrap=True)
    for column in ("archive", "shape", "missing"):
        table.add_column(column)
    table.add_column("found", overflow="fold")
    for row in rows:
        missing = "yes" if row["missing_values"] else ""
        found = "bundled" if row["found"] == BUNDLED_SOURCE else escape(row["found"] or "") or "[dim]-[/dim]"
        table.add_row(row["name"], row["archive"], row["shape"], missing, found)
    Console().print(folded(table))


@data.command("info")
def info_command(
    name: NameArg,
    data_dir: DataDirOpt = None,
    univariate: UnivariateOpt = False,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    window: WindowOpt = None,
    stride: StrideOpt = None,
    split_by: SplitByOpt = None,
    split_seed: SplitSeedOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Load a dataset as training would and summarise it (grouped data: subjects, recordings, windows per class)."""
    from tscl.data import load_dataset
    from tscl.data.grouped import Grouping
    from tscl.data.load import check_forecasting_settings
    from tscl.data.splits import split_warnings

    grouping = Grouping(window, stride, split_by, split_seed or 0)
    dataset = load_dataset(name, data_dir, univariate=univariate, time_col=time_col, target=target, grouping=grouping)
    check_forecasting_settings(dataset, univariate, time_col, target)
    info = dataset.info()
    print_warnings(split_warnings(getattr(dataset, "split", None)))
    if json_output:
        _print_json(info)
        return
    table = Table(title=escape(f"{info['name']} ({info['task']})"), show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in info.items():
        table.add_row(key, escape(_render_value(key, value)))
    Console().print(folded(table))


def _render_value(key: str, value: Any) -> str:
    if key == "classes":
        if value and "valid" in value[0]:  # grouped data: windows per class in train/valid/test
            return "\n".join(
                f"class {c['name']}: {c['train']} train, {c['valid']} valid, {c['test']} test" for c in value
            )
        return "\n".join(f"class {c['name']}: {c['train']} train, {c['test']} test" for c in value) or "-"
    if key == "groups":
        per = value["recordings_per_subject"]
        shown = ", ".join(f"{s}: {n}" for s, n in list(per.items())[:12]) + (" ..." if len(per) > 12 else "")
        parts = value["subjects_per_part"]
        return (f"{value['subjects']} subjects, {value['recordings']} recordings (per subject {shown}); "
                f"windows {value['window'] or 'whole recordings'} every {value['stride'] or value['window'] or '-'}; "
                f"split by {value['split_by']} (seed {value['split_seed']}): subjects train {parts['train']}, "
                f"valid {parts['valid']}, test {parts['test']}")  # fmt: skip
    if key == "splits":
        return "  ".join(f"{part} [{s['start']}, {s['end']})" for part, s in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "-" if value is None else str(value)


@data.command("fetch")
def fetch_command(
    names: NamesArg, data_dir: FetchDirOpt = None, force: ForceOpt = False, json_output: JsonOpt = False
) -> None:
    """Download catalog datasets from their upstreams (checksummed) into --data-dir or the cache.

    NAMES are catalog names or whole archives: [bold]UCR:all[/bold], [bold]UEA:all[/bold], [bold]forecasting:all[/bold].
    """
    from tscl.data.fetch import fetch_many

    console = Console()

    def report(result: FetchResult) -> None:
        if result.error is None:
            paths = escape(", ".join(str(p) for p in result.paths))
            console.print(f"[green]ok[/green] {result.name}: {paths}", soft_wrap=True)  # one line per dataset
        else:
            console.print(f"[red]failed[/red] {result.name}: {escape(result.error.message)}", soft_wrap=True)

    results = fetch_many(names, data_dir, force, on_result=None if json_output else report)
    if json_output:
        _print_json([_fetch_row(result) for result in results])
    errors = [result.error for result in results if result.error is not None]
    if len(results) == 1 and errors:
        raise errors[0]
    failed = [result for result in results if result.error is not None]
    if failed:
        shown = ", ".join(result.name for result in failed[:10]) + (
            f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        )
        raise DownloadError(
            f"every dataset must be fetched but {len(failed)} of {len(results)} failed: {shown}",
            "the lines above give each reason; run the command again to retry only those",
        )


def _fetch_row(result: FetchResult) -> dict[str, Any]:
    error = None if result.error is None else {"message": result.error.message, "hint": result.error.hint}
    return {"name": result.name, "files": [str(p) for p in result.paths], "error": error}


@data.command("verify")
def verify_command(
    name: Annotated[str | None, typer.Argument(help="A fetched dataset (default: every fetched dataset).")] = None,
    data_dir: DataDirOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Check fetched files against the sha256 recorded (or pinned) when they were downloaded."""
    from tscl.data.fetch import verify

    checks = verify(name, data_dir)
    if json_output:
        _print_json([{"dataset": c.record.dataset, "file": str(c.path), "status": c.status} for c in checks])
    else:
        table = Table(title=f"{len(checks)} fetched files")
        for column in ("dataset", "file", "status"):
            table.add_column(column, overflow="fold")
        for check in checks:
            colour = "green" if check.status == "ok" else "red"
            table.add_row(check.record.dataset, escape(str(check.path)), f"[{colour}]{check.status}[/{colour}]")
        Console().print(table)
    bad = [check for check in checks if check.status != "ok"]
    if bad:
        first, verb = bad[0], "does" if len(bad) == 1 else "do"
        raise DataError(
            f"every fetched file must match its recorded sha256 but {len(bad)} {verb} not: "
            f"{first.path} is {first.status}",
            f"run `tscl data fetch {first.record.dataset} --force` to download it again",
        )
