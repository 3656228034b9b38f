"""Loading a run's averaged encoder and the data it should encode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tscl.config import RunConfig, load_config
from tscl.errors import ConfigError, DataError
from tscl.model import ContrastiveModel
from tscl.rundir import CHECKPOINT, check_run_dir


def load_run(run_dir: Path, device: str = "auto") -> tuple[ContrastiveModel, RunConfig]:
    """The model of a run (from its last checkpoint) and its resolved config."""
    check_run_dir(run_dir)
    config = load_config(run_dir / "config.toml")
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


def check_channels(data: Any, input_dims: int | None, config: RunConfig) -> None:
    """Refuse data whose channel count differs from the encoder's input, naming both datasets."""
    found = int(data.data.shape[-1] if data.task == "forecasting" else data.X_train.shape[2])
    if input_dims is None or found == input_dims:
        return
    setting = " and the same --univariate/--multivariate setting" if data.task == "forecasting" else ""
    raise DataError(
        f"{data.name} must have {input_dims} channels like {config.dataset}, the run's pretraining data, "
        f"but got {found}",
        f"use data with the same variables{setting} as the run, or pretrain a run on {data.name}",
    )


def dataset_split(data: Any, split: str) -> np.ndarray:
    """Array of a classification split (train/test/all) or a forecasting dataset's whole series."""
    if data.task == "forecasting":
        return data.data
    if split == "train":
        return data.X_train
    if split == "test":
        return data.X_test
    if split == "all":
        if data.X_test is None:
            return data.X_train
        length = max(data.X_train.shape[1], data.X_test.shape[1])
        parts = [np.pad(x, ((0, 0), (0, length - x.shape[1]), (0, 0)), constant_values=np.nan)
                 for x in (data.X_train, data.X_test)]  # fmt: skip
        return np.concatenate(parts)
    raise ConfigError(f"split must be train, test or all but got {split!r}")


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
    check_channels(data, model.input_dims, config)
    return model.encode(dataset_split(data, split), mode=mode, causal_window=causal_window)
