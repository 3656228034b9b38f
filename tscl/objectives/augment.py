"""Hand-crafted views objective: two independently augmented views from a tsaug pipeline + a menu loss.

Each iteration optionally cuts random windows (``window``), makes two views of the batch with the view maker
of the ``[views]`` section (default ``tsaug``, the transforms named in ``views.augmentations``; every random
choice is drawn from the training generator, so runs are reproducible and resume exactly), encodes both and
applies the loss of the ``[loss]`` section (instance-level losses on max-pooled vectors, or ``hierarchical``
on time-aligned sequences). Views that move in time (``timewarp``, ``crop``) break the time alignment that
such losses need, so that combination is refused, as are batches of one series (or one window) for a loss
whose only negatives are the batch's other series (``min_batch``): its loss would be 0 at every step.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field
from torch import Tensor

from tscl.errors import ConfigError
from tscl.kernels.optim import adamw
from tscl.losses import instance_losses, loss_name, min_batch, needs_aligned_views
from tscl.objectives.base import Setup, WindowLength, refuse_batches_of_too_few_series
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
        self.window_batch_option = window_batch
        self.min_length = int(getattr(setup.views, "min_length", 1))
        self.optimizer = adamw(list(setup.encoder.parameters()) + list(loss.parameters()), lr=setup.lr)
        self.iteration = 0

    def check_batches(self, batch_size: int, shape: tuple[int, ...]) -> None:
        """Refuse batches of fewer series (or windows) than the loss contrasts (its ``min_batch``)."""
        needed = min_batch(self.loss)
        windows = self.window is not None and shape[1] > self.window
        rows = self.window_batch if windows else min(batch_size, shape[0])
        if rows >= needed:
            return
        if windows and self.window_batch_option is not None:
            raise ConfigError(
                f"objective.window_batch must be at least {needed} for objective augment: its loss's only "
                f"negatives are the batch's other rows, but got {rows}",
                hint="e.g. --set objective.window_batch=8",
            )
        refuse_batches_of_too_few_series(
            "augment", needed, batch_size, shape[0], batch_hint="pass --batch-size 8 (the default)",
            data_hint=f"train on windows of it: --set objective.window=W (W shorter than its {shape[1]} steps), "
            "or use another objective (ts2vec learns from one series)",
        )  # fmt: skip

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
