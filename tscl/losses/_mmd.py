"""Squared maximum mean discrepancy with a ladder of Gaussian kernels (Gretton et al., JMLR 2012)."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor, nn

from tscl.errors import TsclError
from tscl.registry import Options, check_options

__all__ = ["MMDLoss", "mmd_loss"]


def mmd_loss(x: Tensor, y: Tensor, n_kernels: int = 5, multiplier: float = 2.0) -> Tensor:
    """Squared maximum mean discrepancy with a ladder of Gaussian kernels (Gretton et al., JMLR 2012).

    ``k(a, b) = sum_i exp(-|a - b|^2 / (m * multiplier^(i - n_kernels // 2)))`` where ``m`` is the mean
    squared distance over all distinct pairs of the pooled sample ``[x; y]``, computed without gradient. The
    biased (V-statistic) estimate ``mean K_xx + mean K_yy - 2 mean K_xy`` is >= 0.

    Args:
        x: First sample, shape [N, D].
        y: Second sample, shape [M, D].
        n_kernels: Number of bandwidths, >= 1.
        multiplier: Ratio between neighbouring bandwidths, > 1.

    Returns:
        Scalar.
    """
    if x.dim() != 2 or y.dim() != 2 or x.size(1) != y.size(1) or x.size(0) == 0 or y.size(0) == 0:
        raise TsclError(f"`x` and `y` must be non-empty [N, D] and [M, D] but got {tuple(x.shape)}, {tuple(y.shape)}")
    joint = torch.cat([x, y])
    norms = joint.square().sum(1)
    distances = (norms[:, None] + norms[None, :] - 2 * joint @ joint.T).clamp_min(0)
    n = joint.size(0)
    with torch.no_grad():
        pairs = max(n * (n - 1), 1)
        base = (distances.sum() / pairs).clamp_min(torch.finfo(joint.dtype).tiny)
        widths = base * multiplier ** (torch.arange(n_kernels, device=joint.device) - n_kernels // 2)
    kernel = torch.exp(-distances.unsqueeze(0) / widths.view(-1, 1, 1)).sum(0)
    size = x.size(0)
    return kernel[:size, :size].mean() + kernel[size:, size:].mean() - 2 * kernel[:size, size:].mean()


class MMDOptions(Options):
    n_kernels: int = Field(5, ge=1, description="Number of Gaussian bandwidths.")
    multiplier: float = Field(2.0, gt=1, allow_inf_nan=False, description="Ratio between neighbouring bandwidths.")


class MMDLoss(nn.Module):
    """Module form of :func:`mmd_loss`; ``n_kernels`` >= 1, ``multiplier`` > 1."""

    Options = MMDOptions

    def __init__(self, n_kernels: int = 5, multiplier: float = 2.0) -> None:
        super().__init__()
        options = check_options(self.Options, {"n_kernels": n_kernels, "multiplier": multiplier}, "mmd", "mmd")
        self.n_kernels = options.n_kernels
        self.multiplier = options.multiplier

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """MMD^2 of two samples [N, D] and [M, D]; returns a scalar."""
        return mmd_loss(x, y, self.n_kernels, self.multiplier)
