"""Hand-crafted views objective: two independently augmented views from a tsaug pipeline + a menu loss.

Each iteration optionally cuts random windows (``window``), makes two views of the batch with the view maker
of the ``[views]`` section (default ``tsaug``, the transforms named in ``views.augmentations``; every random
choice is drawn from the training generator, so runs are reproducible and resume exactly), encodes both and
applies the loss of the ``[loss]`` section (instance-level losses on max-pooled vectors, or ``hierarchical``
on time-aligned sequences). Views that move in time (``timewarp``, ``crop``) break the time alignment that
such losses need, so that combination is refused.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field
from torch import Tensor

from tscl.errors import ConfigError
from tscl.kernels.optim import adamw
from tscl.losses import instance_losses, loss_name, needs_aligned_views
from tscl.objectives.base import Setup, WindowLength
from tscl.registry import Options
from tscl.views.windows import random_windows


class AugmentOptions(Options):
    window: WindowLength = Field(0, ge=0, description="Length of random training windows (0: whole series).")
    window_batch: int | None = Field(None, ge=1, description="Windows per iteration (None: the run's batch size).")


class AugmentObjective:
    """Two hand-crafted views of each series (a view maker, default tsaug) and a menu loss (default InfoNCE)."""

    Options = AugmentOptions
    default_encoder = "ts2vec"
    default_loss = "infonce"
    default_views = "tsaug"

    def __init__(self, setup: Setup, *, window: int = 0, window_batch: int | None = None) -> None:
        if setup.views is None:
            raise ConfigError("objective augment must be given a view maker but got none", hint="set [views] name")
        loss = setup.require_loss()
        if needs_aligned_views(loss) and not getattr(setup.views, "time_aligned", True):
            raise ConfigError(
                f"loss {loss_name(loss)} needs time-aligned views but the views move in time (timewarp or crop)",
                hint="drop timewarp/crop from views.augmentations, or use an instance-level loss: "
                + ", ".join(instance_losses()),
            )
        self.encoder = setup.encoder
        self.views = setup.views
        self.loss = loss
        self.window = window or None
        self.window_batch = window_batch if window_batch is not None else setup.batch_size
        self.min_length = int(getattr(setup.views, "min_length", 1))
        self.optimizer = adamw(list(setup.encoder.parameters()) + list(loss.parameters()), lr=setup.lr)
        self.iteration = 0

    def training_step(self, x: Tensor, generator: torch.Generator) -> float:
        x = random_windows(x, self.window, self.window_batch, generator)
        view1, view2 = self.views.views(x, generator)
        self.optimizer.zero_grad()
        z1 = self.encoder(view1, generator=generator)
        z2 = self.encoder(view2, generator=generator)
        loss = self.loss(z1, z2)
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
