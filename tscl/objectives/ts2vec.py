"""TS2Vec objective: two overlapping random crops with independent timestamp masks, hierarchical loss.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022. The crops' shortest length
follows the loss's ``temporal_unit`` (the hierarchical loss needs 2^(u+1) steps for its temporal term).
"""

from __future__ import annotations

from typing import Any

import torch

from tscl.kernels.optim import adamw
from tscl.losses import min_batch, one_series_losses
from tscl.objectives.base import Setup, refuse_batches_of_too_few_series
from tscl.registry import Options
from tscl.views.crop import crop_views, draw_crop, encode_overlap

# Published results (Yue et al., AAAI 2022, as transcribed in spec/ts2vec.md), read by the evaluation tasks:
# task -> key -> numbers. Forecasting: (dataset, univariate) -> {horizon: (mse, mae), "mean": (mse, mae)} on
# the normalised scale ("mean" only where the paper states it; otherwise the tasks average the horizons).
# Classification: dataset -> {"accuracy": ...} with the RBF-SVM protocol.
PAPER: dict[str, dict[Any, dict[Any, Any]]] = {
    "forecasting": {
        ("ETTh1", True): {24: (0.039, 0.152), 48: (0.062, 0.191), 168: (0.134, 0.282), 336: (0.154, 0.310),
                          720: (0.163, 0.327), "mean": (0.110, 0.252)},
        ("ETTh1", False): {24: (0.599, 0.534), 48: (0.629, 0.555), 168: (0.755, 0.636), 336: (0.907, 0.717),
                           720: (1.048, 0.790), "mean": (0.788, 0.646)},
        ("ETTh2", True): {24: (0.090, 0.229), 48: (0.124, 0.273), 168: (0.208, 0.360), 336: (0.213, 0.369),
                          720: (0.214, 0.374)},
        ("ETTm1", True): {24: (0.015, 0.092), 48: (0.027, 0.126), 96: (0.044, 0.161), 288: (0.103, 0.246),
                          672: (0.156, 0.307)},
    },
    "classification": {"GunPoint": {"accuracy": 0.980}},
}  # fmt: skip
# Average published accuracy over an archive and the number of datasets averaged.
PAPER_ARCHIVE_AVERAGES = {"UCR": (0.830, 125), "UEA": (0.712, 29)}


class TS2VecOptions(Options):
    """TS2Vec has no options of its own: its loss (``[loss]``) and encoder (``[encoder]``) carry them."""


class TS2VecObjective:
    """Two overlapping random crops with timestamp masking, hierarchical contrast (TS2Vec, AAAI 2022)."""

    Options = TS2VecOptions
    default_encoder = "ts2vec"
    default_loss = "hierarchical"
    default_views = None
    paper = PAPER

    def __init__(self, setup: Setup) -> None:
        loss = setup.require_loss()
        self.encoder = setup.encoder
        self.loss = loss
        self.temporal_unit = int(getattr(loss, "temporal_unit", 0))
        self.ranks = (setup.rank, setup.world_size)
        self.optimizer = adamw(list(setup.encoder.parameters()) + list(loss.parameters()), lr=setup.lr)

    def check_batches(self, batch_size: int, shape: tuple[int, ...]) -> None:
        """Refuse batches of fewer series than the loss contrasts (its ``min_batch``; the default hierarchical
        loss learns from one series by its temporal term)."""
        one_series = ", ".join(one_series_losses())
        refuse_batches_of_too_few_series(
            "ts2vec", min_batch(self.loss), batch_size, shape[0],
            batch_hint=f"pass --batch-size 8 (the default), or a loss that learns from one series: {one_series}",
            data_hint=f"use a loss that learns from one series: --loss {one_series}",
        )  # fmt: skip

    def training_step(self, x: torch.Tensor, generator: torch.Generator) -> float:
        plan = draw_crop(x.size(0), x.size(1), self.temporal_unit, generator, *self.ranks)
        view1, view2 = crop_views(x, plan)
        self.optimizer.zero_grad()
        out1, out2 = encode_overlap(self.encoder, view1, view2, plan.crop_length, generator)
        loss = self.loss(out1, out2)
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "loss": self.loss.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.loss.load_state_dict(state.get("loss", {}))
