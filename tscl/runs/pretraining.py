"""Pretraining runs: data -> model -> training with checkpoints, logs and plots in a run directory.

Everything that can fail on bad input (config, data, device) is checked before the run directory is created,
so a failing command leaves nothing behind. Checkpoints are written atomically every ``checkpoint_every``
iterations, at the end, and on SIGINT/SIGTERM; ``resume`` continues exactly from the last one.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tscl.config import RunConfig, check_one_target, dump_config, merge_layers, resolve_for_task
from tscl.data.load import check_forecasting_settings
from tscl.errors import CheckpointError, ConfigError, DataError, warn_user
from tscl.paths import PathArg, as_data_dir, as_optional_path, as_path
from tscl.runs.claim import create_run_dir
from tscl.runs.files import atomic_write_text
from tscl.runs.layout import CHECKPOINT, CONFIG, SPLIT, check_run_dir, default_runs_root, load_run_config
from tscl.runs.lock import ProcessLock
from tscl.runs.meta import new_meta, read_meta, write_meta
from tscl.runs.resuming import (
    check_not_training,
    check_same_processes,
    check_target_ahead,
    extends_target,
    resumed_config,
)
from tscl.runs.run_training import PretrainResult, ProgressHook, pretrain_groups, train_run
from tscl.runs.state import take_run_lock
from tscl.training.checkpoint import current_sha256s, read_checkpoint
from tscl.training.devices import resolve_device
from tscl.training.distributed import Ranks, current_ranks, launch_id
from tscl.training.loop import check_rows_per_rank
from tscl.training.model import ContrastiveModel
from tscl.training.threads import ThreadChoice, thread_scope
from tscl.views.crop import prepare_training_array


def grouping_of(config: RunConfig, stored_split: Mapping[str, Any] | None = None) -> Any:
    """The grouped-data settings of a run configuration (see :class:`tscl.data.grouped.Grouping`)."""
    from tscl.data.grouped import Grouping

    return Grouping(
        config.recording_window, config.recording_stride, config.split_by, config.split_seed or 0, stored_split
    )


def load_training_data(config: RunConfig) -> tuple[Any, np.ndarray]:
    from tscl.data import load_dataset

    data_dir = Path(config.data_dir) if config.data_dir else None
    dataset = load_dataset(
        config.dataset, data_dir, univariate=config.univariate, time_col=config.time_col, target=config.target,
        grouping=grouping_of(config),
    )  # fmt: skip
    return dataset, dataset.pretrain_array()


def build_model(config: RunConfig, input_dims: int, n_covariates: int = 0) -> ContrastiveModel:
    """The model of a task-resolved configuration (see :func:`tscl.config.resolve_for_task`)."""
    return ContrastiveModel.from_config(config, input_dims, n_covariates)


def _covariates(dataset: Any) -> int:
    """Leading calendar channels of the data (forecasting data have them; others have none)."""
    return int(getattr(dataset, "n_covariates", 0) or 0)


def pretrain(
    config: RunConfig | Mapping[str, Any],
    run_dir: PathArg | None = None,
    runs_root: PathArg | None = None,
    on_step: ProgressHook | None = None,
    *,
    forecasting_options_everywhere: bool = False,
) -> PretrainResult:
    """Train a new model as ``config`` says (a RunConfig, or a mapping read as a config file), in a new run directory.

    ``univariate``, ``time_col`` and ``target`` on data of another task than forecasting are refused (they
    would be ignored) unless ``forecasting_options_everywhere``: a sweep's grid gives them to datasets of
    every task, and they apply to its forecasting datasets only.

    Without ``config.threads`` it trains on the cores other processes leave free (:mod:`tscl.training.threads`);
    ``meta.json`` records the count (``threads``) and why (``threads_rule``). torch's count is restored after.
    """
    started = time.perf_counter()
    config = _new_run_config(config)
    directory, root = as_optional_path(run_dir), as_optional_path(runs_root)
    with thread_scope(config.threads) as threads:
        result = _pretrain(config, directory, root, on_step, started, threads, forecasting_options_everywhere)
    _warn(result)
    return result


def _warn(result: PretrainResult) -> None:
    """The run's data warnings as Python warnings too: a script may never read ``result.warnings``."""
    if current_ranks().is_main:
        warn_user(result.warnings, stacklevel=4)


