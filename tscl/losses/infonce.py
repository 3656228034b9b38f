"""InfoNCE / NT-Xent between two views (Chen et al., "SimCLR", ICML 2020; Oord et al., "CPC", 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from tscl.losses._base import check_pair, instance_vectors
from tscl.registry import Options, check_options

__all__ = ["InfoNCELoss", "info_nce_loss", "info_nce_sample_losses", "pair_similarities", "partners"]


def pair_similarities(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """Cosine similarities / temperature of the 2B stacked vectors, self-similarity set to -inf: [2B, 2B]."""
    z = F.normalize(torch.cat([z1, z2]), dim=-1)
    sims = z @ z.T / temperature
    return sims.masked_fill(torch.eye(sims.size(0), dtype=torch.bool, device=sims.device), float("-inf"))


def partners(batch: int, device: torch.device) -> Tensor:
    """Index of the other view of each of the 2B stacked rows."""
    return torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)]).to(device)


def info_nce_loss(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """NT-Xent / InfoNCE loss (Chen et al., "SimCLR", ICML 2020; Oord et al., "CPC", 2018).

    The 2B vectors of both views are compared by cosine similarity divided by ``temperature``; each row's
    positive is the other view of the same instance and its negatives are the other 2B - 2 rows (both views).
    Symmetric in the two views.

    Args:
        z1: First view, shape [B, D].
        z2: Second view, shape [B, D].
        temperature: Softmax temperature, > 0.

    Returns:
        Scalar: mean cross-entropy over the 2B rows (0 when B == 1: the positive is the only candidate).
    """
    check_pair(z1, z2, 2)
    sims = pair_similarities(z1, z2, temperature)
    return F.cross_entropy(sims, partners(z1.size(0), sims.device))


def info_nce_sample_losses(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """Per-instance NT-Xent: the mean of instance i's two rows' cross-entropies, shape [B].

    Their mean is :func:`info_nce_loss`; used by objectives that weight instances (``dbpm``).
    """
    check_pair(z1, z2, 2)
    sims = pair_similarities(z1, z2, temperature)
    rows = F.cross_entropy(sims, partners(z1.size(0), sims.device), reduction="none")
    return rows.view(2, -1).mean(dim=0)


class InfoNCEOptions(Options):
    temperature: float = Field(0.1, gt=0, allow_inf_nan=False, description="Softmax temperature (0.05 - 1).")


class InfoNCELoss(nn.Module):
    """NT-Xent on max-pooled vectors (SimCLR's InfoNCE); views [B, T, D] or [B, D]."""

    Options = InfoNCEOptions
    aligned_views = False
    min_batch = 2  # the other series of the batch are the only negatives

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = check_options(self.Options, {"temperature": temperature}, "loss", "infonce").temperature

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two views [B, T, D] (max-pooled over time) or [B, D]; returns a scalar."""
        return info_nce_loss(*instance_vectors(z1, z2), self.temperature)

    def per_sample(self, z1: Tensor, z2: Tensor) -> Tensor:
        """The loss of each instance, shape [B] (its mean is ``forward``'s value)."""
        return info_nce_sample_losses(*instance_vectors(z1, z2), self.temperature)


COMPONENT = InfoNCELoss
