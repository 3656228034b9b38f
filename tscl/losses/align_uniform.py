"""Alignment + uniformity loss (Wang & Isola, "Understanding Contrastive Representation Learning through
Alignment and Uniformity on the Hypersphere", ICML 2020).

``L = align(z1, z2; alpha) + weight * (uniform(z1; t) + uniform(z2; t)) / 2`` on L2-normalised instance
vectors: positives are pulled together (alignment) while each view's vectors spread over the hypersphere
(uniformity, the log of the mean Gaussian potential over distinct pairs). No negatives are contrasted
explicitly and there is no temperature.
"""

from __future__ import annotations

from pydantic import Field
from torch import Tensor, nn

from tscl.losses._alignment import alignment, uniformity
from tscl.losses._base import check_pair, instance_vectors
from tscl.registry import Options, check_options

__all__ = ["AlignUniformLoss", "align_uniform_loss"]


def align_uniform_loss(z1: Tensor, z2: Tensor, alpha: float = 2.0, t: float = 2.0, weight: float = 1.0) -> Tensor:
    """Wang & Isola's loss of two views of B instances.

    Args:
        z1: First view, shape [B, D].
        z2: Second view, shape [B, D].
        alpha: Exponent of the alignment distance, > 0 (the paper's default 2).
        t: Scale of the uniformity's Gaussian potential, > 0 (the paper's default 2).
        weight: Weight of the uniformity term, >= 0 (the paper's lambda, 1).

    Returns:
        Scalar; the uniformity term is 0 when B == 1 (no pair to spread).
    """
    check_pair(z1, z2, 2)
    loss = alignment(z1, z2, alpha)
    if z1.size(0) < 2 or weight == 0:
        return loss
    return loss + weight * (uniformity(z1, t) + uniformity(z2, t)) / 2


class AlignUniformOptions(Options):
    alpha: float = Field(2.0, gt=0, allow_inf_nan=False, description="Exponent of the alignment distance.")
    t: float = Field(2.0, gt=0, allow_inf_nan=False, description="Scale of the uniformity's Gaussian potential.")
    weight: float = Field(1.0, ge=0, allow_inf_nan=False, description="Weight of the uniformity term (lambda).")


class AlignUniformLoss(nn.Module):
    """Alignment + uniformity on the hypersphere (Wang & Isola, ICML 2020); views [B, T, D] or [B, D]."""

    Options = AlignUniformOptions
    aligned_views = False
    min_batch = 2  # uniformity spreads the batch's series apart: one series is only aligned with its other view

    def __init__(self, alpha: float = 2.0, t: float = 2.0, weight: float = 1.0) -> None:
        super().__init__()
        values = {"alpha": alpha, "t": t, "weight": weight}
        options = check_options(self.Options, values, "loss", "align_uniform")
        self.alpha, self.t, self.weight = options.alpha, options.t, options.weight

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two views [B, T, D] (max-pooled over time) or [B, D]; returns a scalar."""
        return align_uniform_loss(*instance_vectors(z1, z2), self.alpha, self.t, self.weight)


COMPONENT = AlignUniformLoss