def _new_run_config(config: RunConfig | Mapping[str, Any]) -> RunConfig:
    """``config`` (a mapping is read as a config file is), checked as the command line checks a new run's."""
    if isinstance(config, Mapping):
        config = RunConfig.model_validate(config)
    if not isinstance(config, RunConfig):
        raise ConfigError(
            f"config must be a tscl.RunConfig or a mapping of settings but got {type(config).__name__}",
            hint='e.g. tscl.RunConfig.model_validate({"dataset": "GunPoint", "iters": 50})',
        )
    check_one_target(config)
    return config


def _pretrain(
    config: RunConfig,
    run_dir: Path | None,
    runs_root: Path | None,
    on_step: ProgressHook | None,
    started: float,
    threads: ThreadChoice,
    forecasting_options_everywhere: bool = False,
) -> PretrainResult:
    resolve_device(config.device)
    dataset, X = load_training_data(config)
    if not forecasting_options_everywhere:
        check_forecasting_settings(dataset, config.univariate, config.time_col, config.target)
    config = resolve_for_task(config, dataset.task)
    data_seconds = time.perf_counter() - started
    model = build_model(config, X.shape[2], _covariates(dataset))
    model.threads = threads.threads
    _check_training_data(config, X, model, dataset)  # unusable training data fails before the run exists
    meta = _new_meta(config, dataset, X, model, data_seconds)
    meta["threads_rule"] = threads.rule

    held: list[ProcessLock] = []

    def create() -> Path:
        label = f"{Path(config.dataset).stem}-{config.objective.name}"
        directory = create_run_dir(run_dir, runs_root or default_runs_root(), label)
        held.append(take_run_lock(directory))
        atomic_write_text(directory / CONFIG, dump_config(config))
        if getattr(dataset, "split", None):
            atomic_write_text(directory / SPLIT, json.dumps(dataset.split, indent=1) + "\n")
        write_meta(directory, meta)
        return directory

    try:
        directory = _on_main(model.ranks, create)
        return train_run(model, dataset, X, directory, meta, config, on_step, started)
    finally:
        for lock in held:
            lock.release()


def _on_main(ranks: Ranks, work: Callable[[], Any]) -> Any:
    """``work()`` on rank 0 only (the one that writes), its result - or its error - on every rank."""
    result, error = None, None
    if ranks.is_main:
        try:
            result = work()
        except Exception as exc:
            if not ranks.active:
                raise
            error = exc
    result, error = ranks.broadcast((result, error))
    if error is not None:
        raise error
    return result


def _check_training_data(config: RunConfig, X: np.ndarray, model: ContrastiveModel, dataset: Any = None) -> None:
    prepared = prepare_training_array(X, config.max_train_length)
    check_rows_per_rank(prepared.shape[0], model.ranks)  # under torchrun: before the run directory exists
    check_batches = getattr(model.objective, "check_batches", None)  # an optional objective hook (objectives.base)
    if callable(check_batches):
        check_batches(config.batch_size, prepared.shape)
    smallest = int(getattr(model.objective, "min_group_batch", 0))
    if smallest and pretrain_groups(dataset) is not None and config.batch_size < smallest:
        raise ConfigError(
            f"batch_size must be at least {smallest} for objective {config.objective.name} on grouped data "
            f"but got {config.batch_size}",
            hint="its sampler puts pairs of one recording and of one subject in every batch: pass --batch-size 32",
        )
    minimum = int(getattr(model.objective, "min_length", 1))
    if X.shape[1] < minimum:
        raise DataError(
            f"{config.dataset} must have series of at least {minimum} steps for objective {config.objective.name} "
            f"but has {X.shape[1]}",
            hint="use longer series or another objective (ts2vec works on any length)",
        )


def _new_meta(
    config: RunConfig, dataset: Any, X: np.ndarray, model: ContrastiveModel, data_seconds: float
) -> dict[str, Any]:
    target_iters = config.iters
    if config.iters is None and config.epochs is None:
        target_iters = model.default_iters(X)
    threads = torch.get_num_threads()
    meta = new_meta(config, dataset.task, X, str(model.device), threads, target_iters, data_seconds)
    meta["world_size"] = model.ranks.world_size
    meta["launch_id"] = launch_id()  # a restarted worker continues only its own job's run (cli.pretrain_cmd)
    _record_warnings(meta, dataset, config)
    return meta


