"""``tscl data``: list, inspect and download datasets. Commands parse, call :mod:`tscl.data`, render."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tscl.cli.app import app
from tscl.cli.options import DataDirOpt, JsonOpt, TargetOpt, TimeColOpt, UnivariateOpt
from tscl.cli.render import folded

data = typer.Typer(
    help="List, inspect and download datasets (ETT, UCR, UEA, your own files).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(data, name="data")

NameArg = Annotated[str, typer.Argument(help="Catalog name (ETTh1, GunPoint, ...) or a path to a data file.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Download again even if a valid copy is present.")]


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2))


@data.command("list")
def list_command(data_dir: DataDirOpt = None, json_output: JsonOpt = False) -> None:
    """List the catalog and where each dataset is found locally."""
    from tscl.data.locate import catalog_status

    rows = catalog_status(data_dir)
    if json_output:
        _print_json(rows)
        return
    table = Table(title="tscl datasets")
    for column in ("name", "task", "format", "shape"):
        table.add_column(column)
    table.add_column("found", overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["task"], row["format"], row["shape"], row["found"] or "[dim]-[/dim]")
    Console().print(folded(table))


@data.command("info")
def info_command(
    name: NameArg,
    data_dir: DataDirOpt = None,
    univariate: UnivariateOpt = False,
    time_col: TimeColOpt = None,
    target: TargetOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Load a dataset as training would and summarise it."""
    from tscl.data import load_dataset

    dataset = load_dataset(name, data_dir, univariate=univariate, time_col=time_col, target=target)
    info = dataset.info()
    if json_output:
        _print_json(info)
        return
    table = Table(title=f"{info['name']} ({info['task']})", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in info.items():
        table.add_row(key, _render_value(key, value))
    Console().print(folded(table))


def _render_value(key: str, value: Any) -> str:
    if key == "classes":
        return "\n".join(f"class {c['name']}: {c['train']} train, {c['test']} test" for c in value) or "-"
    if key == "splits":
        return "  ".join(f"{part} [{s['start']}, {s['end']})" for part, s in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "-" if value is None else str(value)


@data.command("fetch")
def fetch_command(
    name: NameArg, data_dir: DataDirOpt = None, force: ForceOpt = False, json_output: JsonOpt = False
) -> None:
    """Download a catalog dataset (verified by sha256) into --data-dir or the cache."""
    from tscl.data import fetch

    paths = fetch(name, data_dir, force=force)
    if json_output:
        _print_json({"name": name, "files": [str(p) for p in paths]})
        return
    console = Console()
    for path in paths:
        console.print(f"[green]ok[/green] {path}")
