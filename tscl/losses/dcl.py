"""Decoupled contrastive loss (Yeh et al., "Decoupled Contrastive Learning", ECCV 2022)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tscl.losses._base import check_pair, instance_vectors
from tscl.losses.infonce import InfoNCEOptions, pair_similarities, partners
from tscl.registry import check_options

__all__ = ["DecoupledContrastiveLoss", "decoupled_contrastive_loss"]


def decoupled_contrastive_loss(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """Decoupled contrastive loss (Yeh et al., "Decoupled Contrastive Learning", ECCV 2022).

    Like InfoNCE but the positive is removed from the denominator: for row i with positive p,
    ``-s_ip + log sum_{k not in {i, p}} exp(s_ik)`` with ``s`` the cosine similarity / ``temperature``.

    Args:
        z1: First view, shape [B, D].
        z2: Second view, shape [B, D].
        temperature: Softmax temperature, > 0.

    Returns:
        Scalar: mean over the 2B rows; 0 when B == 1 (there are no negatives). Can be negative.
    """
    check_pair(z1, z2, 2)
    batch = z1.size(0)
    if batch == 1:
        return (z1[:0].sum() + z2[:0].sum()).to(z1.dtype)
    sims = pair_similarities(z1, z2, temperature)
    partner = partners(batch, sims.device)
    rows = torch.arange(2 * batch, device=sims.device)
    positive = sims[rows, partner]
    negatives = sims.index_put((rows, partner), torch.tensor(float("-inf"), device=sims.device))
    return (torch.logsumexp(negatives, dim=1) - positive).mean()


class DecoupledContrastiveLoss(nn.Module):
    """Decoupled InfoNCE (no positive in the denominator) on max-pooled vectors; views [B, T, D] or [B, D]."""

    Options = InfoNCEOptions
    aligned_views = False
    min_batch = 2  # the other series of the batch are the only negatives

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = check_options(self.Options, {"temperature": temperature}, "loss", "dcl").temperature

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two views [B, T, D] (max-pooled over time) or [B, D]; returns a scalar."""
        return decoupled_contrastive_loss(*instance_vectors(z1, z2), self.temperature)


COMPONENT = DecoupledContrastiveLoss