def _record_warnings(meta: dict[str, Any], dataset: Any, config: RunConfig) -> None:
    """What the user must be told about the run's data into ``meta["warnings"]``: a leaky split, and data the
    evaluation with its default settings will refuse (its task's ``check_data``: a forecasting series too short
    for the horizons, ...), said now rather than after training."""
    from tscl.data.splits import split_warnings
    from tscl.errors import TsclError
    from tscl.tasks import task_for

    meta.pop("warnings", None)
    warnings = split_warnings(getattr(dataset, "split", None))
    try:
        task_for(dataset).check_data(dataset, config, True)
    except TsclError as refusal:
        hint = f" ({refusal.hint})" if refusal.hint else ""
        warnings.append(f"tscl evaluate will refuse this data with its default settings: {refusal}{hint}")
    if warnings:
        meta["warnings"] = warnings


def resume(
    run_dir: PathArg,
    iters: int | None = None,
    on_step: ProgressHook | None = None,
    data_dir: PathArg | None = None,
    changes: Mapping[str, Any] | None = None,
) -> PretrainResult:
    """Continue the run in ``run_dir`` from its last checkpoint, to its target or to ``iters`` in total.

    Args:
        run_dir: The run directory.
        iters: A new target, in iterations in total.
        on_step: Progress hook.
        data_dir: Where the data is when it has moved since the run started (same files expected).
        changes: Other settings given for the continuation, as a nested layer (flags, ``--set``); only
            :data:`tscl.runs.resuming.RESUMABLE` ones may differ from the run's (see :mod:`tscl.runs.resuming`).

    Returns:
        The result; status ``unchanged`` when a finished run is given no larger target (no file is touched).

    Raises:
        ConfigError: ``changes`` change a setting that is fixed for the run (every one is named).
        CheckpointError: Another process is training the run, or its checkpoint is damaged.
    """
    started = time.perf_counter()
    run_dir, data_dir = as_path(run_dir), as_data_dir(data_dir)
    check_run_dir(run_dir)
    given = {"iters": iters, "data_dir": str(data_dir) if data_dir else None}
    if changes is not None and not isinstance(changes, Mapping):
        raise ConfigError(
            f"changes must be a mapping of settings but got {type(changes).__name__}",
            hint='e.g. changes={"threads": 2}',
        )
    layer = merge_layers(dict(changes or {}), {key: value for key, value in given.items() if value is not None})
    meta = read_meta(run_dir)
    config = resumed_config(load_run_config(run_dir), str((meta or {}).get("task") or ""), layer)
    checkpoint = _CheckpointRead(run_dir / CHECKPOINT)
    if meta is not None and (meta.get("status") == "finished" or layer.keys() & {"iters", "epochs"}):
        meta = _as_far_as_the_checkpoint(checkpoint, meta)
    check_target_ahead(meta, layer)
    if not extends_target(meta, layer):
        assert meta is not None
        return PretrainResult(run_dir, int(meta.get("step") or 0), int(meta.get("epoch") or 0), None, 0.0, "unchanged")
    check_same_processes(run_dir, meta, current_ranks().world_size)
    if not current_ranks().active:  # under torchrun, rank 0 takes the lock and tells every rank (claim below)
        check_not_training(run_dir)
    recorded = (meta or {}).get("threads")
    ceiling = int(recorded) if config.threads is None and isinstance(recorded, int) else None
    with thread_scope(config.threads, ceiling) as threads:
        notes = _thread_notes(threads, ceiling)
        result = _resume(run_dir, config, meta, layer, on_step, started, threads, checkpoint)
    _warn(result)
    return dataclasses.replace(result, notes=notes + result.notes)


