"""Contrastive losses between two views, a by-name menu of them, and the MMD fidelity term.

Every loss is a pure typed function (``z1``, ``z2`` -> scalar) behind a thin :class:`torch.nn.Module` that
validates its hyper-parameters. Instance-level losses take max-pooled vectors ``[B, D]``; the local and the
hierarchical losses take time-aligned sequences ``[B, T, D]``. :func:`create_loss` builds a menu entry by
name for any view maker; :func:`contrast` applies it to encoder outputs ``[B, T, D]`` (pooling when needed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tscl.errors import ConfigError, TsclError
from tscl.losses.hierarchical import HierarchicalContrastiveLoss

__all__ = [
    "DecoupledContrastiveLoss",
    "InfoNCELoss",
    "LocalInfoNCELoss",
    "MMDLoss",
    "SigmoidContrastiveLoss",
    "contrast",
    "create_loss",
    "decoupled_contrastive_loss",
    "info_nce_loss",
    "list_losses",
    "local_info_nce_loss",
    "max_pool_time",
    "mmd_loss",
    "sigmoid_contrastive_loss",
]


def _check_positive(name: str, value: float, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ConfigError(f"`{name}` must be a finite number > 0 but got {value!r}", hint=hint)


def _check_pair(z1: Tensor, z2: Tensor, dims: int) -> None:
    if z1.dim() != dims or z1.shape != z2.shape or z1.size(0) == 0:
        shape = "[B, D]" if dims == 2 else "[B, T, D]"
        raise TsclError(
            f"`z1` and `z2` must both have the same non-empty shape {shape} "
            f"but got {tuple(z1.shape)} and {tuple(z2.shape)}",
            hint="pass the two views' representations",
        )


def _pair_similarities(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """Cosine similarities / temperature of the 2B stacked vectors, self-similarity set to -inf: [2B, 2B]."""
    z = F.normalize(torch.cat([z1, z2]), dim=-1)
    sims = z @ z.T / temperature
    return sims.masked_fill(torch.eye(sims.size(0), dtype=torch.bool, device=sims.device), float("-inf"))


def _partners(batch: int, device: torch.device) -> Tensor:
    """Index of the other view of each of the 2B stacked rows."""
    return torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)]).to(device)


def max_pool_time(z: Tensor) -> Tensor:
    """Instance vectors ``[B, D]`` of time-step representations ``[B, T, D]`` (max over time)."""
    return z.amax(dim=1)


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
    _check_pair(z1, z2, 2)
    sims = _pair_similarities(z1, z2, temperature)
    return F.cross_entropy(sims, _partners(z1.size(0), sims.device))


def decoupled_contrastive_loss(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """Decoupled contrastive loss (Yeh et al., "Decoupled Contrastive Learning", ECCV 2022).

    Like :func:`info_nce_loss` but the positive is removed from the denominator: for row i with positive p,
    ``-s_ip + log sum_{k not in {i, p}} exp(s_ik)`` with ``s`` the cosine similarity / ``temperature``.

    Args:
        z1: First view, shape [B, D].
        z2: Second view, shape [B, D].
        temperature: Softmax temperature, > 0.

    Returns:
        Scalar: mean over the 2B rows; 0 when B == 1 (there are no negatives). Can be negative.
    """
    _check_pair(z1, z2, 2)
    batch = z1.size(0)
    if batch == 1:
        return (z1[:0].sum() + z2[:0].sum()).to(z1.dtype)
    sims = _pair_similarities(z1, z2, temperature)
    partner = _partners(batch, sims.device)
    rows = torch.arange(2 * batch, device=sims.device)
    positive = sims[rows, partner]
    negatives = sims.index_put((rows, partner), torch.tensor(float("-inf"), device=sims.device))
    return (torch.logsumexp(negatives, dim=1) - positive).mean()


def sigmoid_contrastive_loss(z1: Tensor, z2: Tensor, scale: Tensor | float, bias: Tensor | float) -> Tensor:
    """Sigmoid pairwise loss (Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023).

    Every pair (i, j) of the B x B cross-view pairs is an independent binary problem with logit
    ``scale * cos(z1_i, z2_j) + bias``, label +1 when i == j and -1 otherwise; the loss is
    ``sum_ij softplus(-label_ij * logit_ij) / B`` (the paper's normalisation by the batch size).

    Args:
        z1: First view, shape [B, D].
        z2: Second view, shape [B, D].
        scale: Inverse temperature t > 0 (tensor when learnt).
        bias: Logit bias b (tensor when learnt); it offsets the B - 1 : 1 imbalance of negatives.

    Returns:
        Scalar.
    """
    _check_pair(z1, z2, 2)
    logits = F.normalize(z1, dim=-1) @ F.normalize(z2, dim=-1).T * scale + bias
    labels = 2 * torch.eye(z1.size(0), dtype=logits.dtype, device=logits.device) - 1
    return F.softplus(-labels * logits).sum() / z1.size(0)


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
    _check_pair(z1, z2, 3)
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


class InfoNCELoss(nn.Module):
    """Module form of :func:`info_nce_loss`; ``temperature`` > 0."""

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        _check_positive("temperature", temperature, "typical values are 0.05 - 1")
        self.temperature = float(temperature)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two views [B, D]; returns a scalar."""
        return info_nce_loss(z1, z2, self.temperature)


class DecoupledContrastiveLoss(InfoNCELoss):
    """Module form of :func:`decoupled_contrastive_loss`; ``temperature`` > 0."""

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two views [B, D]; returns a scalar."""
        return decoupled_contrastive_loss(z1, z2, self.temperature)


class SigmoidContrastiveLoss(nn.Module):
    """Module form of :func:`sigmoid_contrastive_loss` with learnable or fixed temperature and bias.

    Args:
        temperature: Initial (or fixed) temperature 1 / t, > 0. SigLIP initialises t = 10, i.e. 0.1.
        bias: Initial (or fixed) logit bias. SigLIP uses -10 for batches of thousands; the default -2
            (about -log(B - 1) for B = 8) suits the small batches of time-series pretraining.
        learnable: Learn log t and b with the encoder (they are parameters of this module, so the
            objective's optimizer must include them), as in SigLIP; False keeps them fixed.
    """

    def __init__(self, temperature: float = 0.1, bias: float = -2.0, learnable: bool = True) -> None:
        super().__init__()
        _check_positive("temperature", temperature, "SigLIP starts at 0.1 (t = 10)")
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias):
            raise ConfigError(f"`bias` must be a finite number but got {bias!r}", hint="e.g. -2 or -10")
        log_scale = torch.tensor(-math.log(temperature))
        bias_value = torch.tensor(float(bias))
        if learnable:
            self.log_scale = nn.Parameter(log_scale)
            self.bias = nn.Parameter(bias_value)
        else:
            self.register_buffer("log_scale", log_scale)
            self.register_buffer("bias", bias_value)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two views [B, D]; returns a scalar."""
        return sigmoid_contrastive_loss(z1, z2, self.log_scale.exp(), self.bias)


class LocalInfoNCELoss(nn.Module):
    """Module form of :func:`local_info_nce_loss`; ``n_segments`` >= 1, ``temperature`` > 0."""

    def __init__(self, n_segments: int = 16, temperature: float = 0.1) -> None:
        super().__init__()
        if isinstance(n_segments, bool) or not isinstance(n_segments, int) or n_segments < 1:
            raise ConfigError(f"`n_segments` must be an integer >= 1 but got {n_segments!r}", hint="InfoTS uses 16")
        _check_positive("temperature", temperature, "typical values are 0.05 - 1")
        self.n_segments = n_segments
        self.temperature = float(temperature)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two time-aligned views [B, T, D]; returns a scalar."""
        return local_info_nce_loss(z1, z2, self.n_segments, self.temperature)


class MMDLoss(nn.Module):
    """Module form of :func:`mmd_loss`; ``n_kernels`` >= 1, ``multiplier`` > 1."""

    def __init__(self, n_kernels: int = 5, multiplier: float = 2.0) -> None:
        super().__init__()
        if isinstance(n_kernels, bool) or not isinstance(n_kernels, int) or n_kernels < 1:
            raise ConfigError(f"`n_kernels` must be an integer >= 1 but got {n_kernels!r}")
        if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or not multiplier > 1:
            raise ConfigError(f"`multiplier` must be a number > 1 but got {multiplier!r}")
        self.n_kernels = n_kernels
        self.multiplier = float(multiplier)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """MMD^2 of two samples [N, D] and [M, D]; returns a scalar."""
        return mmd_loss(x, y, self.n_kernels, self.multiplier)


@dataclass(frozen=True)
class LossEntry:
    """A menu entry: how to build the loss, and whether it needs time-aligned ``[B, T, D]`` views."""

    build: Callable[[float, float, int, float, bool], nn.Module]
    timestamp_level: bool
    summary: str


# build(temperature, alpha, temporal_unit, siglip_bias, learnable_temperature)
LOSSES: dict[str, LossEntry] = {
    "infonce": LossEntry(lambda t, a, u, b, learn: InfoNCELoss(t), False, "NT-Xent on max-pooled vectors"),
    "dcl": LossEntry(
        lambda t, a, u, b, learn: DecoupledContrastiveLoss(t), False, "decoupled InfoNCE (no positive below)"
    ),
    "siglip": LossEntry(lambda t, a, u, b, learn: SigmoidContrastiveLoss(t, b, learn), False, "sigmoid pairwise loss"),
    "hierarchical": LossEntry(
        lambda t, a, u, b, learn: HierarchicalContrastiveLoss(a, u), True, "TS2Vec hierarchical loss"
    ),
}


def list_losses() -> list[str]:
    """Names accepted by :func:`create_loss`."""
    return sorted(LOSSES)


def create_loss(
    name: str,
    *,
    temperature: float = 0.1,
    alpha: float = 0.5,
    temporal_unit: int = 0,
    siglip_bias: float = -2.0,
    learnable_temperature: bool = True,
) -> nn.Module:
    """The menu loss ``name`` with the hyper-parameters it uses (the others are ignored)."""
    if name not in LOSSES:
        raise ConfigError(f"loss must be one of {', '.join(list_losses())} but got {name!r}", hint="see --help")
    return LOSSES[name].build(temperature, alpha, temporal_unit, siglip_bias, learnable_temperature)


def contrast(name: str, loss: nn.Module, z1: Tensor, z2: Tensor) -> Tensor:
    """Apply menu loss ``name`` to encoder outputs [B, T, D], max-pooling first for instance-level losses."""
    if LOSSES[name].timestamp_level:
        return loss(z1, z2)  # type: ignore[no-any-return]
    return loss(max_pool_time(z1), max_pool_time(z2))  # type: ignore[no-any-return]
