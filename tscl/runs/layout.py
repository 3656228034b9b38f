"""Where everything of a run lives: the names of its files, the runs folder, and the run-directory check.

A run directory holds ``config.toml`` (the resolved configuration), ``meta.json`` (status, step, timings,
versions), ``checkpoints/last.pt``, ``losses.csv``, ``diagnostics.csv`` (objectives that report some),
``metrics.json`` / ``metrics.csv`` after evaluation of the run's own dataset, ``plots/``,
``split.json`` (grouped data: the groups of each part),
``evaluations/<dataset>-<protocol>/`` (metrics and plots of other datasets and protocols) and ``run.lock``
(held by the process training the run; ``run.lock.owner.json`` names it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from tscl.errors import CheckpointError

if TYPE_CHECKING:
    from tscl.config import RunConfig

CONFIG = "config.toml"
META = "meta.json"
CHECKPOINT = Path("checkpoints") / "last.pt"
LOSSES = "losses.csv"
DIAGNOSTICS = "diagnostics.csv"
METRICS = "metrics.json"
METRICS_CSV = "metrics.csv"
PLOTS = "plots"
EVALUATIONS = "evaluations"
LOCK = "run.lock"
SPLIT = "split.json"  # grouped data: which groups the run trained on (evaluation reuses the split)


def default_runs_root() -> Path:
    """``$TSCL_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get("TSCL_RUNS_DIR", "runs"))


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run (its ``config.toml``)."""
    return (path / CONFIG).is_file()


def check_run_dir(run_dir: Path) -> Path:
    """Raise a clear error unless ``run_dir`` looks like a tscl run directory."""
    if run_dir.exists() and not run_dir.is_dir():
        raise CheckpointError(
            f"run directory {run_dir} must be a directory but is a file",
            hint="pass a run directory made by tscl pretrain; list runs with `tscl runs`",
        )
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory {run_dir} does not exist", hint="list runs with `tscl runs`")
    if not is_run_dir(run_dir):
        raise CheckpointError(f"{run_dir} is not a tscl run directory (no {CONFIG})", hint=_not_a_run_hint(run_dir))
    return run_dir


def _not_a_run_hint(path: Path) -> str:
    """What the folder given instead of a run directory probably is, and what to pass."""
    from tscl.text import shell

    if path.parent.name == EVALUATIONS and is_run_dir(path.parent.parent):
        return f"it is an evaluation stored beside a run: pass the run, {shell(path.parent.parent)}"
    if (path / "trials").is_dir() and (path / "grid.toml").is_file():
        return f"it is a sweep's output folder: pass one of its trials/<id>, or: tscl runs compare {shell(path)}"
    if any(path.glob(f"*/{CONFIG}")):
        return f"it holds run directories: list them with `tscl runs --runs-dir {shell(path)}`"
    return "pass a run directory made by tscl pretrain; list runs with `tscl runs`"


def load_run_config(run_dir: Path) -> RunConfig:
    """The run's ``config.toml``; one without the run's dataset (emptied or cut short) is refused, instead of being
    read as the default settings (whose dataset is another one).

    Raises:
        ConfigError: The file is missing or not valid TOML.
        CheckpointError: It holds no ``dataset``.
    """
    from tscl.config import config_from_mapping, load_config_values

    path = run_dir / CONFIG
    values = load_config_values(path)
    if "dataset" not in values:
        raise CheckpointError(
            f"{path} must hold the run's settings but has no dataset: it is empty or damaged",
            hint="tscl pretrain wrote it as the run started: restore it from a copy (meta.json names the dataset)",
        )
    return config_from_mapping(values, source=str(path))
