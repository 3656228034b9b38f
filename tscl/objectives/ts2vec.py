"""TS2Vec objective: two overlapping random crops with independent timestamp masks, hierarchical loss."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tscl.losses.hierarchical import hierarchical_contrastive_loss
from tscl.objectives import register_objective
from tscl.training.optim import adamw
from tscl.training.views import crop_views, draw_crop, encode_overlap

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


class TS2VecObjective:
    """Yue et al., AAAI 2022: cropping + masking views, hierarchical contrast, AdamW."""

    paper = PAPER

    def __init__(
        self, encoder: nn.Module, *, lr: float = 1e-3, alpha: float = 0.5, temporal_unit: int = 0, **_: Any
    ) -> None:
        self.encoder = encoder
        self.alpha = alpha
        self.temporal_unit = temporal_unit
        self.optimizer = adamw(encoder.parameters(), lr=lr)

    def training_step(self, x: torch.Tensor, generator: torch.Generator) -> float:
        plan = draw_crop(x.size(0), x.size(1), self.temporal_unit, generator)
        view1, view2 = crop_views(x, plan)
        self.optimizer.zero_grad()
        out1, out2 = encode_overlap(self.encoder, view1, view2, plan.crop_length, generator)
        loss = hierarchical_contrastive_loss(out1, out2, alpha=self.alpha, temporal_unit=self.temporal_unit)
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


register_objective("ts2vec", TS2VecObjective)
