"""Loading a run's averaged encoder and the data it should encode."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tscl.config import RunConfig
from tscl.errors import CheckpointError, ConfigError
from tscl.forecasting_protocols import ForecastingSetting
from tscl.paths import PathArg, as_data_dir, as_path, dataset_arg
from tscl.runs.files import read_json_or_none
from tscl.runs.layout import CHECKPOINT, SPLIT, check_run_dir, load_run_config
from tscl.tasks import task_for
from tscl.text import shell
from tscl.training.checkpoint import read_checkpoint
from tscl.training.model import ContrastiveModel
from tscl.training.threads import choose_threads


def load_run(run_dir: Path, device: str = "auto") -> tuple[ContrastiveModel, RunConfig]:
    """The model of a run (from its last checkpoint) and its resolved config."""
    model, config, _ = load_run_checkpoint(run_dir, device)
    return model, config


def load_run_checkpoint(run_dir: Path, device: str = "auto") -> tuple[ContrastiveModel, RunConfig, str]:
    """The model of a run, its resolved config and the sha256 of the checkpoint bytes the model was read from
    (read once: a run still training may replace its checkpoint at any moment)."""
    check_run_dir(run_dir)
    config = load_run_config(run_dir)
    check_has_checkpoint(run_dir, config)
    state, digest = read_checkpoint(run_dir / CHECKPOINT)
    return ContrastiveModel.from_state(state, device, source=str(run_dir / CHECKPOINT)), config, digest


def check_has_checkpoint(run_dir: Path, config: RunConfig) -> None:
    """Refuse a run that has saved no checkpoint yet, saying why (still training, or stopped before its first).

    Raises:
        CheckpointError: With what to do: wait for the first checkpoint, or train the run (``--resume``).
    """
    if (run_dir / CHECKPOINT).exists():
        return
    from tscl.runs.meta import read_meta
    from tscl.runs.state import RUNNING, run_state

    meta = read_meta(run_dir)
    state = run_state(run_dir, meta)
    step = meta.get("step") if isinstance(meta, dict) else None
    if isinstance(step, int):  # meta.json's step is written with each checkpoint: the file went missing since
        raise CheckpointError(f"run {run_dir} must have its checkpoint {CHECKPOINT} but it does not exist (the run "
                              f"saved it at iteration {step}: deleted or moved since?)",
                              hint=f"restore {run_dir / CHECKPOINT}, or train the run again: tscl pretrain --resume "
                              f"{shell(run_dir)}")  # fmt: skip
    if state == RUNNING:
        raise CheckpointError(f"run {run_dir} must have a checkpoint but has none yet: it is still training",
                              hint=f"its first comes at iteration {config.checkpoint_every}; wait for it (see "
                              "`tscl runs`)")  # fmt: skip
    raise CheckpointError(f"run {run_dir} must have a checkpoint but has none: it stopped ({state}) before saving "
                          "its first", hint=f"train it: tscl pretrain --resume {shell(run_dir)}")  # fmt: skip


def load_run_dataset(
    config: RunConfig,
    dataset: str | None = None,
    data_dir: Path | None = None,
    univariate: bool | None = None,
    time_col: str | None = None,
    target: str | None = None,
) -> Any:
    """The run's own dataset, or another one given by name/path (same settings unless overridden)."""
    return load_run_dataset_files(config, dataset, data_dir, univariate, time_col, target)[0]


def load_run_dataset_files(
    config: RunConfig,
    dataset: str | None = None,
    data_dir: Path | None = None,
    univariate: bool | None = None,
    time_col: str | None = None,
    target: str | None = None,
    forecasting: ForecastingSetting | None = None,
    run_dir: Path | None = None,
    split_by: str | None = None,
) -> tuple[Any, tuple[Path, ...]]:
    """:func:`load_run_dataset` and the files it was read from (``forecasting``: the protocol, horizons,
    split and feature mode of a forecasting dataset; a feature mode decides ``univariate``; grouped data: split
    as the run in ``run_dir`` stored it, or by ``split_by``)."""
    from tscl.data.load import load_located
    from tscl.data.locate import locate, locate_path, looks_like_path

    same = dataset is None
    name = str(config.dataset if same else dataset)
    directory = data_dir if data_dir is not None else (Path(config.data_dir) if config.data_dir else None)
    located = locate_path(Path(name)) if looks_like_path(name) else locate(name, directory)
    data = load_located(
        located,
        univariate=config.univariate if univariate is None else univariate,
        time_col=time_col if time_col is not None else (config.time_col if same else None),
        target=target if target is not None else (config.target if same else None),
        forecasting=forecasting,
        grouping=run_grouping(config, run_dir if same else None, split_by),
    )
    return data, located.paths


def run_grouping(config: RunConfig, run_dir: Path | None, split_by: str | None = None) -> Any:
    """Grouped-data settings for evaluating a run: its windows, and its stored split (``split.json``) unless
    ``split_by`` asks for another kind of split (made with the run's split seed)."""
    from tscl.runs.pretraining import grouping_of

    stored = None
    if run_dir is not None and (run_dir / SPLIT).is_file() and split_by in (None, config.split_by or "subject"):
        stored = read_json_or_none(run_dir / SPLIT)
        if stored is None:
            raise CheckpointError(f"{run_dir / SPLIT} is corrupted (not a JSON object)",
                                  hint="pass --split-by to make a new split")  # fmt: skip
    grouping = grouping_of(config, stored)
    return grouping if split_by is None else replace(grouping, split_by=split_by)


def encode_dataset(
    run_dir: PathArg,
    dataset: PathArg | None = None,
    data_dir: PathArg | None = None,
    split: str = "all",
    mode: str = "instance",
    causal_window: int | None = None,
    univariate: bool | None = None,
    time_col: str | None = None,
    target: str | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> np.ndarray:
    """Representations of a dataset with a run's averaged encoder.

    ``threads``: CPU threads (None: the cores other processes leave free, see :mod:`tscl.training.threads`).
    """
    choice = choose_threads(threads)
    if causal_window is not None and causal_window < 1:
        raise ConfigError(f"causal_window must be >= 1 but got {causal_window}")
    if causal_window is not None and mode != "timestamp":
        raise ConfigError(
            "causal_window needs mode timestamp (--mode timestamp)", hint="add --mode timestamp (mode='timestamp')"
        )
    run_dir, dataset, data_dir = as_path(run_dir), dataset_arg(dataset), as_data_dir(data_dir)
    model, config = load_run(run_dir, device)
    model.threads = choice.threads
    data = load_run_dataset_files(config, dataset, data_dir, univariate, time_col, target, run_dir=run_dir)[0]
    task = task_for(data)
    task.check_channels(data, model.input_dims, config.dataset)
    return model.encode(task.split_array(data, split), mode=mode, causal_window=causal_window)
