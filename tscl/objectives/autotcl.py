"""AutoTCL objective: a learned augmentation network as view maker, trained alternately with the encoder.

Zheng et al., "Parametric Augmentation for Time Series Contrastive Learning", ICLR 2024. Every iteration:

1. Cut ``window_batch`` random windows of ``window`` steps from the batch (whole series when shorter).
2. Every ``ratio_step`` iterations, an **augmentation step** with the encoder frozen: the view v is sampled
   from the augmentation network and, with ``aug_objective="fidelity"`` (the paper),
   ``L_aug = MMD(pool f(x), pool f(v)) + reg_weight * keep_rate(m) + regular_weight * consistency(m)``
   (pool = max over time: the features the encoder step contrasts). With ``aug_objective="adversarial"``
   (InfoMin-style, Tian et al., NeurIPS 2020) the augmenter instead *maximises* the encoder's contrastive
   loss, regularised by the same terms:
   ``L_aug = -L_enc(x, v) + MMD + reg_weight * keep + regular_weight * cons``.
3. An **encoder step**: v is sampled without gradient into the augmenter and, with ``loss="infonce"`` (the
   paper), ``L_enc = InfoNCE(pool f(x), pool f(v)) + local_weight * LocalInfoNCE(f(x), f(v))`` (cosine,
   temperature, symmetric); ``dcl`` and ``siglip`` replace the first term. With ``loss="hierarchical"``
   (the default: v is time-aligned with x) the TS2Vec hierarchical loss between f(x) and f(v) replaces both
   terms. The default was chosen on validation data only (ETTh1's validation split, GunPoint's training
   set by cross-validation): the paper's max-pooled InfoNCE lost most of GunPoint's class information.
   ``tscl pretrain`` uses ``infonce`` on forecasting data instead, with the ``cost`` encoder (the paper's
   forecasting setting, which won on ETTh1's validation split; see ``task_defaults``).
   With ``context_crop``, the encoder step contrasts TS2Vec's two overlapping random crops, the first cut
   from x and the second from v, on their overlap: the learned view on top of TS2Vec's contextual views.

Per-step diagnostics (mask keep-rate, RMS distance between view and input, losses) are in ``diagnostics``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor

from tscl.losses import needs_aligned_views
from tscl.losses._base import max_pool_time
from tscl.losses._mmd import mmd_loss
from tscl.losses.local_infonce import LocalInfoNCELoss
from tscl.objectives.autotcl_presets import PRESETS
from tscl.objectives.base import Setup, WindowLength
from tscl.registry import Options, check_options
from tscl.views.augmenter import AugmentationNetwork, AugmentedView, temporal_consistency
from tscl.views.crop import crop_views, draw_crop, encode_overlap
from tscl.views.windows import random_windows

# Published results (Zheng et al., ICLR 2024, as transcribed in spec/autotcl.md), read by the evaluation
# tasks: task -> (dataset, univariate) -> {horizon: (mse, mae), "mean": (mse, mae)}, normalised scale.
PAPER: dict[str, dict[Any, dict[Any, Any]]] = {
    "forecasting": {
        ("ETTh1", True): {24: (0.037, 0.148), 48: (0.054, 0.176), 168: (0.078, 0.210), 336: (0.093, 0.231),
                          720: (0.120, 0.272), "mean": (0.076, 0.207)},
        ("ETTh2", True): {"mean": (0.158, 0.299)},
        ("ETTm1", True): {"mean": (0.046, 0.154)},
        ("ETTh1", False): {"mean": (0.656, 0.590)},
    },
}  # fmt: skip


class AutoTCLOptions(Options):
    window: WindowLength = Field(256, ge=0, description="Length of the random training windows (0: whole series).")
    window_batch: int | None = Field(None, ge=1, description="Windows per iteration (None: the run's batch size).")
    local_weight: float = Field(0.1, ge=0, allow_inf_nan=False, description="Weight of the local InfoNCE term.")
    n_segments: int = Field(16, ge=1, description="Segments of the local InfoNCE.")
    local_temperature: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Temperature of the local InfoNCE (None: the loss's, or 0.1)."
    )
    aug_lr: float = Field(1e-3, gt=0, allow_inf_nan=False, description="Augmentation network learning rate.")
    aug_optimizer: Literal["adam", "adamw"] = Field("adam", description="Optimizer of the augmentation network.")
    aug_objective: Literal["fidelity", "adversarial"] = Field(
        "fidelity", description="fidelity (MMD + compression, the paper) or adversarial (maximise the encoder loss)."
    )
    ratio_step: int = Field(1, ge=1, description="An augmentation step every N iterations.")
    reg_weight: float = Field(0.01, ge=0, allow_inf_nan=False, description="Weight of the mask keep-rate.")
    regular_weight: float = Field(0.0, ge=0, allow_inf_nan=False, description="Weight of the mask's smoothness.")
    aug_hidden_dims: int = Field(64, ge=1, description="Augmentation trunk width H.")
    aug_dims: int = Field(16, ge=1, description="Augmentation trunk output width A.")
    mask_temperature: float = Field(2 / 3, gt=0, allow_inf_nan=False, description="Hard-concrete temperature.")
    gamma_zeta: float = Field(0.05, ge=0, le=1, description="Hard-concrete stretch gamma.")
    gumbel_bias: float = Field(0.05, ge=0, le=0.49, description="Noise truncation b: u ~ U(b, 1 - b).")
    hard_mask: bool = Field(True, description="Binarise the mask, straight-through gradient.")
    max_scale: float = Field(2.0, ge=1, allow_inf_nan=False, description="The transformation g lies in [1/s, s].")
    noise_std: float = Field(0.05, ge=0, allow_inf_nan=False, description="Std of the view's noise (0 disables).")
    context_crop: bool = Field(
        False, description="Encoder step on TS2Vec's overlapping crops, one of x, one of its view (else whole views)."
    )


class AutoTCLObjective:
    """Learned augmentation network v = g(m x) + dv, trained alternately with the encoder (AutoTCL, ICLR 2024).

    Args:
        setup: The encoder, its loss (``[loss]``: hierarchical, or infonce as in the paper, dcl, siglip, ...),
            input channels, learning rate, batch size, covariate channels and device.
        window, window_batch: Random training windows (see the options class for every option's meaning).
        local_weight, n_segments, local_temperature: The local InfoNCE term (with losses on instance vectors).
        aug_lr, aug_optimizer, aug_objective, ratio_step: The augmentation step.
        reg_weight, regular_weight: The mask's compression and smoothness terms.
        aug_hidden_dims, aug_dims, mask_temperature, gamma_zeta, gumbel_bias, hard_mask, max_scale, noise_std:
            The augmentation network.
        context_crop: Encoder step on TS2Vec's two overlapping random crops, the first cut from x and the
            second from its view v, contrasted on their overlap (False: x and v whole).
    """

    Options = AutoTCLOptions
    default_encoder = "ts2vec"
    default_loss = "hierarchical"
    default_views = None
    # Chosen on validation data (README, AutoTCL): the paper's forecasting setting (the CoST encoder, global +
    # local InfoNCE) on forecasting data, TS2Vec's overlapping crops on classification data.
    task_defaults = {
        "forecasting": {"encoder": {"name": "cost"}, "loss": {"name": "infonce"}},
        "classification": {"objective": {"options": {"context_crop": True}}},
    }
    presets = PRESETS
    paper = PAPER

    def __init__(self, setup: Setup, **options: Any) -> None:
        o = check_options(AutoTCLOptions, options, "objective", "autotcl")
        loss = setup.require_loss()
        self.encoder = setup.encoder
        self.loss = loss
        self.local_weight = o.local_weight
        self.window = o.window or None
        self.window_batch = o.window_batch if o.window_batch is not None else setup.batch_size
        self.aug_objective = o.aug_objective
        self.ratio_step = o.ratio_step
        self.reg_weight = o.reg_weight
        self.regular_weight = o.regular_weight
        self.context_crop = o.context_crop
        self.temporal_unit = int(getattr(loss, "temporal_unit", 0))
        self.ranks = (setup.rank, setup.world_size)
        local_temperature = o.local_temperature or float(getattr(loss, "temperature", 0.1))
        self.local_loss = LocalInfoNCELoss(o.n_segments, local_temperature)
        self.augmenter = AugmentationNetwork(
            setup.input_dims, n_covariates=setup.n_covariates, hidden_dims=o.aug_hidden_dims, aug_dims=o.aug_dims,
            mask_temperature=o.mask_temperature, gamma_zeta=o.gamma_zeta, gumbel_bias=o.gumbel_bias,
            hard_mask=o.hard_mask, max_scale=o.max_scale, noise_std=o.noise_std,
        ).to(setup.device)  # fmt: skip
        parameters = list(setup.encoder.parameters()) + list(loss.parameters())
        self.optimizer = torch.optim.AdamW(parameters, lr=setup.lr)
        optimizer_class = torch.optim.Adam if o.aug_optimizer == "adam" else torch.optim.AdamW
        self.aug_optimizer = optimizer_class(self.augmenter.parameters(), lr=o.aug_lr)
        self.iteration = 0
        self.diagnostics: dict[str, float] = {}

    # -- the two steps --------------------------------------------------------------------------------
    def training_step(self, x: Tensor, generator: torch.Generator) -> float:
        x = random_windows(x, self.window, self.window_batch, generator)
        diagnostics = {"aug_loss": math.nan, "mmd": math.nan}
        if self.iteration % self.ratio_step == 0:
            diagnostics.update(self._augmenter_step(x, generator))
        loss, view = self._encoder_step(x, generator)
        self.iteration += 1
        self.diagnostics = {"loss": loss, **diagnostics, **_view_statistics(x, view)}
        return loss

    def encoder_loss(self, zx: Tensor, zv: Tensor) -> Tensor:
        """L_enc of encoder outputs [B, T, D] of the input and of its view."""
        loss = self.loss(zx, zv)
        if not needs_aligned_views(self.loss) and self.local_weight > 0:
            loss = loss + self.local_weight * self.local_loss(zx, zv)
        return loss

    def _augmenter_step(self, x: Tensor, generator: torch.Generator) -> dict[str, float]:
        self.augmenter.train()
        frozen = [p for p in self.encoder.parameters() if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
        try:
            view = self.augmenter(x, generator=generator)
            with torch.no_grad():
                zx = self.encoder(x, generator=generator)
            zv = self.encoder(view.values, generator=generator)
            fidelity = mmd_loss(max_pool_time(zx), max_pool_time(zv))
            loss = fidelity + self.reg_weight * view.keep_rate()
            if self.regular_weight > 0:
                loss = loss + self.regular_weight * temporal_consistency(view.mask)
            if self.aug_objective == "adversarial":
                loss = loss - self.encoder_loss(zx, zv)
            self.aug_optimizer.zero_grad()
            loss.backward()
            self.aug_optimizer.step()
        finally:
            for p in frozen:
                p.requires_grad_(True)
        return {"aug_loss": float(loss.item()), "mmd": float(fidelity.item())}

    def _encoder_step(self, x: Tensor, generator: torch.Generator) -> tuple[float, AugmentedView]:
        with torch.no_grad():
            view = self.augmenter(x, generator=generator)
        self.optimizer.zero_grad()
        if self.context_crop:
            plan = draw_crop(x.size(0), x.size(1), self.temporal_unit, generator, *self.ranks)
            crop_x, crop_v = crop_views(x, plan, second=view.values)
            zx, zv = encode_overlap(self.encoder, crop_x, crop_v, plan.crop_length, generator)
        else:
            zx, zv = encode_overlap(self.encoder, x, view.values, x.size(1), generator)
        loss = self.encoder_loss(zx, zv)
        loss.backward()
        self.optimizer.step()
        return float(loss.item()), view

    # -- persistence ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "augmenter": self.augmenter.state_dict(),
            "aug_optimizer": self.aug_optimizer.state_dict(),
            "loss": self.loss.state_dict(),
            "iteration": self.iteration,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.augmenter.load_state_dict(state["augmenter"])
        self.aug_optimizer.load_state_dict(state["aug_optimizer"])
        self.loss.load_state_dict(state["loss"])
        self.iteration = int(state["iteration"])


def _view_statistics(x: Tensor, view: AugmentedView) -> dict[str, float]:
    """Keep-rate of the (hard) mask and RMS distance between view and input over observed augmented values."""
    observed = view.observed
    count = observed.sum().clamp_min(1)
    covariates = x.size(-1) - observed.size(-1)
    difference = torch.where(observed, view.values[..., covariates:] - x[..., covariates:], 0.0)
    return {
        "keep_rate": float(((view.mask > 0.5) & observed).sum() / count),
        "view_distance": float((difference.square().sum() / count).sqrt()),
        "scale": float(torch.where(observed, view.scale, 0.0).sum() / count),
    }
