"""Pretraining runs: data -> model -> training with checkpoints, logs and plots in a run directory.

Everything that can fail on bad input (config, data, device) is checked before the run directory is created,
so a failing command leaves nothing behind. Checkpoints are written atomically every ``checkpoint_every``
iterations, at the end, and on SIGINT/SIGTERM; ``resume`` continues exactly from the last one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tscl.config import RunConfig, dump_config, load_config, resolve_for_task
from tscl.errors import DataError
from tscl.runs.claim import create_run_dir
from tscl.runs.diagnostics import plot_diagnostics, read_diagnostics, representation_report, write_diagnostics
from tscl.runs.files import atomic_write_text
from tscl.runs.interrupt import Interrupted, stop_on_signals
from tscl.runs.layout import CHECKPOINT, CONFIG, DIAGNOSTICS, LOSSES, PLOTS, check_run_dir, default_runs_root
from tscl.runs.logs import plot_losses, write_losses
from tscl.runs.meta import new_meta, read_meta, write_meta
from tscl.training.distributed import Ranks
from tscl.training.model import ContrastiveModel, resolve_device
from tscl.views.crop import prepare_training_array

ProgressHook = Callable[[int, int, float], None]


@dataclass
class PretrainResult:
    run_dir: Path
    steps: int
    epochs: int
    final_loss: float | None
    seconds: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir), "steps": self.steps, "epochs": self.epochs,
            "final_loss": self.final_loss, "seconds": round(self.seconds, 3), "status": self.status,
        }  # fmt: skip


def load_training_data(config: RunConfig) -> tuple[Any, np.ndarray]:
    from tscl.data import load_dataset

    data_dir = Path(config.data_dir) if config.data_dir else None
    dataset = load_dataset(
        config.dataset, data_dir, univariate=config.univariate, time_col=config.time_col, target=config.target
    )
    return dataset, dataset.pretrain_array()


def build_model(config: RunConfig, input_dims: int, n_covariates: int = 0) -> ContrastiveModel:
    """The model of a task-resolved configuration (see :func:`tscl.config.resolve_for_task`)."""
    return ContrastiveModel.from_config(config, input_dims, n_covariates)


def _covariates(dataset: Any) -> int:
    """Leading calendar channels of the data (forecasting data have them; others have none)."""
    return int(getattr(dataset, "n_covariates", 0) or 0)


def pretrain(
    config: RunConfig,
    run_dir: Path | None = None,
    runs_root: Path | None = None,
    on_step: ProgressHook | None = None,
) -> PretrainResult:
    """Train a new model as ``config`` says, in a new run directory."""
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    resolve_device(config.device)
    dataset, X = load_training_data(config)
    config = resolve_for_task(config, dataset.task)
    data_seconds = time.perf_counter() - started
    model = build_model(config, X.shape[2], _covariates(dataset))
    _check_training_data(config, X, model)  # unusable training data fails before the run exists
    meta = _new_meta(config, dataset, X, model, data_seconds)

    def create() -> Path:
        label = f"{Path(config.dataset).stem}-{config.objective.name}"
        directory = create_run_dir(run_dir, runs_root or default_runs_root(), label)
        atomic_write_text(directory / CONFIG, dump_config(config))
        write_meta(directory, meta)
        return directory

    directory = _on_main(model.ranks, create)
    return _train(model, dataset, X, directory, meta, config, on_step, started)


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


def _check_training_data(config: RunConfig, X: np.ndarray, model: ContrastiveModel) -> None:
    prepare_training_array(X, config.max_train_length)
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
    return meta


def resume(
    run_dir: Path, iters: int | None = None, on_step: ProgressHook | None = None, data_dir: Path | None = None
) -> PretrainResult:
    """Continue the run in ``run_dir`` from its last checkpoint, to its target or to ``iters`` in total.

    ``data_dir`` points at the data when it has moved since the run started (same files expected).
    """
    started = time.perf_counter()
    check_run_dir(run_dir)
    config = load_config(run_dir / CONFIG)
    if iters is not None:
        config = config.replace(iters=iters)
    if data_dir is not None:
        config = config.replace(data_dir=str(data_dir))
    if config.threads:
        torch.set_num_threads(config.threads)
    dataset, X = load_training_data(config)
    config = resolve_for_task(config, dataset.task)  # a tscl 0.1 config.toml gets every option written out
    checkpoint = run_dir / CHECKPOINT
    if checkpoint.exists():
        model = ContrastiveModel.load(checkpoint, device=config.device)
    else:  # killed before the first checkpoint: start over, same seed, same result
        model = build_model(config, X.shape[2], _covariates(dataset))
    meta = read_meta(run_dir)
    if meta is None:  # killed between writing config.toml and meta.json
        meta = _new_meta(config, dataset, X, model, 0.0)
    if iters is not None:
        meta["target_iters"] = iters
    if model.ranks.is_main:
        atomic_write_text(run_dir / CONFIG, dump_config(config))
    meta["resumed"] = meta.get("resumed", 0) + 1
    meta["world_size"] = model.ranks.world_size  # the same as before: the continuation is exact
    meta["timings"]["load_data_s"] = round(time.perf_counter() - started, 3)
    return _train(model, dataset, X, run_dir, meta, config, on_step, started)


def _save(
    model: ContrastiveModel,
    directory: Path,
    meta: dict[str, Any],
    status: str,
    diagnostics: list[dict[str, float]],
) -> None:
    began = time.perf_counter()
    model.save(directory / CHECKPOINT, keep_previous=True)
    write_losses(directory / LOSSES, model.progress.losses)
    if diagnostics:
        write_diagnostics(directory / DIAGNOSTICS, diagnostics)
    meta.update(status=status, step=model.progress.step, epoch=model.progress.epoch)
    timings = meta["timings"]
    timings["train_s"] = round(model.progress.train_seconds, 3)
    timings["checkpoints_s"] = round(timings.get("checkpoints_s", 0.0) + time.perf_counter() - began, 3)
    write_meta(directory, meta)


def _train(
    model: ContrastiveModel,
    dataset: Any,
    X: np.ndarray,
    directory: Path,
    meta: dict[str, Any],
    config: RunConfig,
    on_step: ProgressHook | None,
    started: float,
) -> PretrainResult:
    target_iters, target_epochs = meta.get("target_iters"), meta.get("target_epochs")
    total = target_iters or 0
    diagnostics = read_diagnostics(directory / DIAGNOSTICS, model.progress.step)
    main = model.ranks.is_main  # only rank 0 writes; the other ranks hold the same state

    def after_step(m: ContrastiveModel, loss: float) -> None:
        values = getattr(m.objective, "diagnostics", None)
        if values:
            diagnostics.append({"step": float(m.progress.step), **values})
        if main and m.progress.step % config.checkpoint_every == 0:
            _save(m, directory, meta, "running", diagnostics)
        if on_step is not None:
            on_step(m.progress.step, total, loss)

    try:
        with stop_on_signals() as received:
            model.fit(X, target_iters, target_epochs, callback=after_step, should_stop=lambda: bool(received["signal"]))
    except BaseException:
        if main:
            meta["status"] = "failed"
            write_meta(directory, meta)
        raise
    # A signal to any rank stops every rank after the same iteration (training.distributed).
    stopped = received["signal"]
    if model.ranks.active and not stopped and not model.reached(target_iters, target_epochs):
        stopped = "another rank's signal"
    if not main:
        if stopped:
            raise Interrupted.training(directory, model.progress.step, stopped)
        return _result(model, directory, started)
    if not stopped:
        began = time.perf_counter()
        meta["representation"] = representation_report(model, dataset, seed=config.seed)
        meta["timings"]["representation_s"] = round(time.perf_counter() - began, 3)
    _save(model, directory, meta, "interrupted" if stopped else "finished", diagnostics)
    title = f"{config.dataset} · {config.objective.name}"
    began = time.perf_counter()
    if model.progress.losses:
        plot_losses(directory / PLOTS / "loss.png", model.progress.losses, title)
    if diagnostics:
        plot_diagnostics(directory / PLOTS / "diagnostics.png", diagnostics, title)
    meta["timings"]["plots_s"] = round(time.perf_counter() - began, 3)
    meta["timings"]["total_s"] = round(time.perf_counter() - started, 3)
    write_meta(directory, meta)
    if stopped:
        raise Interrupted.training(directory, model.progress.step, stopped)
    return _result(model, directory, started)


def _result(model: ContrastiveModel, directory: Path, started: float) -> PretrainResult:
    losses = model.progress.losses
    return PretrainResult(
        directory, model.progress.step, model.progress.epoch, losses[-1] if losses else None,
        time.perf_counter() - started, "finished",
    )  # fmt: skip
