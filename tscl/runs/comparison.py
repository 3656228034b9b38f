"""Side-by-side comparison of runs: validation and headline metrics, and the config keys that differ between them.

Validation metrics (``cv_accuracy``, ``valid_mse``: the numbers to compare settings on) come before the test
metrics; each run says whether its metrics are stale (computed from an earlier checkpoint than its latest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tscl.errors import CheckpointError, TsclError
from tscl.runs.files import read_json_or_none
from tscl.runs.layout import CONFIG, META, METRICS, is_run_dir
from tscl.runs.metrics import read_metrics, summary_metrics
from tscl.runs.state import run_state, stale_reason
from tscl.tasks import summary_names

SHOWN_APART = ("dataset", "objective")  # columns of their own, not settings


@dataclass
class Comparison:
    """Runs in the order given, each with its validation and headline metrics, state, staleness and the settings
    that differ between runs."""

    runs: list[dict[str, Any]]
    differing: list[str]

    @property
    def metric_names(self) -> list[str]:
        present = {name for run in self.runs for name in run["metrics"]}
        return [name for name in summary_names() if name in present]

    def to_dict(self) -> dict[str, Any]:
        return {"differing": self.differing, "metrics": self.metric_names, "runs": self.runs}


def find_run_dirs(path: Path) -> list[Path]:
    """``path`` if it is a run directory, else every run directory below it (a sweep or runs folder)."""
    if not path.exists():
        raise CheckpointError(f"{path} does not exist", hint="pass run directories or sweep output folders")
    if is_run_dir(path):
        return [path]
    found = sorted(p.parent for p in path.glob(f"**/{CONFIG}") if (p.parent / META).is_file())
    if not found:
        raise CheckpointError(
            f"{path} holds no run directories (no config.toml and meta.json below it)",
            hint="pass a directory made by `tscl pretrain` or a `tscl sweep` output folder",
        )
    return found


def compare_runs(paths: list[Path]) -> Comparison:
    """Compare run directories and/or folders holding them (sweep outputs): metrics and differing settings."""
    if not paths:
        raise CheckpointError("compare needs at least one run directory or sweep folder")
    run_dirs: list[Path] = []
    for path in paths:
        run_dirs += [d for d in find_run_dirs(path) if d not in run_dirs]
    runs = [_describe(run_dir) for run_dir in run_dirs]
    keys = sorted({key for run in runs for key in run["settings"]})
    differing = [
        key
        for key in keys
        if key not in SHOWN_APART and len({json.dumps(run["settings"].get(key)) for run in runs}) > 1
    ]
    for run in runs:
        run["settings"] = {key: run["settings"].get(key) for key in differing}
    return Comparison(runs, differing)


def _describe(run_dir: Path) -> dict[str, Any]:
    from tscl.config import load_config

    meta = read_json_or_none(run_dir / META) or {}
    metrics = read_metrics(run_dir)
    try:
        settings: dict[str, Any] = load_config(run_dir / CONFIG).flat()
    except TsclError:
        settings = {}
    if metrics and metrics.get("head"):
        settings["head"] = metrics["head"]
    return {
        "run_dir": str(run_dir),
        "dataset": meta.get("dataset", settings.get("dataset")),
        "objective": meta.get("objective", settings.get("objective")),
        "status": run_state(run_dir, meta) if meta else "unreadable",
        "task": (metrics or {}).get("task", meta.get("task")),
        "metrics": summary_metrics(metrics),
        "evaluated": metrics is not None,
        "stale": stale_reason(run_dir, metrics, meta, run_dir / METRICS) is not None,
        "settings": settings,
    }

