"""``tscl objectives|encoders|losses|views|tasks|heads list`` and ``... show NAME``: the registered components and their
options (type, default, constraint, help), from the one registry of each kind."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tscl.cli.application import app
from tscl.cli.options import JsonOpt
from tscl.cli.render import console, folded, print_json

# command group -> (registry "module:attribute", what it lists)
KINDS = {
    "objectives": ("tscl.objectives:OBJECTIVES", "Pretraining objectives"),
    "encoders": ("tscl.encoders:ENCODERS", "Encoders"),
    "losses": ("tscl.losses:LOSSES", "Losses between two views"),
    "views": ("tscl.views:VIEWS", "View makers"),
    "tasks": ("tscl.tasks:TASKS", "Evaluation tasks"),
    "heads": ("tscl.tasks.heads:HEADS", "Classifier heads of the classification task"),
}


def _registry(kind: str) -> Any:
    import importlib

    module, _, attribute = KINDS[kind][0].partition(":")
    return getattr(importlib.import_module(module), attribute)


def describe(kind: str, name: str) -> dict[str, Any]:
    """What ``tscl KIND show NAME`` prints: summary, origin, options and the component's stated needs."""
    from tscl.registry import describe_options

    entry = _registry(kind).entry(name)
    factory = entry.factory
    needs = {
        key: getattr(factory, key)
        for key in ("default_encoder", "default_loss", "default_views", "task_defaults", "aligned_views")
        if getattr(factory, key, None) is not None
    }
    presets = {p.name: p.description for p in getattr(factory, "presets", {}).values()}
    return {
        "name": name, "kind": kind, "summary": entry.summary, "origin": entry.origin,
        "options": describe_options(entry.options), "needs": needs, "presets": presets,
    }  # fmt: skip


def _add_kind(kind: str) -> None:
    group = typer.Typer(help=f"{KINDS[kind][1]}: list them, show one's options.", no_args_is_help=True)
    app.add_typer(group, name=kind)

    @group.command("list")
    def list_command(json_out: JsonOpt = False) -> None:
        """Every available name (built-in, registered, installed plug-ins) with its summary."""
        entries = [(e.name, e.summary, e.origin) for e in _registry(kind).entries()]
        if json_out:
            print_json([{"name": n, "summary": s, "origin": o} for n, s, o in entries])
            return
        table = Table(title=KINDS[kind][1])
        for column in ("name", "summary", "origin"):
            table.add_column(column)
        for row in entries:
            table.add_row(*row)
        console.print(folded(table))

    @group.command("show")
    def show_command(
        name: Annotated[str, typer.Argument(help="A registered name (see `list`).")], json_out: JsonOpt = False
    ) -> None:
        """Every option of NAME with its type, default, constraint and help; set one with --set."""
        info = describe(kind, name)
        if json_out:
            print_json(info)
            return
        from tscl.config import SECTIONS

        section = _registry(kind).section
        how = f"set with --set {section}.OPTION=VALUE" if section in SECTIONS else "used by `tscl evaluate`"
        caption = f"{info['origin']}; {how}"
        if console.width >= 110:
            table = Table(title=f"{name}: {info['summary']}", caption=caption, expand=True)
            table.add_column("option", no_wrap=True)
            for column, width in (("type", 18), ("default", 14), ("constraint", 12)):
                table.add_column(column, overflow="fold", max_width=width)
            table.add_column("help", overflow="fold", ratio=1, min_width=24)
            for row in info["options"]:
                table.add_row(row["name"], row["type"], repr(row["default"]), row["constraint"], row["help"])
            console.print(folded(table))
        else:  # a narrow terminal (or a pipe, 80 columns): one option per block keeps the help readable
            console.print(f"[bold]{name}[/]: {info['summary']}", highlight=False)
            console.print(f"[dim]{caption}[/]", highlight=False)
            for row in info["options"]:
                constraint = f"  ({row['constraint']})" if row["constraint"] else ""
                head = f"  [bold]{row['name']}[/]: {row['type']} = {row['default']!r}{constraint}"
                console.print(head, highlight=False)
                console.print(f"      {row['help']}", highlight=False)
        for key, value in info["needs"].items():
            console.print(f"{key.replace('_', ' ')}: {value}")
        for preset, description in info["presets"].items():
            console.print(f"preset [bold]{preset}[/]: {description}")


for _kind in KINDS:
    _add_kind(_kind)
