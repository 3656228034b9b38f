"""Sigmoid pairwise loss (Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from tscl.losses._base import check_pair, instance_vectors
from tscl.registry import Options, check_options

__all__ = ["SigmoidContrastiveLoss", "sigmoid_contrastive_loss"]


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
    check_pair(z1, z2, 2)
    logits = F.normalize(z1, dim=-1) @ F.normalize(z2, dim=-1).T * scale + bias
    labels = 2 * torch.eye(z1.size(0), dtype=logits.dtype, device=logits.device) - 1
    return F.softplus(-labels * logits).sum() / z1.size(0)


class SigLIPOptions(Options):
    temperature: float = Field(
        0.1, gt=0, allow_inf_nan=False, description="Initial (or fixed) temperature 1/t; SigLIP starts at 0.1."
    )
    bias: float = Field(
        -2.0, allow_inf_nan=False, description="Initial (or fixed) logit bias (about -log(B - 1) for B = 8)."
    )
    learnable: bool = Field(True, description="Learn the temperature and bias with the encoder, as SigLIP does.")


class SigmoidContrastiveLoss(nn.Module):
    """Sigmoid pairwise loss (SigLIP) on max-pooled vectors, learnable temperature and bias.

    Args:
        temperature: Initial (or fixed) temperature 1 / t, > 0. SigLIP initialises t = 10, i.e. 0.1.
        bias: Initial (or fixed) logit bias. SigLIP uses -10 for batches of thousands; the default -2
            (about -log(B - 1) for B = 8) suits the small batches of time-series pretraining.
        learnable: Learn log t and b with the encoder (they are parameters of this module, so the
            objective's optimizer must include them), as in SigLIP; False keeps them fixed.
    """

    Options = SigLIPOptions
    aligned_views = False
    min_batch = 2  # the other series of the batch are the only negatives: one series is only pulled together

    def __init__(self, temperature: float = 0.1, bias: float = -2.0, learnable: bool = True) -> None:
        super().__init__()
        values = {"temperature": temperature, "bias": bias, "learnable": learnable}
        options = check_options(self.Options, values, "loss", "siglip")
        self.temperature = options.temperature  # the initial one (objectives reuse it for their own terms)
        log_scale = torch.tensor(-math.log(options.temperature))
        bias_value = torch.tensor(float(options.bias))
        if options.learnable:
            self.log_scale = nn.Parameter(log_scale)
            self.bias = nn.Parameter(bias_value)
        else:
            self.register_buffer("log_scale", log_scale)
            self.register_buffer("bias", bias_value)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two views [B, T, D] (max-pooled over time) or [B, D]; returns a scalar."""
        return sigmoid_contrastive_loss(*instance_vectors(z1, z2), self.log_scale.exp(), self.bias)


COMPONENT = SigmoidContrastiveLoss
