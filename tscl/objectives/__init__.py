"""Pretraining objectives (view maker + loss), created by name from a registry.

An objective owns its optimizer(s) and performs one full training step on a batch; the model around it owns
the encoder, the averaged encoder used for inference, the random generator and the iteration bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn

from tscl.errors import ConfigError


class Objective(Protocol):
    """What the training loop needs from an objective."""

    def training_step(self, x: torch.Tensor, generator: torch.Generator) -> float:
        """One optimisation step on batch ``x`` [B, T, C]; returns the loss value."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


ObjectiveFactory = Callable[..., Objective]
_OBJECTIVES: dict[str, ObjectiveFactory] = {}


def register_objective(name: str, factory: ObjectiveFactory) -> None:
    _OBJECTIVES[name] = factory


def list_objectives() -> list[str]:
    _load_builtin()
    return sorted(_OBJECTIVES)


def create_objective(name: str, encoder: nn.Module, **options: Any) -> Objective:
    """Build objective ``name`` training ``encoder`` with its keyword options."""
    _load_builtin()
    if name not in _OBJECTIVES:
        raise ConfigError(
            f"objective must be one of {', '.join(sorted(_OBJECTIVES))} but got {name!r}",
            hint="see `tscl pretrain --help`",
        )
    return _OBJECTIVES[name](encoder, **options)


def get_objective_class(name: str) -> ObjectiveFactory:
    """The factory (class) registered as ``name``: its attributes state what the objective needs and its
    published numbers (``paper``)."""
    _load_builtin()
    if name not in _OBJECTIVES:
        raise ConfigError(f"objective must be one of {', '.join(sorted(_OBJECTIVES))} but got {name!r}")
    return _OBJECTIVES[name]


def _load_builtin() -> None:
    from tscl.objectives import augment, autotcl, ts2vec  # noqa: F401
