"""What every loss shares: the two-view contract and the instance pooling of time-step representations.

A loss is a ``torch.nn.Module`` whose ``forward(z1, z2)`` maps two views of the same shape, ``[B, T, D]``
(time-aligned sequences) or ``[B, D]`` (instance vectors), to a scalar. Instance-level losses accept both and
max-pool sequences over time first; a loss that needs the time axis sets ``aligned_views = True`` and then
only takes time-aligned ``[B, T, D]`` views (objectives whose views move in time refuse it).
"""

from __future__ import annotations

from torch import Tensor

from tscl.errors import TsclError

__all__ = ["check_pair", "instance_vectors", "max_pool_time"]


def check_pair(z1: Tensor, z2: Tensor, dims: int) -> None:
    """Raise TsclError unless ``z1`` and ``z2`` have the same non-empty ``dims``-D shape."""
    if z1.dim() != dims or z1.shape != z2.shape or z1.size(0) == 0:
        shape = "[B, D]" if dims == 2 else "[B, T, D]"
        raise TsclError(
            f"`z1` and `z2` must both have the same non-empty shape {shape} "
            f"but got {tuple(z1.shape)} and {tuple(z2.shape)}",
            hint="pass the two views' representations",
        )


def max_pool_time(z: Tensor) -> Tensor:
    """Instance vectors ``[B, D]`` of time-step representations ``[B, T, D]`` (max over time)."""
    return z.amax(dim=1)


def instance_vectors(z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor]:
    """The views as instance vectors ``[B, D]``: sequences ``[B, T, D]`` are max-pooled over time."""
    if z1.dim() == 3 and z2.dim() == 3:
        return max_pool_time(z1), max_pool_time(z2)
    return z1, z2
