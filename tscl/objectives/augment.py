"""Hand-crafted views objective: two independently augmented views from a tsaug pipeline + a menu loss.

Each iteration optionally cuts random windows (``window``), makes two views of the batch with the transforms
named in ``augmentations`` (see :mod:`tscl.augment.pipeline`; each transform gets a fresh seed drawn from the
training generator, so runs are reproducible and resume exactly), encodes both and applies the chosen loss
(``infonce``, ``dcl``, ``siglip`` on max-pooled vectors, or ``hierarchical`` on time-aligned sequences).
Time-moving transforms (``timewarp``, ``crop``) break the time alignment that ``hierarchical`` needs, so that
combination is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from tscl.augment.pipeline import ViewPipeline
from tscl.augment.windows import random_windows
from tscl.errors import ConfigError
from tscl.losses.contrastive import LOSSES, contrast, create_loss
from tscl.objectives import register_objective
from tscl.objectives.options import check_choice, check_int, check_number, check_optional_int
from tscl.training.optim import adamw

DEFAULT_AUGMENTATIONS = "jitter,scaling,timewarp"


class AugmentObjective:
    """Contrast two hand-crafted views of each series (see the module docstring).

    Args:
        encoder: The encoder f, ``[B, T, C] -> [B, T, D]``.
        lr: AdamW learning rate (encoder and any learnable loss parameters).
        augmentations: Comma-separated transform names, applied in order.
        loss: Menu loss (infonce, dcl, siglip, hierarchical).
        temperature: Temperature of infonce/dcl, initial temperature of siglip.
        window: Length of random training windows (None: whole series).
        window_batch: Windows per iteration (None: the batch size).
        n_covariates: Leading (calendar) channels that value transforms leave unchanged.
        alpha, temporal_unit: Settings of the hierarchical loss.
        siglip_bias, learnable_temperature: Settings of the siglip loss.
        device: Device of the loss parameters.
    """

    # tsaug's pooling, cropping and time warping need a few steps to work with.
    min_length = 8

    def __init__(
        self,
        encoder: nn.Module,
        *,
        lr: float = 1e-3,
        augmentations: str = DEFAULT_AUGMENTATIONS,
        loss: str = "infonce",
        temperature: float = 0.1,
        window: int | None = None,
        window_batch: int | None = None,
        n_covariates: int = 0,
        alpha: float = 0.5,
        temporal_unit: int = 0,
        siglip_bias: float = -2.0,
        learnable_temperature: bool = True,
        device: torch.device | str = "cpu",
        **_: Any,
    ) -> None:
        self.encoder = encoder
        self.loss_name = check_choice("loss", loss, LOSSES)
        self.pipeline = ViewPipeline(augmentations, n_covariates=check_int("n_covariates", n_covariates, low=0))
        if LOSSES[loss].timestamp_level and not self.pipeline.time_aligned:
            raise ConfigError(
                f"loss {loss} needs time-aligned views but augmentations {','.join(self.pipeline.names)} "
                "include timewarp or crop",
                hint="drop timewarp/crop, or use an instance-level loss: infonce, dcl or siglip",
            )
        self.window = check_optional_int("window", window, low=2)
        self.window_batch = check_optional_int("window_batch", window_batch)
        self.loss = create_loss(
            loss, temperature=check_number("temperature", temperature, low=0.0, open_low=True), alpha=alpha,
            temporal_unit=temporal_unit, siglip_bias=siglip_bias, learnable_temperature=learnable_temperature,
        ).to(device)  # fmt: skip
        parameters = list(encoder.parameters()) + list(self.loss.parameters())
        self.optimizer = adamw(parameters, lr=check_number("lr", lr, low=0.0, open_low=True))
        self.iteration = 0

    def views(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Two independently augmented views of ``x`` [B, T, C], seeds drawn from ``generator``."""
        array = x.detach().cpu().numpy()
        seeds = torch.randint(0, 2**31 - 1, (2, len(self.pipeline.names)), generator=generator).tolist()
        first, second = (torch.from_numpy(np.ascontiguousarray(self.pipeline(array, s))) for s in seeds)
        return first.to(x.device), second.to(x.device)

    def training_step(self, x: Tensor, generator: torch.Generator) -> float:
        x = random_windows(x, self.window, self.window_batch, generator)
        view1, view2 = self.views(x, generator)
        self.optimizer.zero_grad()
        z1 = self.encoder(view1, generator=generator)
        z2 = self.encoder(view2, generator=generator)
        loss = contrast(self.loss_name, self.loss, z1, z2)
        loss.backward()
        self.optimizer.step()
        self.iteration += 1
        return float(loss.item())

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "loss": self.loss.state_dict(),
            "iteration": self.iteration,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.loss.load_state_dict(state["loss"])
        self.iteration = int(state["iteration"])


register_objective("augment", AugmentObjective)
