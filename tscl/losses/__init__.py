"""Contrastive losses: small typed pure functions, each with a thin ``nn.Module`` that checks its settings."""

from tscl.losses.hierarchical import (
    HierarchicalContrastiveLoss,
    hierarchical_contrastive_loss,
    instance_contrastive_loss,
    temporal_contrastive_loss,
)

__all__ = [
    "HierarchicalContrastiveLoss",
    "hierarchical_contrastive_loss",
    "instance_contrastive_loss",
    "temporal_contrastive_loss",
]
