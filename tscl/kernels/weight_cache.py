"""A value derived from some weights (a frequency response, folded taps), kept while the weights stay frozen.

Layers that turn their weights into another form before applying them (the CoST layers' frequency
responses) pay for that once per weight update instead of once per batch: inference over many batches then
builds it once. The kept value is reused only while it is provably the same as a fresh one: no gradient can
reach the weights, none of them was replaced or changed in place (their ``data_ptr`` and version counters),
and inference mode is as it was (tensors made in inference mode cannot join autograd graphs).

Version counters track every in-place change made by torch operations. Fused optimizer kernels change
weights without bumping them; the optimizers tscl makes (`tscl.kernels.optim.adamw`) bump them after every
step. A weight changed behind torch's back in any other way must be followed by
``torch.autograd.graph.increment_version`` (or the cache cleared) to be seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import torch

__all__ = ["WeightCache"]

T = TypeVar("T")


class WeightCache(Generic[T]):
    """One value derived from some weights, kept while no gradient reaches them and they do not change."""

    def __init__(self) -> None:
        self.entry: tuple[tuple, T] | None = None

    def get(self, size: int, params: Sequence[torch.Tensor], build: Callable[[], T]) -> T:
        """The value for inputs of ``size`` made from ``params``: the kept one if still valid, else ``build()``.

        Args:
            size: What the value depends on besides the weights (an FFT size, a length).
            params: The weights the value is made from.
            build: Makes the value afresh (with an autograd graph to ``params`` if they need one).

        Returns:
            The value; kept for the next call when it has no graph to the weights (``params`` frozen or
            gradients disabled), dropped otherwise.
        """
        frozen = not torch.is_grad_enabled() or not any(p.requires_grad for p in params)
        key = (size, torch.is_inference_mode_enabled(), *((p.data_ptr(), p._version) for p in params))
        if frozen and self.entry is not None and self.entry[0] == key:
            return self.entry[1]
        value = build()
        self.entry = (key, value) if frozen else None
        return value
