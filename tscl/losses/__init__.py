"""Contrastive losses between two views, created by name from one registry.

Contract of a loss (built-in or plug-in, entry-point group ``tscl.losses``): ``factory(**options)`` returns a
``torch.nn.Module`` whose ``forward(z1, z2)`` maps two views of the same shape, ``[B, T, D]`` or ``[B, D]``,
to a scalar tensor. A loss that needs time-aligned sequences sets the class attribute
``aligned_views = True``; one that contrasts each series only with the batch's other series (for a batch of
one: 0 with no gradient, or only a pull of the two views together) sets ``min_batch = 2``, and objectives refuse
such batches before a run starts (their ``check_batches`` hook). Options are declared once, on the factory's
``Options`` class (see :mod:`tscl.registry`). A built-in loss is one public module here whose ``COMPONENT``
is its factory; helpers shared by several losses live in modules with a leading underscore. Importing this
package imports no torch: modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tscl.registry import Registry

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "LOSSES", "create_loss", "instance_losses", "list_losses", "loss_name", "min_batch", "one_series_losses",
    "register_loss",
]  # fmt: skip

# Built-ins: every public module of this package is the loss of its name (its ``COMPONENT``).
LOSSES: Registry[nn.Module] = Registry("loss", "tscl.losses", package=__name__)


def register_loss(name: str, factory: Any, options: Any = None, *, replace: bool = False) -> None:
    """Make ``factory(**options) -> nn.Module`` available as loss ``name``."""
    LOSSES.register(name, factory, options, replace=replace)


def list_losses() -> list[str]:
    """Names accepted by :func:`create_loss` (built-in, registered, installed)."""
    return LOSSES.names()


def create_loss(name: str, **options: Any) -> nn.Module:
    """The loss ``name`` built with validated ``options``."""
    return LOSSES.create(name, **options)


def needs_aligned_views(loss: Any) -> bool:
    """Whether ``loss`` compares time-aligned ``[B, T, D]`` sequences (its ``aligned_views`` attribute)."""
    return bool(getattr(loss, "aligned_views", False))


def min_batch(loss: Any) -> int:
    """The fewest series a batch must hold for ``loss`` to contrast anything (its ``min_batch``, default 1)."""
    return int(getattr(loss, "min_batch", 1))


def one_series_losses() -> list[str]:
    """The losses that learn from a batch of one series (``min_batch`` not above 1), for hints."""
    return [entry.name for entry in LOSSES.entries(skip_broken=True) if min_batch(entry.factory) <= 1]


def loss_name(loss: Any) -> str:
    """The name ``loss`` was registered under (its class name when no entry builds it), for messages."""
    for entry in LOSSES.entries(skip_broken=True):
        if entry.factory is type(loss):
            return entry.name
    return type(loss).__name__


def instance_losses() -> list[str]:
    """The losses that take views which move in time (``aligned_views`` not set), for hints."""
    entries = LOSSES.entries(skip_broken=True)
    return [entry.name for entry in entries if not getattr(entry.factory, "aligned_views", False)]
