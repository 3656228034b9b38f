"""Id-level contrast of COMET (Wang et al., "Contrast Everything: A Hierarchical Contrastive Framework for
Medical Time-Series", NeurIPS 2023): supervised-contrastive style, with trial or patient ids as labels.

Not a registered loss (it needs ids besides the two views); :mod:`tscl.objectives.comet` uses it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from tscl.errors import TsclError

__all__ = ["id_contrastive_loss", "pyramid_loss"]


def id_contrastive_loss(z1: Tensor, z2: Tensor, ids: Tensor, temperature: float = 0.1) -> Tensor:
    """Contrast of two views' sample representations where every *other* sample with the same id is positive.

    ``S[i, j] = cos(z1_i, z2_j) / temperature``. Each same-id pair ``(i, j)``, ``i != j``, contributes
    ``-log softmax_j S[i, :]`` (anchor ``z1_i`` among all second views) and ``-log softmax_i S[:, j]`` (anchor
    ``z2_j`` among all first views); the loss is the mean over pairs of each term, averaged. A sample's own
    other view sits in the denominators only. Unlike the public code, vectors are normalised as a whole (it
    normalises along the time axis first), and both directions of every pair count.

    Args:
        z1: First view, ``[B, F]`` (pooled or flattened representations).
        z2: Second view, ``[B, F]``.
        ids: ``[B]`` integer ids (trial or patient).
        temperature: Softmax temperature (0.1 in the paper), > 0.

    Returns:
        Scalar tensor; zero (with a graph) when no two samples share an id.
    """
    if z1.dim() != 2 or z1.shape != z2.shape or ids.shape != (z1.size(0),):
        raise TsclError(
            f"`z1`, `z2` must be [B, F] and `ids` [B] but got {tuple(z1.shape)}, {tuple(z2.shape)}, {tuple(ids.shape)}"
        )
    if temperature <= 0:
        raise TsclError(f"`temperature` must be > 0 but got {temperature}")
    same = ids[:, None] == ids[None, :]
    positive = same & ~torch.eye(len(ids), dtype=torch.bool, device=ids.device)
    if not positive.any():
        return z1[:0].sum() + z2[:0].sum()
    logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    from_first = logits.log_softmax(dim=1)[positive].mean()
    from_second = logits.log_softmax(dim=0)[positive].mean()
    return -(from_first + from_second) / 2


def _halve_time(z: Tensor) -> Tensor:
    return F.max_pool1d(z.transpose(1, 2), kernel_size=2).transpose(1, 2)


def pyramid_loss(z1: Tensor, z2: Tensor, term: object, last_scale: bool) -> Tensor:
    """Mean of ``term(z1, z2)`` over TS2Vec's max-pool pyramid (kernel 2 until one step is left).

    Args:
        z1, z2: Time-aligned views ``[B, T, D]``.
        term: A single-scale loss ``(z1, z2) -> scalar`` (TS2Vec's instance or temporal term).
        last_scale: Also apply it at the one-step scale (the instance term is defined there, the temporal
            term is not).
    """
    assert callable(term)
    total, scales = z1[:0].sum() + z2[:0].sum(), 0
    while z1.size(1) > 1:
        total = total + term(z1, z2)
        scales += 1
        z1, z2 = _halve_time(z1), _halve_time(z2)
    if last_scale and z1.size(1) == 1:
        total = total + term(z1, z2)
        scales += 1
    return total / max(scales, 1)
