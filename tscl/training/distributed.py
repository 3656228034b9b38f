"""Data-parallel training across processes: the process group, gradient averaging and gathered negatives.

``torchrun --nproc_per_node=N -m tscl pretrain ...`` starts N processes (ranks); each trains the same model on
its own rows of every global batch, and the ranks stay identical because

* every rank builds the model from the run seed and draws from the *same* generator (so crop windows, the
  epoch order and every other random choice agree), taking its own rows of each global batch of N·B series;
* before every optimizer step (the encoder's and any other the objective owns, e.g. AutoTCL's augmentation
  network), the gradients are averaged over the ranks in one all-reduce, so every rank applies the same update
  (the arithmetic of ``DistributedDataParallel``; done at the optimizer, not by wrapping the encoder, because
  objectives call their encoder several times per step and freeze it for some steps, which DDP's reducer does
  not allow);
* the reported loss is the ranks' mean, and a stop request (SIGINT/SIGTERM on any rank) is agreed on in the
  same all-reduce, so every rank stops after the same iteration.

With ``gather_negatives`` the loss's two inputs are all-gathered (differentiably) before it runs, so each rank
contrasts its views against the whole global batch: with the same crops, N ranks with batch B compute the loss
of one process with batch N·B and, after averaging, its gradient.

Only rank 0 writes the run directory; since every rank holds the same state, its checkpoint resumes all of them.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
from torch import nn

from tscl.errors import TrainingError

__all__ = ["Ranks", "current_ranks", "init_from_env", "launched_by_torchrun", "shutdown"]

# How long a rank waits in a collective for the others before giving up (a dead peer is usually detected at
# once through the closed connection; this bounds the cases where it is not).
COLLECTIVE_TIMEOUT = timedelta(minutes=10)


class PeerLost(TrainingError):
    """A collective operation failed: another rank died or cannot be reached."""


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rows(self, global_rows: list[int]) -> list[int]:
        """This rank's share of a global batch: the ``rank``-th of ``world_size`` equal slices."""
        size = len(global_rows) // self.world_size
        return global_rows[self.rank * size : (self.rank + 1) * size]

    def agree(self, loss: float, stop: bool) -> tuple[float, bool]:
        """The mean loss over the ranks and whether any rank asks to stop (one all-reduce)."""
        if not self.active:
            return loss, stop
        values = torch.tensor([loss, 1.0 if stop else 0.0], dtype=torch.float64, device=_collective_device())
        with _collective("agreeing on the loss"):
            torch.distributed.all_reduce(values)
        return float(values[0]) / self.world_size, bool(values[1] > 0)

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (any picklable object)."""
        if not self.active:
            return value
        box = [value]
        with _collective("receiving rank 0's setup"):
            torch.distributed.broadcast_object_list(box, src=0, device=_collective_device())
        return box[0]


def launched_by_torchrun() -> bool:
    """True in a process that torchrun (or another launcher setting its variables) started as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def restart_count() -> int:
    """How often torchrun's elastic agent has restarted the workers (0 on the first attempt)."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))


def launch_id() -> str | None:
    """The id of the torchrun job this process belongs to (its rendezvous id; None outside torchrun).

    The same across the restarts of one job, another for each ``torchrun --standalone`` command.
    """
    return os.environ.get("TORCHELASTIC_RUN_ID") if launched_by_torchrun() else None


def current_ranks() -> Ranks:
    """This process's ranks: from the initialised default process group, else a single process."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return Ranks()
    return Ranks(torch.distributed.get_rank(), torch.distributed.get_world_size())


def init_from_env(device: str) -> Ranks:
    """Join the process group torchrun describes in the environment (gloo on CPU, NCCL on CUDA).

    On CUDA each process takes the GPU of its ``LOCAL_RANK``. Returns this process's ranks.
    """
    if torch.distributed.is_initialized():
        return current_ranks()
    if not torch.distributed.is_available():
        raise TrainingError(
            "this torch build must support torch.distributed to train on several processes but does not",
            hint="install a torch build with distributed support, or run one process",
        )
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    backend = "nccl" if use_cuda else "gloo"
    _bind_group_defaults_before_the_group_exists()
    try:
        # The launcher's store outlives a restart of the workers: keys of the previous attempt (the dead
        # processes' addresses) must not be read by the new one, so each attempt gets its own prefix.
        store, rank, world_size = next(torch.distributed.rendezvous("env://", timeout=COLLECTIVE_TIMEOUT))
        store = torch.distributed.PrefixStore(f"tscl/attempt-{restart_count()}", store)
        torch.distributed.init_process_group(
            backend=backend, store=store, rank=rank, world_size=world_size, timeout=COLLECTIVE_TIMEOUT
        )
    except (RuntimeError, ValueError) as exc:
        raise TrainingError(
            f"the {backend} process group must start but failed: {str(exc).splitlines()[0][:200]}",
            hint="check MASTER_ADDR/MASTER_PORT and that every node runs the same torchrun command",
        ) from None
    return current_ranks()


