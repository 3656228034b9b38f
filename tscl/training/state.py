"""What a checkpoint holds besides weights: the training progress, the dropout stream, the model's settings.

Training resumes exactly: with the generator state, `TrainProgress` (step and epoch counters, the position
inside the current epoch's shuffle, the losses so far) determines the rest of training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from tscl.config import RunConfig, config_from_mapping, resolve_for_task
from tscl.config_migration import migrate_legacy

__all__ = ["DROPOUT_STREAM", "TrainProgress", "config_of_params", "set_dropout_stream"]

# The dropout mask stream of models built by this version (see `tscl.encoders.ts2vec.TSEncoder.dropout_stream`).
DROPOUT_STREAM = "numpy"


@dataclass
class TrainProgress:
    """Iteration bookkeeping; with the generator state it determines the rest of training."""

    step: int = 0
    epoch: int = 0
    epoch_position: int = 0
    epoch_order: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    train_seconds: float = 0.0

    def state(self) -> dict[str, Any]:
        """The checkpoint's ``progress`` entry (lists as tensors)."""
        return {
            "step": self.step, "epoch": self.epoch, "epoch_position": self.epoch_position,
            "epoch_order": torch.tensor(self.epoch_order, dtype=torch.long),
            "losses": torch.tensor(self.losses, dtype=torch.float64),
            "epoch_losses": torch.tensor(self.epoch_losses, dtype=torch.float64),
            "train_seconds": self.train_seconds,
        }  # fmt: skip

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TrainProgress:
        """The progress a checkpoint's ``progress`` entry (:meth:`state`) records."""
        return cls(
            step=int(state["step"]), epoch=int(state["epoch"]), epoch_position=int(state["epoch_position"]),
            epoch_order=state["epoch_order"].tolist(), losses=state["losses"].tolist(),
            epoch_losses=state["epoch_losses"].tolist(), train_seconds=float(state["train_seconds"]),
        )  # fmt: skip


def set_dropout_stream(modules: list[torch.nn.Module], stream: str) -> None:
    """Give every encoder layer with a choice of dropout mask stream (``dropout_stream``) ``stream``."""
    for module in modules:
        for layer in module.modules():
            if hasattr(layer, "dropout_stream"):
                setattr(layer, "dropout_stream", stream)  # noqa: B010  (mypy types Module attributes as tensors)


def config_of_params(params: Mapping[str, Any], device: str) -> tuple[RunConfig, int, int]:
    """(configuration, input channels, covariate channels) of a checkpoint's ``params``: this version's, or
    tscl 0.1's flat ones (migrated); the configuration's device is ``device``."""
    params = dict(params)
    if "config" in params:
        config = config_from_mapping({**params.pop("config"), "device": device}, source="checkpoint")
        return config, params["input_dims"], params.get("n_covariates", 0)
    flat = {**params.pop("objective_options", {}), **params, "device": device}
    n_covariates = int(flat.pop("n_covariates", 0))
    input_dims = flat.pop("input_dims")
    config = config_from_mapping(migrate_legacy(flat), source="checkpoint")
    return resolve_for_task(config, ""), input_dims, n_covariates
