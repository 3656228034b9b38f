"""Optimizers and weight averaging with the fastest exact kernels the installed torch offers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

__all__ = ["AdamW", "adamw", "update_average"]


def _undecorated(method: Callable[..., Any]) -> Callable[..., Any]:
    return getattr(method, "__wrapped__", method)


class AdamW(torch.optim.AdamW):
    """``torch.optim.AdamW`` without the import of ``torch._dynamo`` (0.7-0.8 s) at its first call.

    torch wraps the optimizer's methods so that its compiler skips them (``step`` graph-breaks, the others
    are dynamo-disabled), and the wrappers import the whole compiler stack the first time they run, even in
    a process that never compiles. tscl never compiles the training step, so this class calls the methods
    beneath the wrappers: the same updates, state dicts and hooks, and a GunPoint-sized run no longer spends
    a tenth of its time importing a compiler. On a torch whose methods carry no ``__wrapped__`` the wrapped
    methods run, as with the plain class.
    """

    add_param_group = _undecorated(torch.optim.Optimizer.add_param_group)
    zero_grad = _undecorated(torch.optim.Optimizer.zero_grad)
    state_dict = _undecorated(torch.optim.Optimizer.state_dict)
    load_state_dict = _undecorated(torch.optim.Optimizer.load_state_dict)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        # What the wrapper does besides its compiler graph breaks: no autograd graph for the update.
        with torch.set_grad_enabled(bool(self.defaults.get("differentiable", False))):
            return _undecorated(torch.optim.AdamW.step)(self, closure)  # type: ignore[no-any-return]


def _bump_versions(optimizer: torch.optim.Optimizer, *_: object) -> None:
    """Step post-hook: mark the weights the step updated as changed in place, as a non-fused step would.

    Fused kernels write the weights without bumping their autograd version counters, so anything keyed on
    them (`tscl.kernels.weight_cache.WeightCache`, autograd's own check on tensors saved for backward)
    would not see the update.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None:  # the parameters the step skipped are unchanged
                torch.autograd.graph.increment_version(p)


def adamw(parameters: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.01) -> AdamW:
    """`AdamW` (torch defaults besides ``lr``, ``weight_decay``), fused into one kernel where torch has it (CPU 2.4+).

    The fused kernel applies the same update as the per-parameter loop, ~4x faster for the encoder's
    few dozen small tensors; with older torch versions, or devices without it, the loop is used. After a
    fused step the updated weights' version counters are bumped (see `_bump_versions`); a torch without
    ``torch.autograd.graph.increment_version`` gets the loop, whose in-place updates bump them.
    """
    parameters = list(parameters)
    if not hasattr(torch.autograd.graph, "increment_version"):
        return AdamW(parameters, lr=lr, weight_decay=weight_decay)
    try:
        optimizer = AdamW(parameters, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return AdamW(parameters, lr=lr, weight_decay=weight_decay)
    optimizer.register_step_post_hook(_bump_versions)
    return optimizer


def update_average(averaged: AveragedModel, model: nn.Module) -> None:
    """``averaged.update_parameters(model)`` for the equal-weight average, with batched tensor operations.

    torch's default average, ``avg + (p - avg) / (n + 1)`` (up to the last bit: the division is a multiplication
    by 1 / (n + 1)), applied to all parameters and buffers at once (torch's own loop runs one small operation
    per tensor on CPUs).
    """
    targets = [t.detach() for t in averaged.module.parameters()]
    sources = [t.detach() for t in model.parameters()]
    if averaged.use_buffers:
        targets += [t.detach() for t in averaged.module.buffers()]
        sources += [t.detach() for t in model.buffers()]
    n = int(averaged.n_averaged)
    same = len(targets) == len(sources) and all(
        t.device == s.device and t.dtype == s.dtype and t.shape == s.shape
        for t, s in zip(targets, sources, strict=False)
    )
    if n == 0 or not same:
        averaged.update_parameters(model)
        return
    if hasattr(torch, "_foreach_lerp_"):
        # avg + (p - avg) / (n + 1) as one pass over the weights (lerp with weight 1 / (n + 1) <= 1/2 computes
        # avg + w * (p - avg)): the same average up to rounding of the last bit, ~4x faster than three passes.
        torch._foreach_lerp_(targets, sources, 1.0 / (n + 1))
    else:
        steps = torch._foreach_sub(sources, targets)
        torch._foreach_div_(steps, n + 1)
        torch._foreach_add_(targets, steps)
    averaged.n_averaged += 1
