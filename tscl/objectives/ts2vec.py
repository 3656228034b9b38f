"""TS2Vec objective: two overlapping random crops with independent timestamp masks, hierarchical loss."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tscl.losses.hierarchical import hierarchical_contrastive_loss
from tscl.objectives import register_objective
from tscl.training.optim import adamw
from tscl.training.views import crop_views, draw_crop, encode_overlap


class TS2VecObjective:
    """Yue et al., AAAI 2022: cropping + masking views, hierarchical contrast, AdamW."""

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
