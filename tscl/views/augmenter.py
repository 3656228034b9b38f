"""The parametric augmentation network of AutoTCL (Zheng et al., "Parametric Augmentation for Time Series
Contrastive Learning", ICLR 2024, section 4).

Per input x it produces a factorisation mask m (hard concrete), a positive per-element scale g and Gaussian
noise dv; the view is ``v = g * (m * x) + dv``. The first ``n_covariates`` channels (calendar features of
forecasting data) are copied unchanged, and missing values (NaN) stay missing in the view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from tscl.encoders.layers import DilatedConvEncoder
from tscl.errors import ConfigError
from tscl.text import plural

__all__ = ["AugmentationNetwork", "AugmentedView", "hard_concrete_sample", "temporal_consistency"]

INITIAL_MASK_LOGIT = 3.0


def hard_concrete_sample(
    logits: Tensor,
    temperature: float,
    gamma: float,
    bias: float,
    hard: bool,
    generator: torch.Generator | None = None,
) -> Tensor:
    """A hard-concrete (stretched binary concrete) mask sample (Louizos et al., ICLR 2018).

    ``u ~ U(bias, 1 - bias)``, ``s = sigmoid((log u - log(1 - u) + logits) / temperature)``,
    ``m = clip(s * (1 + 2 gamma) - gamma, 0, 1)``. With ``hard``, the forward value is ``m > 0.5`` and the
    gradient is that of ``m`` (straight-through).

    Args:
        logits: Mask logits w, any shape.
        temperature: Relaxation temperature, > 0.
        gamma: Stretch, >= 0 (lets the relaxed mask reach exactly 0 and 1).
        bias: Truncation of the uniform noise, in [0, 0.5).
        hard: Binarise in the forward pass.
        generator: Source of the noise (drawn on the CPU, then moved to the logits' device).

    Returns:
        Mask of the logits' shape, values in [0, 1].
    """
    noise = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).to(logits.device)
    u = bias + (1 - 2 * bias) * noise
    relaxed = torch.sigmoid((torch.log(u) - torch.log1p(-u) + logits) / temperature)
    mask = (relaxed * (1 + 2 * gamma) - gamma).clamp(0.0, 1.0)
    if hard:
        return (mask > 0.5).to(mask.dtype) - mask.detach() + mask
    return mask


def temporal_consistency(mask: Tensor) -> Tensor:
    """Mean squared change of the mask between neighbouring time steps (mask [B, T, C]; 0 when T == 1).

    Penalises only neighbours, so the mask is smooth locally while distant steps may differ.
    """
    if mask.size(1) < 2:
        return mask.sum() * 0
    return (mask[:, 1:] - mask[:, :-1]).square().mean()


@dataclass
class AugmentedView:
    """One output of the augmentation network.

    Attributes:
        values: The view v, [B, T, C], NaN where the input is NaN.
        mask: The factorisation mask m of the augmented channels, [B, T, C - n_covariates].
        scale: The transformation g, same shape as ``mask``.
        observed: Where the augmented channels of the input are not NaN, same shape as ``mask``.
    """

    values: Tensor
    mask: Tensor
    scale: Tensor
    observed: Tensor

    def keep_rate(self) -> Tensor:
        """Mean of the mask over observed entries (differentiable)."""
        weight = self.observed.to(self.mask.dtype)
        return (self.mask * weight).sum() / weight.sum().clamp_min(1.0)


class AugmentationNetwork(nn.Module):
    """AutoTCL's augmentation network ``x [B, T, C] -> view [B, T, C]``.

    Trunk: Linear(C -> H), then 3 residual dilated conv blocks (dilations 1, 2, 4; widths H, H, A), per time
    step. Mask head: Linear(A -> C') giving logits w (C' = C - n_covariates). Transformation head:
    Linear(A -> C') giving ``g = exp(tanh(a) * log(max_scale))``, i.e. a positive scale in
    ``[1 / max_scale, max_scale]`` that can shrink or enlarge (g = 1 at a = 0). The network starts near the
    identity: the transformation head is zero (g = 1) and the mask logits start at 3 (keep-probability 0.95).

    Args:
        input_dims: Input channels C.
        n_covariates: Leading channels copied unchanged (calendar covariates), 0 <= n < C.
        hidden_dims: Trunk width H.
        aug_dims: Trunk output width A.
        mask_temperature: Hard-concrete temperature.
        gamma_zeta: Hard-concrete stretch gamma.
        gumbel_bias: Truncation b of the uniform noise.
        hard_mask: Binarise the sampled mask (straight-through gradient).
        max_scale: Bound of the transformation, > 1 (1 disables it: g = 1).
        noise_std: Standard deviation of dv (0 disables the noise).
    """

    def __init__(
        self,
        input_dims: int,
        *,
        n_covariates: int = 0,
        hidden_dims: int = 64,
        aug_dims: int = 16,
        mask_temperature: float = 2.0 / 3.0,
        gamma_zeta: float = 0.05,
        gumbel_bias: float = 0.05,
        hard_mask: bool = True,
        max_scale: float = 2.0,
        noise_std: float = 0.05,
    ) -> None:
        super().__init__()
        if not 0 <= n_covariates < input_dims:
            raise ConfigError(
                f"n_covariates must be in [0, {input_dims}) (the input has {plural(input_dims, 'channel')}) "
                f"but got {n_covariates}",
                hint="only the leading calendar channels can be excluded from augmentation",
            )
        self.n_covariates = n_covariates
        self.mask_temperature = mask_temperature
        self.gamma_zeta = gamma_zeta
        self.gumbel_bias = gumbel_bias
        self.hard_mask = hard_mask
        self.log_max_scale = math.log(max_scale)
        self.noise_std = noise_std
        augmented = input_dims - n_covariates
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        self.trunk = DilatedConvEncoder(hidden_dims, [hidden_dims, hidden_dims, aug_dims], kernel_size=3)
        self.mask_head = nn.Linear(aug_dims, augmented)
        self.transform_head = nn.Linear(aug_dims, augmented)
        # Start near the identity view (chosen on validation data): keep-probability sigmoid(3) ~ 0.95 and
        # g = 1. A random start (keep 0.5, g spread over [1/s, s]) taught the encoder invariances that hurt.
        with torch.no_grad():
            self.mask_head.bias.fill_(INITIAL_MASK_LOGIT)
            self.transform_head.weight.zero_()
            self.transform_head.bias.zero_()

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mask logits w and scale g for ``x`` [B, T, C] (NaN allowed), each [B, T, C']."""
        filled = torch.where(torch.isnan(x), torch.zeros((), dtype=x.dtype, device=x.device), x)
        features = self.trunk(self.input_fc(filled).transpose(1, 2)).transpose(1, 2)
        scale = torch.exp(torch.tanh(self.transform_head(features)) * self.log_max_scale)
        return self.mask_head(features), scale

    def forward(self, x: Tensor, generator: torch.Generator | None = None, sample: bool = True) -> AugmentedView:
        """The view of ``x`` [B, T, C]: sampled mask and noise (``sample``) or deterministic sigmoid(w)."""
        logits, scale = self.heads(x)
        if sample:
            mask = hard_concrete_sample(
                logits, self.mask_temperature, self.gamma_zeta, self.gumbel_bias, self.hard_mask, generator
            )
        else:
            mask = torch.sigmoid(logits)
        target = x[..., self.n_covariates :]
        observed = ~torch.isnan(target)
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        view = scale * (mask * torch.where(observed, target, zero))
        if sample and self.noise_std > 0:
            noise = torch.randn(view.shape, generator=generator, dtype=view.dtype).to(view.device)
            view = view + self.noise_std * noise
        # Assignment, never multiplication: NaN * 0 would be NaN, and missing values must stay missing.
        view = torch.where(observed, view, torch.full((), float("nan"), dtype=x.dtype, device=x.device))
        values = torch.cat([x[..., : self.n_covariates], view], dim=-1)
        return AugmentedView(values=values, mask=mask, scale=scale, observed=observed)
