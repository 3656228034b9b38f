"""Representation diagnostics of Wang & Isola, "Understanding Contrastive Representation Learning through
Alignment and Uniformity on the Hypersphere", ICML 2020.

Both are computed on L2-normalised embeddings; lower is better for both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from tscl.errors import TsclError

__all__ = ["alignment", "uniformity", "jitter_pairs_diagnostics"]


def alignment(z1: Tensor, z2: Tensor, alpha: float = 2.0) -> Tensor:
    """Expected distance of positive pairs: ``mean_i |n(z1_i) - n(z2_i)|^alpha`` with n = L2 normalisation.

    Args:
        z1: Embeddings of the first element of each positive pair, shape [N, D].
        z2: Embeddings of the second element, shape [N, D].
        alpha: Exponent, > 0 (2 in the paper).

    Returns:
        Scalar in [0, 2^alpha].
    """
    if z1.dim() != 2 or z1.shape != z2.shape or z1.size(0) == 0:
        raise TsclError(f"`z1` and `z2` must be equal non-empty [N, D] but got {tuple(z1.shape)}, {tuple(z2.shape)}")
    return (F.normalize(z1, dim=-1) - F.normalize(z2, dim=-1)).norm(dim=-1).pow(alpha).mean()


def uniformity(z: Tensor, t: float = 2.0) -> Tensor:
    """Log of the mean Gaussian potential over distinct pairs: ``log mean_{i<j} exp(-t |n(z_i) - n(z_j)|^2)``.

    Args:
        z: Embeddings, shape [N, D] with N >= 2.
        t: Kernel scale, > 0 (2 in the paper).

    Returns:
        Scalar in [-4t, 0]; 0 when all embeddings coincide.
    """
    if z.dim() != 2 or z.size(0) < 2:
        raise TsclError(f"`z` must be [N, D] with N >= 2 but got {tuple(z.shape)}")
    distances = torch.pdist(F.normalize(z, dim=-1)).square()
    return torch.logsumexp(-t * distances, dim=0) - np.log(distances.numel())


def jitter_pairs_diagnostics(
    encode: Callable[[np.ndarray], np.ndarray],
    windows: np.ndarray,
    sigma: float = 0.1,
    seed: int = 0,
    skip_channels: int = 0,
) -> dict[str, float | int | str]:
    """Alignment and uniformity of ``encode`` (``[N, T, C] -> [N, D]``) on held-out ``windows``.

    Positive pairs are a window and a copy with Gaussian noise of std ``sigma`` added to its observed values
    (channels from ``skip_channels`` on, so calendar covariates stay exact): an objective-independent view,
    so the numbers compare across objectives. Uniformity uses the clean windows.
    """
    rng = np.random.default_rng(seed)
    noisy = windows.copy()
    noisy[..., skip_channels:] += rng.normal(0.0, sigma, noisy[..., skip_channels:].shape).astype(np.float32)
    z = torch.from_numpy(np.asarray(encode(windows), dtype=np.float32))
    zn = torch.from_numpy(np.asarray(encode(noisy), dtype=np.float32))
    return {
        "alignment": float(alignment(z, zn)),
        "uniformity": float(uniformity(z)) if z.size(0) >= 2 else float("nan"),
        "windows": int(windows.shape[0]),
        "window_length": int(windows.shape[1]),
        "positive_pairs": f"gaussian jitter sigma={sigma}",
    }