class _CheckpointRead:
    """The run's checkpoint, read from disk at most once per resume: the progress check and the model share the
    read (a ``cost`` checkpoint holds 24 M parameters four times over: raw, averaged, AdamW's two moments).
    :meth:`take` hands the state over and forgets it, so it is not kept in memory while the model trains."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read: tuple[dict[str, Any], str] | None = None

    def exists(self) -> bool:
        return self._read is not None or self.path.exists()

    def progress(self) -> dict[str, Any]:
        if self._read is None:
            self._read = read_checkpoint(self.path)
        return dict(self._read[0]["progress"])

    def take(self) -> tuple[dict[str, Any], str]:
        """The state and the sha256 of the bytes it was read from (read now unless :meth:`progress` read it)."""
        read, self._read = self._read or read_checkpoint(self.path), None
        return read


def _as_far_as_the_checkpoint(checkpoint: _CheckpointRead, meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with the step and epoch of the run's checkpoint when it is behind them (a checkpoint put back
    from ``last.previous.pt``, or a run killed before its last one): training continues from the checkpoint,
    so a run "finished" at a later step is not finished, and a target between the two is not below it."""
    if not checkpoint.exists():
        return meta
    progress = checkpoint.progress()
    step, epoch = int(progress["step"]), int(progress["epoch"])
    if step >= int(meta.get("step") or 0):
        return meta
    return {**meta, "step": step, "epoch": epoch, "status": "interrupted"}


def _thread_notes(threads: ThreadChoice, recorded: int | None) -> tuple[str, ...]:
    """Say so when a resumed run continues on fewer threads than it ran on (the last digits may differ)."""
    if recorded is None or threads.threads >= recorded:
        return ()
    return (
        f"continued on {threads.threads} thread(s), the run had {recorded} ({threads.rule}): the result may "
        f"differ from an uninterrupted run in the last digits; --threads {recorded} keeps it exact",
    )


def _resume(
    run_dir: Path,
    config: RunConfig,
    meta: dict[str, Any] | None,
    layer: dict[str, Any],
    on_step: ProgressHook | None,
    started: float,
    threads: ThreadChoice,
    checkpoint: _CheckpointRead,
) -> PretrainResult:
    dataset, X = load_training_data(config)
    config = resolve_for_task(config, dataset.task)  # a tscl 0.1 config.toml gets every option written out
    model, digest = _resumed_model(checkpoint, config, dataset, X)
    model.threads = threads.threads
    if meta is None:  # killed between writing config.toml and meta.json
        meta = _new_meta(config, dataset, X, model, 0.0)
    if layer.keys() & {"iters", "epochs"}:
        meta.update(target_iters=config.iters, target_epochs=config.epochs)
    meta.update(device=str(model.device), threads=threads.threads, threads_rule=threads.rule)
    _record_warnings(meta, dataset, config)  # also for runs made before meta.json kept them
    held: list[ProcessLock] = []
    try:
        _on_main(model.ranks, lambda: held.append(_claim_for_resume(run_dir, config, digest)))
        meta["resumed"] = meta.get("resumed", 0) + 1
        meta["world_size"] = model.ranks.world_size  # as before (check_same_processes), or a run starting over
        meta["launch_id"] = launch_id()
        timings = meta.setdefault("timings", {})
        # Time of earlier sessions: at least their training time (a killed session recorded no total).
        earlier = max(float(timings.get("total_s") or 0.0), model.progress.train_seconds)
        timings["load_data_s"] = round(time.perf_counter() - started, 3)
        return train_run(model, dataset, X, run_dir, meta, config, on_step, started, earlier)
    finally:
        for lock in held:
            lock.release()


def _resumed_model(
    checkpoint: _CheckpointRead, config: RunConfig, dataset: Any, X: np.ndarray
) -> tuple[ContrastiveModel, str | None]:
    """The model in the run's last checkpoint and the checkpoint's sha256 (None: no checkpoint yet)."""
    if not checkpoint.exists():  # killed before the first checkpoint: start over, same seed, same result
        return build_model(config, X.shape[2], _covariates(dataset)), None
    state, digest = checkpoint.take()
    return ContrastiveModel.from_state(state, config.device, source=str(checkpoint.path)), digest


def _claim_for_resume(run_dir: Path, config: RunConfig, digest: str | None) -> ProcessLock:
    """Take the run's lock (held until training ends) and write the continued configuration."""
    lock = take_run_lock(run_dir)
    checkpoint = run_dir / CHECKPOINT
    try:
        # Another process may have trained the run between the check and the lock: then the state read is old.
        if checkpoint.exists() if digest is None else digest not in (current_sha256s(checkpoint) or {digest}):
            raise CheckpointError(f"run {run_dir} changed while it was being resumed", hint="resume it again")
        atomic_write_text(run_dir / CONFIG, dump_config(config))
    except BaseException:
        lock.release()
        raise
    return lock
