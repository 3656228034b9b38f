"""The training loop behind ``ContrastiveModel.fit``: batches in epoch order, one objective step each.

Each rank of a process group (torchrun) trains ``batch_size`` rows of every global batch; the step's random
choices draw from the model's generator (dropout from a seed drawn from it), so a run resumed from a
checkpoint continues exactly. After every step the averaged encoder takes the new weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from tscl.errors import DataError, DivergedError
from tscl.kernels.optim import update_average
from tscl.training.devices import rng_devices
from tscl.training.memory import BoundedHeap
from tscl.views.crop import prepare_training_array

if TYPE_CHECKING:
    from tscl.training.distributed import Ranks
    from tscl.training.model import ContrastiveModel, StepCallback

__all__ = ["check_rows_per_rank", "fit_loop", "reached"]


def reached(model: ContrastiveModel, n_iters: int | None, n_epochs: int | None) -> bool:
    """Whether training has reached ``n_iters`` total iterations or ``n_epochs`` total epochs."""
    if n_iters is not None and model.progress.step >= n_iters:
        return True
    return n_epochs is not None and model.progress.epoch >= n_epochs


def check_rows_per_rank(rows: int, ranks: Ranks) -> None:
    """Raise unless the training array has at least one series for each process of the group."""
    if rows < ranks.world_size:
        raise DataError(
            f"training data must have at least one series per process ({ranks.world_size}) but has {rows}",
            hint="start fewer processes (torchrun --nproc_per_node)",
        )


def fit_loop(
    model: ContrastiveModel,
    X: np.ndarray,
    n_iters: int | None,
    n_epochs: int | None,
    callback: StepCallback | None,
    should_stop: Callable[[], bool] | None,
    groups: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Train a built ``model`` on checked ``X`` [N, T, C] up to the targets (see ``ContrastiveModel.fit``)."""
    train = torch.from_numpy(prepare_training_array(X, model.config.max_train_length))
    ranks = model.ranks
    check_rows_per_rank(train.shape[0], ranks)
    # Each rank trains ``batch_size`` rows of every global batch of batch_size * world_size rows.
    batch_size = min(model.config.batch_size, train.shape[0] // ranks.world_size)
    global_batch = batch_size * ranks.world_size
    n_batches = train.shape[0] // global_batch
    prog = model.progress
    ids = _group_ids(model.objective, groups, train.shape[0])
    _plan_objective(model.objective, n_iters, n_epochs, n_batches)
    model.net.train()
    heap = BoundedHeap(model.device)  # memory stays flat over varying crop lengths (see training.memory)
    while not reached(model, n_iters, n_epochs):
        if prog.epoch_position == 0:
            prog.epoch_order = _epoch_order(model.objective, model.generator, train.shape[0], global_batch, ids)
        start = prog.epoch_position * global_batch
        index = ranks.rows(prog.epoch_order[start : start + global_batch])
        began = time.perf_counter()
        with heap.step():
            batch_ids = None if ids is None else {k: v[index] for k, v in ids.items()}
            loss = _train_step(model, train[index], index, batch_ids)
        loss, stop = ranks.agree(loss, should_stop is not None and should_stop())
        prog.train_seconds += time.perf_counter() - began
        if not np.isfinite(loss):
            raise DivergedError(
                f"the loss must stay finite but is {loss} at iteration {prog.step + 1}: training diverged",
                hint=f"lower the learning rate (now {model.config.lr:g}); the model keeps its last finite state",
                step=prog.step + 1,
            )
        prog.step += 1
        prog.losses.append(loss)
        prog.epoch_position += 1
        if prog.epoch_position == n_batches:
            done = prog.losses[-n_batches:]
            prog.epoch_losses.append(float(np.mean(done)))
            prog.epoch += 1
            prog.epoch_position = 0
        if callback is not None:
            callback(model, loss)
        if stop:
            break


def _group_ids(objective: Any, groups: Mapping[str, np.ndarray] | None, n: int) -> dict[str, torch.Tensor] | None:
    """Integer id tensors for an objective that uses groups (each row its own group when there are none)."""
    if not getattr(objective, "uses_groups", False):
        return None
    if groups is None:
        return {"subject": torch.arange(n), "trial": torch.arange(n)}
    ids = {key: torch.as_tensor(np.asarray(values), dtype=torch.long) for key, values in groups.items()}
    if any(len(values) != n for values in ids.values()):
        raise DataError(f"group ids must have one entry per training series ({n}) but got "
                        f"{ {k: len(v) for k, v in ids.items()} }")  # fmt: skip
    return ids


def _epoch_order(
    objective: Any, generator: torch.Generator, n: int, batch: int, ids: Mapping[str, torch.Tensor] | None
) -> list[int]:
    """Row order of a new epoch: the objective's batch sampler when it has one, else a random permutation."""
    sampler = getattr(objective, "epoch_order", None)
    if ids is not None and callable(sampler):
        return list(sampler(ids, batch, generator))
    return torch.randperm(n, generator=generator).tolist()


def _plan_objective(objective: Any, n_iters: int | None, n_epochs: int | None, iters_per_epoch: int) -> None:
    """Tell an objective that schedules by the length of training (``plan``) the iterations planned in total."""
    plan = getattr(objective, "plan", None)
    if not callable(plan):
        return
    planned = [n for n in (n_iters, None if n_epochs is None else n_epochs * iters_per_epoch) if n is not None]
    plan(min(planned), iters_per_epoch)


def _train_step(
    model: ContrastiveModel, x: torch.Tensor, index: list[int], ids: Mapping[str, torch.Tensor] | None = None
) -> float:
    max_len = model.config.max_train_length
    if max_len is not None and x.size(1) > max_len:
        offset = int(torch.randint(0, x.size(1) - max_len + 1, (1,), generator=model.generator))
        x = x[:, offset : offset + max_len]
    x = x.to(model.device)
    # Dropout draws from torch's global RNG: give it a seed from our generator, restore it afterwards (each
    # rank of a distributed run its own).
    dropout_seed = int(torch.randint(0, 2**62, (1,), generator=model.generator)) + model.ranks.rank
    objective = model.objective
    with torch.random.fork_rng(devices=rng_devices(model.device)):
        torch.manual_seed(dropout_seed)
        # Objectives that keep per-series state (takes_index) are told which training series the rows are;
        # objectives that use groups get the rows' group ids.
        rows: dict[str, Any] = {}
        if getattr(objective, "takes_index", False):
            rows["index"] = torch.tensor(index)
        if ids is not None:
            rows["ids"] = {key: value.to(model.device) for key, value in ids.items()}
        loss: float = objective.training_step(x, model.generator, **rows)
    # A step that left the encoder alone (encoder_stepped False, e.g. training a helper model first) is
    # not a sample of the encoder's average.
    if getattr(objective, "encoder_stepped", True):
        update_average(model.averaged, model.net)
    return loss
