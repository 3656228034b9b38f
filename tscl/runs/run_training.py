"""Training inside a run directory: checkpoints, losses, diagnostics, the representation report and plots.

Only rank 0 of a process group writes (the other ranks hold the same state). Checkpoints are written every
``checkpoint_every`` iterations, at the end, and when a signal stops training after the current iteration
(the run's status is then ``interrupted`` and :class:`tscl.runs.interrupt.Interrupted` is raised).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tscl.config import RunConfig
from tscl.errors import DivergedError
from tscl.runs.diagnostics import plot_diagnostics, read_diagnostics, representation_report, write_diagnostics
from tscl.runs.interrupt import Interrupted, stop_on_signals
from tscl.runs.layout import CHECKPOINT, DIAGNOSTICS, LOSSES, PLOTS
from tscl.runs.logs import import_plotting_in_background, plot_losses, write_losses
from tscl.runs.meta import read_meta, write_meta
from tscl.training.checkpoint import save_checkpoint
from tscl.training.model import ContrastiveModel

__all__ = ["PretrainResult", "ProgressHook", "pretrain_groups", "save_run_state", "train_run"]

ProgressHook = Callable[[int, int, float], None]


@dataclass
class PretrainResult:
    run_dir: Path
    steps: int
    epochs: int
    final_loss: float | None
    seconds: float
    status: str
    notes: tuple[str, ...] = ()  # the objective's run notes (meta.json's ``notes``), then this session's
    warnings: tuple[str, ...] = ()  # about the run's data (meta.json's ``warnings``), e.g. a leaky split

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir), "steps": self.steps, "epochs": self.epochs,
            "final_loss": self.final_loss, "seconds": round(self.seconds, 3), "status": self.status,
            "notes": list(self.notes), "warnings": list(self.warnings),
        }  # fmt: skip


def save_run_state(
    model: ContrastiveModel,
    directory: Path,
    meta: dict[str, Any],
    status: str,
    diagnostics: list[dict[str, float]],
    total_s: float,
) -> None:
    began = time.perf_counter()
    model.save(directory / CHECKPOINT, keep_previous=True)
    artifacts = getattr(model.objective, "artifacts", None)  # models of its own the objective keeps as files
    for name, state in (artifacts() if callable(artifacts) else {}).items():
        save_checkpoint(directory / CHECKPOINT.parent / name, state)
    epoch_log = getattr(model.objective, "epoch_log", None)  # per-epoch records of objectives that keep some
    write_losses(directory / LOSSES, model.progress.losses, epoch_log)
    if epoch_log:
        meta["objective_log"] = epoch_log
    if diagnostics:
        write_diagnostics(directory / DIAGNOSTICS, diagnostics)
    meta.update(status=status, step=model.progress.step, epoch=model.progress.epoch)
    timings = meta["timings"]
    timings["train_s"] = round(model.progress.train_seconds, 3)
    timings["checkpoints_s"] = round(timings.get("checkpoints_s", 0.0) + time.perf_counter() - began, 3)
    timings["total_s"] = round(total_s, 3)
    write_meta(directory, meta)


def _diverged_hint(directory: Path, config: RunConfig) -> str:
    """What to do after the loss diverged, naming the checkpoint that is kept only if there is one."""
    lower = f"lower the learning rate (now {config.lr:g}) and start a new run, e.g. --lr {config.lr / 10:g}"
    checkpoint = directory / CHECKPOINT
    step = (read_meta(directory) or {}).get("step")
    if not checkpoint.is_file() or not step:
        return (
            f"{lower}; no checkpoint was written before it diverged (the first comes at iteration "
            f"{config.checkpoint_every})"
        )
    return f"{lower}; the run's last checkpoint, {checkpoint} (iteration {step}, before the divergence), is kept"


def train_run(
    model: ContrastiveModel,
    dataset: Any,
    X: np.ndarray,
    directory: Path,
    meta: dict[str, Any],
    config: RunConfig,
    on_step: ProgressHook | None,
    started: float,
    earlier_s: float = 0.0,
) -> PretrainResult:
    """Train to the targets in ``meta``; ``earlier_s``: seconds of the run's earlier sessions (resumed runs)."""
    target_iters, target_epochs = meta.get("target_iters"), meta.get("target_epochs")
    meta.pop("notes", None)  # an earlier session's, about training that goes on now
    total = target_iters or 0
    diagnostics = read_diagnostics(directory / DIAGNOSTICS, model.progress.step)
    main = model.ranks.is_main  # only rank 0 writes; the other ranks hold the same state

    def after_step(m: ContrastiveModel, loss: float) -> None:
        values = getattr(m.objective, "diagnostics", None)
        if values:
            diagnostics.append({"step": float(m.progress.step), **values})
        if main and m.progress.step % config.checkpoint_every == 0:
            save_run_state(m, directory, meta, "running", diagnostics, earlier_s + time.perf_counter() - started)
        if on_step is not None:
            on_step(m.progress.step, total, loss)

    if main:
        import_plotting_in_background()
    try:
        with stop_on_signals() as received:
            model.fit(X, target_iters, target_epochs, callback=after_step, should_stop=lambda: bool(received["signal"]),
                      groups=pretrain_groups(dataset))  # fmt: skip
    except BaseException as exc:
        if main:
            meta["status"] = "failed"
            write_meta(directory, meta)
        if isinstance(exc, DivergedError):
            raise DivergedError(exc.message, _diverged_hint(directory, config), exc.step) from None
        raise
    # A signal to any rank stops every rank after the same iteration (training.distributed).
    stopped = received["signal"]
    if model.ranks.active and not stopped and not model.reached(target_iters, target_epochs):
        stopped = "another rank's signal"
    if not stopped:
        _record_notes(meta, model.objective)
    if not main:
        if stopped:
            raise Interrupted.training(directory, model.progress.step, stopped, model.ranks.world_size)
        return _result(model, directory, started, meta)
    if not stopped:
        began = time.perf_counter()
        meta["representation"] = representation_report(model, dataset, seed=config.seed)
        meta["timings"]["representation_s"] = round(time.perf_counter() - began, 3)
    status = "interrupted" if stopped else "finished"
    save_run_state(model, directory, meta, status, diagnostics, earlier_s + time.perf_counter() - started)
    title = f"{config.dataset} · {config.objective.name}"
    began = time.perf_counter()
    if model.progress.losses:
        plot_losses(directory / PLOTS / "loss.png", model.progress.losses, title)
    if diagnostics:
        plot_diagnostics(directory / PLOTS / "diagnostics.png", diagnostics, title)
    meta["timings"]["plots_s"] = round(time.perf_counter() - began, 3)
    meta["timings"]["total_s"] = round(earlier_s + time.perf_counter() - started, 3)
    write_meta(directory, meta)
    if stopped:
        raise Interrupted.training(directory, model.progress.step, stopped, model.ranks.world_size)
    return _result(model, directory, started, meta)


def pretrain_groups(dataset: Any) -> Mapping[str, np.ndarray] | None:
    """Group ids of the pretraining rows (grouped data), for objectives that contrast by id."""
    groups = getattr(dataset, "pretrain_groups", None)
    return groups() if callable(groups) else None


def _record_notes(meta: dict[str, Any], objective: Any) -> None:
    """What the objective says about the finished run (its ``run_notes`` hook, see :mod:`tscl.objectives.base`)
    into ``meta["notes"]``, beside the data's ``warnings``."""
    run_notes = getattr(objective, "run_notes", None)
    notes = list(run_notes()) if callable(run_notes) else []
    if notes:
        meta["notes"] = notes


def _result(model: ContrastiveModel, directory: Path, started: float, meta: Mapping[str, Any]) -> PretrainResult:
    losses = model.progress.losses
    return PretrainResult(
        directory, model.progress.step, model.progress.epoch, losses[-1] if losses else None,
        time.perf_counter() - started, "finished", tuple(meta.get("notes", ())), tuple(meta.get("warnings", ())),
    )  # fmt: skip
