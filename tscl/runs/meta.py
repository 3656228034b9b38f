"""``meta.json``: what a run is (dataset, task, objective, seed, shapes, versions) and how it is going."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tscl.config import RunConfig
from tscl.runs.files import read_json, write_json
from tscl.runs.layout import META


def versions() -> dict[str, str]:
    import torch

    import tscl

    return {
        "tscl": tscl.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def new_meta(config: RunConfig, task: str, X: np.ndarray, device: str, threads: int, target_iters: int | None,
             data_seconds: float) -> dict[str, Any]:  # fmt: skip
    """The metadata of a run starting now (status ``running``)."""
    return {
        "status": "running", "dataset": config.dataset, "task": task, "objective": config.objective.name,
        "seed": config.seed, "device": device, "threads": threads, "command": sys.argv, "versions": versions(),
        "input_dims": int(X.shape[2]), "train_shape": list(X.shape), "target_iters": target_iters,
        "target_epochs": config.epochs, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "timings": {"load_data_s": round(data_seconds, 3)},
    }  # fmt: skip


def read_meta(run_dir: Path) -> dict[str, Any] | None:
    """The run's metadata, None when it has none yet; a CheckpointError when the file is damaged."""
    path = run_dir / META
    return read_json(path, "run metadata") if path.exists() else None


def write_meta(run_dir: Path, meta: dict[str, Any]) -> None:
    write_json(run_dir / META, meta)
