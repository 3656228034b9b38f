"""A run's evaluation results: ``metrics.json`` (everything) and ``metrics.csv`` (the task's rows), and the
one reader every listing, comparison and summary uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tscl.runs.files import read_json_or_none, write_csv, write_json
from tscl.runs.layout import METRICS, METRICS_CSV
from tscl.tasks import task_of


def read_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``metrics.json``, or None before evaluation (or when the file is unreadable)."""
    return read_json_or_none(run_dir / METRICS)


def write_metrics(run_dir: Path, metrics: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """``metrics.json`` and ``metrics.csv`` (one line per row of the task's ``metric_rows``), atomically."""
    write_json(run_dir / METRICS, metrics)
    write_csv(run_dir / METRICS_CSV, list(rows[0]), rows)


def headline_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    """The headline numbers of a run's metrics as its task picks them (empty when unknown)."""
    task = task_of(metrics)
    return {} if task is None or metrics is None else task.headline(metrics)


def headline_text(metrics: dict[str, Any] | None) -> str:
    """The headline of a run's metrics as its task writes it ("-" before evaluation)."""
    task = task_of(metrics)
    return "-" if task is None or metrics is None else task.headline_text(metrics)
