"""Local (segment-level) InfoNCE across two time-aligned views (after Luo et al., "InfoTS", AAAI 2023)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from tscl.losses._base import check_pair
from tscl.registry import Options, check_options

__all__ = ["LocalInfoNCELoss", "local_info_nce_loss"]


def local_info_nce_loss(z1: Tensor, z2: Tensor, n_segments: int = 16, temperature: float = 0.1) -> Tensor:
    """Local (segment-level) InfoNCE across two time-aligned views (after Luo et al., "InfoTS", AAAI 2023).

    Definition: the time axis is split into ``K = min(n_segments, T)`` segments (adaptive max pooling, so
    ``T`` need not be a multiple of K), giving ``u_k`` for view 1 and ``w_k`` for view 2, per series. For the
    anchor ``u_k`` the candidates are the K segments ``w_j`` of the **other view of the same series**; its
    positives are the time-aligned segment and its temporal neighbours, ``{w_j : |j - k| <= 1}``, and its
    negatives the segments two or more apart, ``{w_j : |j - k| >= 2}``. With ``s_kj = cos(u_k, w_j) / tau``
    the anchor's loss is ``logsumexp_j s_kj - logsumexp_{|j-k|<=1} s_kj``. The same is done with the views'
    roles swapped, and the loss is the mean over both directions, all K anchors and every series of the batch.

    Args:
        z1: First view, shape [B, T, D].
        z2: Second view, time-aligned with ``z1``, shape [B, T, D].
        n_segments: Number of segments K, >= 1 (16 in InfoTS/AutoTCL).
        temperature: Softmax temperature, > 0.

    Returns:
        Scalar; 0 when K <= 2 (every candidate is a positive).
    """
    check_pair(z1, z2, 3)
    segments = min(n_segments, z1.size(1))
    u = F.normalize(F.adaptive_max_pool1d(z1.transpose(1, 2), segments).transpose(1, 2), dim=-1)
    w = F.normalize(F.adaptive_max_pool1d(z2.transpose(1, 2), segments).transpose(1, 2), dim=-1)
    sims = u @ w.transpose(1, 2) / temperature  # [B, K, K]
    index = torch.arange(segments, device=sims.device)
    positive = (index[:, None] - index[None, :]).abs() <= 1
    not_positive = torch.tensor(float("-inf"), dtype=sims.dtype, device=sims.device)
    directions = [
        (torch.logsumexp(scores, dim=-1) - torch.logsumexp(torch.where(positive, scores, not_positive), dim=-1)).mean()
        for scores in (sims, sims.transpose(1, 2))
    ]
    return (directions[0] + directions[1]) / 2


class LocalInfoNCEOptions(Options):
    n_segments: int = Field(16, ge=1, description="Segments K of the time axis (16 in InfoTS/AutoTCL).")
    temperature: float = Field(0.1, gt=0, allow_inf_nan=False, description="Softmax temperature.")


class LocalInfoNCELoss(nn.Module):
    """Module form of :func:`local_info_nce_loss`; ``n_segments`` >= 1, ``temperature`` > 0."""

    Options = LocalInfoNCEOptions
    aligned_views = True

    def __init__(self, n_segments: int = 16, temperature: float = 0.1) -> None:
        super().__init__()
        values = {"n_segments": n_segments, "temperature": temperature}
        options = check_options(self.Options, values, "local loss", "local_infonce")
        self.n_segments = options.n_segments
        self.temperature = options.temperature

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two time-aligned views [B, T, D]; returns a scalar."""
        return local_info_nce_loss(z1, z2, self.n_segments, self.temperature)


COMPONENT = LocalInfoNCELoss
