"""``tscl runs``: list run directories with dataset, objective, status and headline metric."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from tscl.cli import app
from tscl.cli.options import JsonOpt
from tscl.cli.render import console, print_json


def headline(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return "-"
    if metrics.get("task") == "forecasting":
        mean = metrics.get("mean", {})
        return f"MSE {mean.get('mse', float('nan')):.3f} / MAE {mean.get('mae', float('nan')):.3f}"
    return f"acc {metrics.get('accuracy', float('nan')):.3f}"


def collect_runs(root: Path) -> list[dict[str, Any]]:
    """Summaries of the run directories under ``root`` (newest first); unreadable ones are marked."""
    import json

    rows = []
    for meta_path in sorted(root.glob("**/meta.json")):
        run = meta_path.parent
        try:
            meta = json.loads(meta_path.read_text())
            metrics_path = run / "metrics.json"
            metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else None
        except (OSError, ValueError):
            rows.append({"run_dir": str(run), "status": "unreadable"})
            continue
        rows.append({
            "run_dir": str(run), "dataset": meta.get("dataset"), "objective": meta.get("objective"),
            "status": meta.get("status"), "step": meta.get("step"), "created": meta.get("created"),
            "headline": headline(metrics), "metrics": metrics,
        })  # fmt: skip
    return sorted(rows, key=lambda r: r.get("created") or "", reverse=True)


@app.command()
def runs(
    runs_dir: Annotated[Optional[Path], typer.Option(help="Folder holding run directories (default ./runs).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List runs with their dataset, objective, status and headline metric."""
    from tscl.rundir import default_runs_root

    root = runs_dir or default_runs_root()
    rows = collect_runs(root) if root.exists() else []
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
