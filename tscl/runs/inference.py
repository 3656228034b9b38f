"""Loading a run's averaged encoder and the data it should encode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tscl.config import RunConfig, load_config
from tscl.errors import ConfigError
from tscl.runs.layout import CHECKPOINT, CONFIG, check_run_dir
from tscl.tasks import task_for
from tscl.training.model import ContrastiveModel


def load_run(run_dir: Path, device: str = "auto") -> tuple[ContrastiveModel, RunConfig]:
    """The model of a run (from its last checkpoint) and its resolved config."""
    check_run_dir(run_dir)
    config = load_config(run_dir / CONFIG)
    return ContrastiveModel.load(run_dir / CHECKPOINT, device=device), config


def load_run_dataset(
    config: RunConfig,
    dataset: str | None = None,
    data_dir: Path | None = None,
    univariate: bool | None = None,
    time_col: str | None = None,
    target: str | None = None,
) -> Any:
    """The run's own dataset, or another one given by name/path (same settings unless overridden)."""
    from tscl.data import load_dataset

    same = dataset is None
    name = config.dataset if same else dataset
    directory = data_dir if data_dir is not None else (Path(config.data_dir) if config.data_dir else None)
    return load_dataset(
        name,  # type: ignore[arg-type]
        directory,
        univariate=config.univariate if univariate is None else univariate,
        time_col=time_col if time_col is not None else (config.time_col if same else None),
        target=target if target is not None else (config.target if same else None),
    )


def encode_dataset(
    run_dir: Path,
    dataset: str | None = None,
    data_dir: Path | None = None,
    split: str = "all",
    mode: str = "instance",
    causal_window: int | None = None,
    univariate: bool | None = None,
    time_col: str | None = None,
    target: str | None = None,
    device: str = "auto",
) -> np.ndarray:
    """Representations of a dataset with a run's averaged encoder."""
    if causal_window is not None and causal_window < 1:
        raise ConfigError(f"causal_window must be >= 1 but got {causal_window}")
    if causal_window is not None and mode != "timestamp":
        raise ConfigError("causal_window needs --mode timestamp", hint="add --mode timestamp")
    model, config = load_run(run_dir, device)
    data = load_run_dataset(config, dataset, data_dir, univariate, time_col, target)
    task = task_for(data)
    task.check_channels(data, model.input_dims, config.dataset)
    return model.encode(task.split_array(data, split), mode=mode, causal_window=causal_window)
