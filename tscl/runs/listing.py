"""``list_runs``: the run directories under a folder with their state and headline metric."""

from __future__ import annotations

from typing import Any

from tscl.errors import ConfigError
from tscl.paths import PathArg, as_path
from tscl.runs.files import read_json_or_none
from tscl.runs.layout import META, METRICS, default_runs_root
from tscl.runs.metrics import headline_text, other_evaluations, read_metrics, summary_metrics
from tscl.runs.state import run_state, stale_reason
from tscl.tasks import task_named, task_of


def list_runs(root: PathArg | None = None) -> list[dict[str, Any]]:
    """Summaries of the run directories under ``root`` (default: ``$TSCL_RUNS_DIR`` or ``./runs``), newest first.

    Each row: run_dir, dataset, objective, status (``running``, ``dead``, ``finished``, ``interrupted``,
    ``failed``: see :func:`tscl.runs.state.run_state`), step, created, headline (the validation, then the
    headline metrics as numbers by name, e.g. ``{"cv_accuracy": 0.92, "accuracy": 0.89, "auprc": 0.9}``; empty
    before evaluation), headline_text (the same as the table shows it), stale (the metrics were computed from
    an earlier checkpoint than the latest) with stale_reason,
    evaluations (keys of the evaluations of other datasets or protocols stored beside), and metrics.
    A damaged ``metrics.json`` shows as such in headline_text. Unreadable ones are marked ``status: unreadable``;
    a missing folder holds no runs. Nothing is written.
    """
    root = default_runs_root() if root is None else as_path(root)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"runs folder {root} must be a folder but is a file",
                          hint="pass the folder holding run directories (--runs-dir, TSCL_RUNS_DIR)")  # fmt: skip
    rows: list[dict[str, Any]] = []
    for meta_path in sorted(root.glob(f"**/{META}")) if root.is_dir() else []:
        run = meta_path.parent
        meta = read_json_or_none(meta_path)
        if meta is None:
            rows.append({"run_dir": str(run), "status": "unreadable"})
            continue
        metrics = read_metrics(run)
        reason = stale_reason(run, metrics, meta, run / METRICS)
        rows.append({
            "run_dir": str(run), "dataset": meta.get("dataset"), "objective": meta.get("objective"),
            "status": run_state(run, meta), "step": meta.get("step"), "created": meta.get("created"),
            "headline": summary_metrics(metrics), "headline_text": headline_text(metrics),
            "stale": reason is not None, "stale_reason": reason,
            "evaluations": list(other_evaluations(run)), "metrics": metrics,
        })  # fmt: skip
        if metrics is None and (run / METRICS).exists():  # not "never evaluated": the file is damaged
            rows[-1]["headline_text"] = f"{METRICS} unreadable (re-run tscl evaluate)"
    _align_headlines(rows)
    return sorted(rows, key=lambda r: str(r.get("created") or ""), reverse=True)  # a hand-edited meta.json: any type


def _align_headlines(rows: list[dict[str, Any]]) -> None:
    """The headlines of the runs of one task, measured alike (e.g. label efficiency: the same fraction)."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        task = task_of(row.get("metrics"))
        if task is not None:
            by_task.setdefault(task.name, []).append(row)
    for name, group in by_task.items():
        aligned = task_named(name).aligned([row["metrics"] for row in group])
        for row, metrics in zip(group, aligned, strict=True):
            row["headline"], row["headline_text"] = summary_metrics(metrics), headline_text(dict(metrics))
