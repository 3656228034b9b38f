"""Side-by-side comparison of runs: validation and headline metrics, and the config keys that differ between them.

Validation metrics (``cv_accuracy``, ``valid_mse``: the numbers to compare settings on) come before the test
metrics; each run says whether its metrics are stale (computed from an earlier checkpoint than its latest).
Each run also says the evaluation protocol its metrics come from (``forecasting``, ``forecasting-ltsf``,
``classification-svm``, ...): numbers of different protocols (other horizons, splits, feature modes, heads)
are not comparable, and :meth:`Comparison.groups` keeps them apart. Besides run directories, the folder of an
evaluation stored beside a run's own (``RUN/evaluations/KEY``) can be compared, and ``protocol=`` picks, in
each run, the evaluation made by that protocol."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tscl.errors import CheckpointError, ConfigError, TsclError
from tscl.paths import PathArg, as_path
from tscl.runs.files import read_json_or_none
from tscl.runs.layout import CONFIG, EVALUATIONS, META, METRICS, is_run_dir, load_run_config
from tscl.runs.metrics import other_evaluations, protocol_of, read_metrics, summary_metrics
from tscl.runs.state import run_state, stale_reason
from tscl.tasks import summary_names

SHOWN_APART = ("dataset", "objective")  # columns of their own, not settings


@dataclass
class Comparison:
    """Runs in the order given, each with its validation and headline metrics, state, staleness and the settings
    that differ between runs; ``unreadable`` names each run's files that could not be read (a damaged
    ``config.toml`` takes no part in the differing settings, a damaged ``metrics.json`` shows no metrics)."""

    runs: list[dict[str, Any]]
    differing: list[str]

    def groups(self) -> dict[str | None, list[dict[str, Any]]]:
        """The runs by evaluation protocol (None: not evaluated), in order of first appearance."""
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for run in self.runs:
            groups.setdefault(run["protocol"], []).append(run)
        return groups

    @property
    def metric_names(self) -> list[str]:
        present = {name for run in self.runs for name in run["metrics"]}
        return [name for name in summary_names() if name in present]

    def to_dict(self) -> dict[str, Any]:
        return {
            "differing": self.differing, "metrics": self.metric_names, "runs": self.runs,
            "protocols": [protocol for protocol in self.groups() if protocol is not None],
        }  # fmt: skip


def find_run_dirs(path: Path) -> list[Path]:
    """``path`` if it is a run directory (or an evaluation folder ``RUN/evaluations/KEY``), else every run
    directory below it (a sweep or runs folder)."""
    if not path.exists():
        raise CheckpointError(f"{path} does not exist", hint="pass run directories or sweep output folders")
    if is_run_dir(path) or _owning_run(path) != path:
        return [path]
    found = sorted(p.parent for p in path.glob(f"**/{CONFIG}") if (p.parent / META).is_file())
    if not found:
        raise CheckpointError(
            f"{path} holds no run directories (no config.toml and meta.json below it)",
            hint="pass a directory made by `tscl pretrain` or a `tscl sweep` output folder",
        )
    return found


def compare_runs(paths: Sequence[PathArg] | PathArg, protocol: str | None = None) -> Comparison:
    """Compare run directories and/or folders holding them (sweep outputs): metrics and differing settings.

    Args:
        paths: Run directories, evaluation folders (``RUN/evaluations/KEY``), or folders holding runs (one
            such path may be given alone).
        protocol: Take each run's evaluation by this protocol (``forecasting-ltsf``; the run's own metrics
            when they are by it, else the one stored beside them); runs without one show no metrics.

    Raises:
        ConfigError: No run was evaluated by ``protocol`` (listing the protocols they were evaluated by).
    """
    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not given:
        raise CheckpointError("compare needs at least one run directory or sweep folder")
    run_dirs: list[Path] = []
    for path in map(as_path, given):
        run_dirs += [d for d in find_run_dirs(path) if d not in run_dirs]
    runs = [_describe(run_dir, protocol) for run_dir in run_dirs]
    if protocol is not None and not any(run["protocol"] == protocol for run in runs):
        available = sorted({name for run_dir in run_dirs for name in _protocols(run_dir)})
        raise ConfigError(
            f"protocol (--protocol) must be one the compared runs were evaluated by but got {protocol!r}",
            hint=f"their protocols: {', '.join(available)}"
            if available
            else "none of them is evaluated yet: run `tscl evaluate RUN` first",
        )
    readable = [run for run in runs if CONFIG not in run["unreadable"]]  # an unreadable config differs in nothing
    keys = sorted({key for run in readable for key in run["settings"]})
    differing = [
        key
        for key in keys
        if key not in SHOWN_APART and len({json.dumps(run["settings"].get(key)) for run in readable}) > 1
    ]
    for run in runs:
        run["settings"] = {key: run["settings"].get(key) for key in differing}
    return Comparison(runs, differing)


def _owning_run(path: Path) -> Path:
    """The run an evaluation folder ``RUN/evaluations/KEY`` belongs to; ``path`` itself otherwise."""
    return path.parent.parent if path.parent.name == EVALUATIONS and is_run_dir(path.parent.parent) else path


def _evaluation_folder(run_dir: Path, protocol: str | None) -> Path | None:
    """The folder of the run's evaluation by ``protocol``: the run's own when its metrics are by it (or no
    protocol is asked for), else the evaluation stored beside them by that protocol (first by name)."""
    if protocol is None or protocol_of(read_metrics(run_dir)) == protocol:
        return run_dir
    for folder in other_evaluations(run_dir).values():
        if protocol_of(read_metrics(folder)) == protocol:
            return folder
    return None  # the run shows as not evaluated by it


def _protocols(path: Path) -> list[str]:
    """The protocols of the evaluations of a run (its own and those beside it), or of one evaluation folder."""
    folders = [path] if _owning_run(path) != path else [path, *other_evaluations(path).values()]
    return [name for name in (protocol_of(read_metrics(folder)) for folder in folders) if name is not None]


def _describe(path: Path, protocol: str | None = None) -> dict[str, Any]:
    run_dir = _owning_run(path)
    folder = path if run_dir != path else _evaluation_folder(run_dir, protocol)
    meta = read_json_or_none(run_dir / META) or {}
    metrics = read_metrics(folder) if folder is not None else None
    unreadable = []
    try:
        settings: dict[str, Any] = load_run_config(run_dir).flat()
    except TsclError:
        settings, unreadable = {}, [CONFIG]
    if folder is not None and metrics is None and (folder / METRICS).exists():
        unreadable.append(str((folder / METRICS).relative_to(run_dir)))
    if not meta and (run_dir / META).exists():
        unreadable.append(META)
    if metrics and metrics.get("head"):
        settings["head"] = metrics["head"]
    return {
        "run_dir": str(run_dir),
        "protocol": protocol_of(metrics),
        "evaluation": str(folder.relative_to(run_dir)) if folder not in (None, run_dir) else None,
        "dataset": meta.get("dataset", settings.get("dataset")),
        "objective": meta.get("objective", settings.get("objective")),
        "status": run_state(run_dir, meta) if meta else "unreadable",
        "task": (metrics or {}).get("task", meta.get("task")),
        "metrics": summary_metrics(metrics),
        "evaluated": metrics is not None,
        "stale": stale_reason(run_dir, metrics, meta, (folder or run_dir) / METRICS) is not None,
        "settings": settings,
        "unreadable": unreadable,
    }
