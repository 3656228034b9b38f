"""Hierarchical contrastive loss of TS2Vec.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022 (hierarchical contrasting,
algorithm 1).

Both single-level losses are one row contrast (`tscl.kernels.row_contrast`) on a stack of ``G`` groups of
``2N`` rows: every row ``i`` is contrasted, by plain dot product, against the other ``2N - 1`` rows of its
group, and its positive is row ``(i + N) mod 2N``. This module defines which rows are stacked: the two views
of every instance at one timestamp (instance loss), or of every timestamp of one instance (temporal loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from tscl.errors import TsclError
from tscl.kernels.row_contrast import contrast_rows
from tscl.registry import Options, check_options

__all__ = [
    "HierarchicalContrastiveLoss",
    "hierarchical_contrastive_loss",
    "instance_contrastive_loss",
    "temporal_contrastive_loss",
]


def _check_hyper_parameters(alpha: float, temporal_unit: int) -> None:
    check_options(HierarchicalOptions, {"alpha": alpha, "temporal_unit": temporal_unit}, "loss", "hierarchical")


def _check_views(z1: Tensor, z2: Tensor) -> None:
    if z1.dim() != 3 or z1.shape != z2.shape or z1.size(0) == 0 or z1.size(1) == 0:
        raise TsclError(
            "`z1` and `z2` must both have the same non-empty shape [B, T, D] "
            f"but got {tuple(z1.shape)} and {tuple(z2.shape)}",
            hint="pass the two views' representations, aligned in time",
        )


def _graph_zero(z1: Tensor, z2: Tensor) -> Tensor:
    # A zero that still depends on the inputs, so that backward() works (with zero gradients) on degenerate
    # batches; multiplying by 0 would turn inf inputs into NaN, summing an empty slice does not.
    return z1[:0].sum() + z2[:0].sum()


def instance_contrastive_loss(z1: Tensor, z2: Tensor) -> Tensor:
    """Instance-wise contrastive loss of one scale (TS2Vec, Yue et al., AAAI 2022).

    At every timestamp, each of the 2B vectors is contrasted against the other 2B - 1 by dot product; the
    positive is the other view of the same instance.

    Args:
        z1: First view, shape [B, T, D].
        z2: Second view, time-aligned with ``z1``, shape [B, T, D].

    Returns:
        Scalar tensor: mean cross-entropy over the 2B rows and T timestamps; zero when B == 1.
    """
    if z1.size(0) == 1:
        return _graph_zero(z1, z2)
    return contrast_rows(torch.cat([z1.transpose(0, 1), z2.transpose(0, 1)], dim=1))


def temporal_contrastive_loss(z1: Tensor, z2: Tensor) -> Tensor:
    """Temporal contrastive loss of one scale (TS2Vec, Yue et al., AAAI 2022).

    Within each instance, each of the 2T time steps is contrasted against the other 2T - 1 by dot product;
    the positive is the same time step in the other view.

    Args:
        z1: First view, shape [B, T, D].
        z2: Second view, time-aligned with ``z1``, shape [B, T, D].

    Returns:
        Scalar tensor: mean cross-entropy over the B instances and 2T rows; zero when T == 1.
    """
    if z1.size(1) == 1:
        return _graph_zero(z1, z2)
    return contrast_rows(torch.cat([z1, z2], dim=1))


def _halve_time(z: Tensor) -> Tensor:
    return F.max_pool1d(z.transpose(1, 2), kernel_size=2).transpose(1, 2)


def hierarchical_contrastive_loss(z1: Tensor, z2: Tensor, alpha: float = 0.5, temporal_unit: int = 0) -> Tensor:
    """Hierarchical contrastive loss of TS2Vec (Yue et al., AAAI 2022, algorithm 1).

    At every scale while the length is > 1, adds ``alpha`` * instance loss + ``(1 - alpha)`` * temporal loss
    (the temporal term only from scale ``temporal_unit`` on), then max-pools both views over time (kernel 2,
    stride 2; an odd last step is dropped). At length 1, adds ``alpha`` * instance loss once more. The sum is
    divided by the number of scales. Similarities are plain dot products (no normalisation, no temperature).

    Args:
        z1: First view, shape [B, T, D].
        z2: Second view, time-aligned with ``z1``, shape [B, T, D].
        alpha: Weight of the instance loss, in [0, 1].
        temporal_unit: Number of finest scales without a temporal loss, >= 0.

    Returns:
        Scalar tensor (dtype of the inputs).

    Raises:
        ConfigError: ``alpha`` or ``temporal_unit`` out of range.
        TsclError: the views are not two equal, non-empty [B, T, D] shapes.
    """
    _check_hyper_parameters(alpha, temporal_unit)
    _check_views(z1, z2)
    loss = _graph_zero(z1, z2)
    scales = 0
    while z1.size(1) > 1:
        if alpha != 0:
            loss = loss + alpha * instance_contrastive_loss(z1, z2)
        if scales >= temporal_unit and 1 - alpha != 0:
            loss = loss + (1 - alpha) * temporal_contrastive_loss(z1, z2)
        scales += 1
        z1, z2 = _halve_time(z1), _halve_time(z2)
    if z1.size(1) == 1:
        if alpha != 0:
            loss = loss + alpha * instance_contrastive_loss(z1, z2)
        scales += 1
    return loss / scales


class HierarchicalOptions(Options):
    alpha: float = Field(0.5, ge=0, le=1, description="Weight of the instance loss against the temporal loss.")
    temporal_unit: int = Field(0, ge=0, description="Finest scales without a temporal loss (TS2Vec: 0).")


class HierarchicalContrastiveLoss(nn.Module):
    """TS2Vec hierarchical loss between time-aligned views [B, T, D] (Yue et al., AAAI 2022).

    Args:
        alpha: Weight of the instance loss, in [0, 1].
        temporal_unit: Number of finest scales without a temporal loss, >= 0.

    Raises:
        ConfigError: ``alpha`` or ``temporal_unit`` out of range.
    """

    Options = HierarchicalOptions
    aligned_views = True

    def __init__(self, alpha: float = 0.5, temporal_unit: int = 0) -> None:
        super().__init__()
        values = {"alpha": alpha, "temporal_unit": temporal_unit}
        options = check_options(self.Options, values, "loss", "hierarchical")
        self.alpha = options.alpha
        self.temporal_unit = options.temporal_unit

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two time-aligned views, each of shape [B, T, D]; returns a scalar."""
        return hierarchical_contrastive_loss(z1, z2, self.alpha, self.temporal_unit)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, temporal_unit={self.temporal_unit}"


COMPONENT = HierarchicalContrastiveLoss
