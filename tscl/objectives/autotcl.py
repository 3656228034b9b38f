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
   forecasting setting, which won on ETTh1's validation split; see `tscl.pretraining.task_defaults`).
   With ``context_crop``, the encoder step contrasts TS2Vec's two overlapping random crops, the first cut
   from x and the second from v, on their overlap: the learned view on top of TS2Vec's contextual views.

Per-step diagnostics (mask keep-rate, RMS distance between view and input, losses) are in ``diagnostics``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from tscl.augment.network import AugmentationNetwork, AugmentedView, temporal_consistency
from tscl.augment.windows import random_windows
from tscl.losses.contrastive import LOSSES, LocalInfoNCELoss, contrast, create_loss, max_pool_time, mmd_loss
from tscl.objectives import register_objective
from tscl.objectives.options import check_choice, check_int, check_number, check_optional_int
from tscl.training.views import crop_views, draw_crop, encode_overlap

AUG_OBJECTIVES = ("fidelity", "adversarial")
AUG_OPTIMIZERS = ("adam", "adamw")


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


class AutoTCLObjective:
    """Parametric augmentation + contrastive encoder training (see the module docstring).

    Args:
        encoder: The encoder f, ``[B, T, C] -> [B, T, D]``.
        input_dims: Input channels C.
        lr: Encoder AdamW learning rate.
        loss: Menu loss of the encoder step (hierarchical, or infonce as in the paper, dcl, siglip).
        temperature: Temperature of the menu loss and of the local loss.
        local_weight: Weight of the local InfoNCE term (ignored with ``hierarchical``).
        n_segments: Segments K of the local loss.
        window: Length of the training windows (None: whole series).
        window_batch: Windows per iteration (None: the batch size).
        aug_lr: Learning rate of the augmentation network.
        aug_optimizer: "adam" or "adamw".
        aug_objective: "fidelity" (the paper) or "adversarial".
        ratio_step: An augmentation step every this many iterations.
        reg_weight: Weight of the mask keep-rate (compression).
        regular_weight: Weight of the mask's temporal consistency.
        aug_hidden_dims, aug_dims: Widths H and A of the augmentation network.
        mask_temperature, gamma_zeta, gumbel_bias, hard_mask: Hard-concrete mask settings.
        max_scale: The transformation g lies in [1 / max_scale, max_scale].
        noise_std: Standard deviation of the view's additive noise.
        n_covariates: Leading (calendar) channels that are never augmented.
        context_crop: Encoder step on TS2Vec's two overlapping random crops, the first cut from x and the
            second from its view v, contrasted on their overlap (False: x and v whole). ``tscl pretrain``
            turns it on for classification data (see `tscl.pretraining.task_defaults`).
        alpha, temporal_unit: Settings of the hierarchical loss.
        siglip_bias, learnable_temperature: Settings of the siglip loss.
        device: Where the augmentation network lives.
    """

    paper = PAPER

    def __init__(
        self,
        encoder: nn.Module,
        *,
        input_dims: int,
        lr: float = 1e-3,
        loss: str = "hierarchical",
        temperature: float = 0.1,
        local_weight: float = 0.1,
        n_segments: int = 16,
        window: int | None = 256,
        window_batch: int | None = None,
        aug_lr: float = 1e-3,
        aug_optimizer: str = "adam",
        aug_objective: str = "fidelity",
        ratio_step: int = 1,
        reg_weight: float = 0.01,
        regular_weight: float = 0.0,
        aug_hidden_dims: int = 64,
        aug_dims: int = 16,
        mask_temperature: float = 2.0 / 3.0,
        gamma_zeta: float = 0.05,
        gumbel_bias: float = 0.05,
        hard_mask: bool = True,
        max_scale: float = 2.0,
        noise_std: float = 0.05,
        n_covariates: int = 0,
        context_crop: bool = False,
        alpha: float = 0.5,
        temporal_unit: int = 0,
        siglip_bias: float = -2.0,
        learnable_temperature: bool = True,
        device: torch.device | str = "cpu",
        **_: Any,
    ) -> None:
        self.encoder = encoder
        self.loss_name = check_choice("loss", loss, LOSSES)
        self.local_weight = check_number("local_weight", local_weight, low=0.0)
        self.window = check_optional_int("window", window, low=2)
        self.window_batch = check_optional_int("window_batch", window_batch)
        self.aug_objective = check_choice("aug_objective", aug_objective, AUG_OBJECTIVES)
        self.ratio_step = check_int("ratio_step", ratio_step)
        self.reg_weight = check_number("reg_weight", reg_weight, low=0.0)
        self.regular_weight = check_number("regular_weight", regular_weight, low=0.0)
        self.context_crop = bool(context_crop)
        self.temporal_unit = check_int("temporal_unit", temporal_unit, low=0)
        self.loss = create_loss(
            loss, temperature=check_number("temperature", temperature, low=0.0, open_low=True), alpha=alpha,
            temporal_unit=temporal_unit, siglip_bias=siglip_bias, learnable_temperature=learnable_temperature,
        ).to(device)  # fmt: skip
        self.local_loss = LocalInfoNCELoss(check_int("n_segments", n_segments), temperature)
        self.augmenter = AugmentationNetwork(
            input_dims, n_covariates=check_int("n_covariates", n_covariates, low=0),
            hidden_dims=check_int("aug_hidden_dims", aug_hidden_dims),
            aug_dims=check_int("aug_dims", aug_dims),
            mask_temperature=check_number("mask_temperature", mask_temperature, low=0.0, open_low=True),
            gamma_zeta=check_number("gamma_zeta", gamma_zeta, low=0.0, high=1.0),
            gumbel_bias=check_number("gumbel_bias", gumbel_bias, low=0.0, high=0.49),
            hard_mask=bool(hard_mask), max_scale=check_number("max_scale", max_scale, low=1.0),
            noise_std=check_number("noise_std", noise_std, low=0.0),
        ).to(device)  # fmt: skip
        parameters = list(encoder.parameters()) + list(self.loss.parameters())
        self.optimizer = torch.optim.AdamW(parameters, lr=check_number("lr", lr, low=0.0, open_low=True))
        optimizer_class = torch.optim.Adam if aug_optimizer == "adam" else torch.optim.AdamW
        check_choice("aug_optimizer", aug_optimizer, AUG_OPTIMIZERS)
        self.aug_optimizer = optimizer_class(
            self.augmenter.parameters(), lr=check_number("aug_lr", aug_lr, low=0.0, open_low=True)
        )
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
        loss = contrast(self.loss_name, self.loss, zx, zv)
        if self.loss_name != "hierarchical" and self.local_weight > 0:
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
            plan = draw_crop(x.size(0), x.size(1), self.temporal_unit, generator)
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


register_objective("autotcl", AutoTCLObjective)