def local_device(device: str) -> str:
    """The device of this rank: ``cuda`` (or ``auto`` with CUDA) means the GPU of ``LOCAL_RANK``."""
    if not launched_by_torchrun():
        return device
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def shutdown() -> None:
    """Leave the process group once every rank is done with it (call on the path where all ranks succeeded).

    Rank 0 writes the run's last files after training while the others are idle: they wait here for it, so
    that no rank tears its connections down under another (gloo aborts the process when that happens).
    The group is then freed here, while Python is fully alive: gloo's worker and socket threads stop now
    rather than in the interpreter's shutdown (see :func:`_bind_group_defaults_before_the_group_exists`).
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    with _collective("finishing"):
        torch.distributed.barrier()
    group = weakref.ref(torch.distributed.group.WORLD)
    torch.distributed.destroy_process_group()
    if group() is not None:
        gc.collect()  # a reference cycle may hold it
    if group() is not None:
        warnings.warn(
            "the process group must be freed when leaving it but is still referenced: its threads stay alive "
            "until the interpreter exits, where gloo may abort the process ('terminate called without an "
            "active exception'); was a module binding torch.distributed.group.WORLD imported after joining?",
            RuntimeWarning,
            stacklevel=2,
        )


def _bind_group_defaults_before_the_group_exists() -> None:
    """Import the torch modules that bind ``group.WORLD`` into default arguments before the group exists.

    ``torch.distributed.nn.functional`` declares ``group=group.WORLD`` defaults, evaluated at import. tscl's
    first optimizer imports ``torch._dynamo``, which imports that module; after ``init_process_group`` its
    defaults hold the group for good, so ``destroy_process_group`` cannot free it. The group, with gloo's
    worker and socket threads, then lives until the interpreter frees the module during its own shutdown,
    and gloo's teardown at that point sometimes aborts a rank whose run succeeded ("terminate called without
    an active exception", more often on a loaded machine). Imported first, the defaults are None, which the
    functions read as "the default group" at call time.
    """
    import torch.distributed.nn  # noqa: F401


def _collective_device() -> torch.device:
    """NCCL collectives need CUDA tensors; gloo takes CPU ones."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


@contextmanager
def _collective(what: str) -> Iterator[None]:
    try:
        yield
    except RuntimeError as exc:  # DistBackendError and gloo's connection errors derive from it
        _outlive_the_launchers_termination()
        raise PeerLost(
            f"rank {torch.distributed.get_rank()} lost the other ranks while {what}: {str(exc).splitlines()[0][:160]}",
            hint="another process died (see its error above); the run directory keeps its last checkpoint: "
            "resume with the same torchrun command and `tscl pretrain --resume RUN_DIR`",
        ) from None


def _outlive_the_launchers_termination() -> None:
    """Ignore SIGTERM from here on: this rank is ending with an error that says why.

    When a rank dies, torchrun sends SIGTERM to the others at once. A surviving rank usually sees the dead
    peer first (its collective fails), and then leaves training, which restores the default SIGTERM action;
    a SIGTERM landing before the error is printed would end it silently. The process exits within
    milliseconds after the message (torchrun still kills it if it does not, after its own timeout).
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


# -- what the model attaches to an objective -----------------------------------------------------------------
def average_gradients(optimizer: torch.optim.Optimizer, ranks: Ranks) -> None:
    """Before every ``optimizer.step()``, replace each gradient by its mean over the ranks (one all-reduce).

    Parameters without a gradient are skipped on every rank alike (the ranks run the same code path).
    """

    def hook(opt: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        with _collective("averaging gradients"):
            torch.distributed.all_reduce(flat)
        flat /= ranks.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    optimizer.register_step_pre_hook(hook)


def optimizers_of(objective: Any) -> list[torch.optim.Optimizer]:
    """Every optimizer an objective owns (its attributes that are optimizers)."""
    return [value for value in vars(objective).values() if isinstance(value, torch.optim.Optimizer)]


class _AllGather(torch.autograd.Function):
    """All-gather along dim 0 whose backward gives each rank the sum over the ranks of its rows' gradients."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world = torch.distributed.get_world_size()
        parts = [torch.empty_like(tensor) for _ in range(world)]
        with _collective("gathering negatives"):
            torch.distributed.all_gather(parts, tensor.contiguous())
        ctx.rank, ctx.rows, ctx.world = torch.distributed.get_rank(), tensor.size(0), world
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        # Every rank computes the same loss of the gathered rows, so the gradients of the ranks' copies are
        # equal and their sum over the ranks is ``world`` times this rank's own (no collective needed).
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows] * ctx.world


def all_gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` stacked along dim 0 in rank order, differentiable with respect to this rank's rows.

    Meant for a loss every rank computes alike from the gathered rows: the gradient that reaches this rank's
    rows is the sum of the ranks' (equal) gradients, so averaging parameter gradients over the ranks then
    gives exactly the one-process gradient of that loss.
    """
    return _AllGather.apply(tensor)


def gather_loss_inputs(loss: nn.Module) -> None:
    """Make ``loss(z1, z2)`` contrast the whole global batch: its two inputs are all-gathered first."""

    def hook(_module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        z1, z2, *rest = args
        return (all_gather_rows(z1), all_gather_rows(z2), *rest)

    loss.register_forward_pre_hook(hook)
