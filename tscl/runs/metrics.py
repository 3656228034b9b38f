"""A run's evaluation results and the one reader every listing, comparison and summary uses.

``metrics.json`` (everything) and ``metrics.csv`` (the task's rows) in the run directory hold the evaluation of
the run's own dataset by its protocol (the one it was first evaluated with). Evaluations of other datasets or
by other protocols are stored beside it, never over it: ``evaluations/<dataset>-<protocol>/metrics.json``
(and ``metrics.csv``, ``plots/``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tscl.runs.files import read_json_or_none, write_csv, write_json
from tscl.runs.layout import EVALUATIONS, METRICS, METRICS_CSV
from tscl.tasks import task_named, task_of


def read_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``metrics.json``, or None before evaluation (or when the file is unreadable)."""
    return read_json_or_none(run_dir / METRICS)


def write_metrics(folder: Path, metrics: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """``metrics.json`` and ``metrics.csv`` (one line per row of the task's ``metric_rows``), atomically."""
    write_json(folder / METRICS, metrics)
    write_csv(folder / METRICS_CSV, list(rows[0]), rows)


def evaluation_key(dataset: str, protocol: str) -> str:
    """The folder name of an evaluation stored beside the run's own: ``<dataset>-<protocol>``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{dataset}-{protocol}").strip("._") or "evaluation"


def other_evaluations(run_dir: Path) -> dict[str, Path]:
    """Folders of the evaluations stored beside the run's own, by key (name order)."""
    folder = run_dir / EVALUATIONS
    if not folder.is_dir():
        return {}
    return {path.parent.name: path.parent for path in sorted(folder.glob(f"*/{METRICS}"))}


def protocol_of(metrics: Mapping[str, Any] | None) -> str | None:
    """The protocol stored metrics were computed by: recorded, else (older versions) their task and head."""
    recorded = ((metrics or {}).get("provenance") or {}).get("protocol")
    if isinstance(recorded, str):
        return recorded
    task = task_of(metrics)
    if task is None or metrics is None:
        return None
    head = metrics.get("head")
    return task_named(task.name, **({"head": head} if isinstance(head, str) else {})).protocol()


def headline_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    """The headline numbers of a run's metrics as its task picks them (empty when unknown)."""
    task = task_of(metrics)
    return {} if task is None or metrics is None else task.headline(metrics)


def summary_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    """The validation numbers, then the headline numbers, of stored metrics (empty when unknown)."""
    task = task_of(metrics)
    return {} if task is None or metrics is None else {**task.validation(metrics), **task.headline(metrics)}


def headline_text(metrics: dict[str, Any] | None) -> str:
    """The headline of a run's metrics as its task writes it, validation first ("-" before evaluation)."""
    task = task_of(metrics)
    return "-" if task is None or metrics is None else task.summary_text(metrics)
