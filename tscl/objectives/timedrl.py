"""TimeDRL: disentangled timestamp- and instance-level representations without augmentations.

Chang et al., "TimeDRL: Disentangled Representation Learning for Multivariate Time-Series", ICDE 2024.
Each iteration cuts random windows and encodes them twice; the two passes differ only by dropout. The
timestamp-predictive loss maps each patch token back to its (normalised) patch with a linear head (MSE, both
passes); the instance-contrastive loss is SimSiam's: a predictor on the instance embedding of each pass
against the other pass's embedding with the gradient stopped, negative cosine, no negatives. Total =
predictive + ``contrastive_weight`` x contrastive.

With the ``patch_transformer`` encoder (the default) tokens are patches and the instance embedding is its
``pooling`` ([CLS] by default), as in the paper. Any other encoder is used per timestamp: each step's
representation predicts the step's values and the instance embedding is the maximum over time.

Differences from the public code: the predictive target is the normalised patch the encoder sees (the public
code feeds normalised patches but predicts the raw ones); patches are aligned to the window's end and padded
at the start (the public code repeats the last value to pad the end, a patch that reaches past the window);
positions are sinusoidal for any number of patches; results are selected on validation, never on test.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from tscl.encoders.patch_transformer import PatchTokens
from tscl.kernels.optim import adamw
from tscl.objectives.base import Preset, Setup, WindowLength
from tscl.registry import Options
from tscl.views.windows import random_windows


class TimeDRLOptions(Options):
    contrastive_weight: float = Field(1.0, ge=0, description="Weight of the instance-contrastive loss (lambda).")
    window: WindowLength = Field(512, ge=0, description="Length of random training windows (0: whole series).")
    window_batch: int | None = Field(None, ge=1, description="Windows per iteration (None: the run's batch size).")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    dropout: float = Field(0.2, ge=0, lt=1, description="Dropout before the predictive and predictor heads.")


class SimSiamPredictor(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Dropout -> Linear, bottleneck D/2 (a batch of one skips the norm)."""

    def __init__(self, dims: int, dropout: float) -> None:
        super().__init__()
        middle = max(1, dims // 2)
        self.first, self.norm = nn.Linear(dims, middle), nn.BatchNorm1d(middle)
        self.last = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(middle, dims))

    def forward(self, z: Tensor) -> Tensor:
        h = self.first(z)
        return self.last(self.norm(h) if h.size(0) > 1 else h)  # type: ignore[no-any-return]


def negative_cosine(prediction: Tensor, target: Tensor) -> Tensor:
    """SimSiam's loss term: minus the mean cosine similarity, the target's gradient stopped."""
    return -F.cosine_similarity(prediction, target.detach(), dim=-1).mean()


def predictive_error(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over the observed target values (0 when there are none)."""
    observed = ~torch.isnan(target)
    error = (prediction - target.nan_to_num()).square() * observed
    return error.sum() / observed.sum().clamp_min(1)


def _univariate_etth1() -> Preset:
    """The authors' published ETTh1-univariate setting (their results file), in tscl's terms.

    10 epochs of stride-1 windows of 168 steps over the 8640-step training split in batches of 32 are
    about 2650 iterations of 32 random windows.
    """
    encoder = {"hidden_dims": 128, "repr_dims": 128, "depth": 2, "heads": 1, "dropout": 0.3, "patch_len": 16,
               "stride": 16, "channel_independent": True}  # fmt: skip
    options = {"contrastive_weight": 5.0, "window": 168, "window_batch": 32, "weight_decay": 0.0014050,
               "dropout": 0.3}  # fmt: skip
    values = {
        "dataset": "ETTh1", "univariate": True, "batch_size": 32, "lr": 1.146e-5, "iters": 2650,
        "objective": {"options": options}, "encoder": {"name": "patch_transformer", "options": encoder},
    }  # fmt: skip
    return Preset(
        "timedrl-etth1-univariate",
        "TimeDRL on ETTh1, OT only (published by the TimeDRL authors, chosen on the test split; 10 epochs "
        "= 2650 iterations of 32 windows)",
        values,
    )


class TimeDRLObjective:
    """Dropout-only views, a patch-predictive loss and a SimSiam instance loss (TimeDRL, ICDE 2024)."""

    Options = TimeDRLOptions
    default_encoder = "patch_transformer"
    default_loss = None  # its loss is predictive + contrastive_weight x SimSiam
    default_views = None
    task_defaults = {
        "forecasting": {"encoder": {"name": "patch_transformer", "options": {"channel_independent": True}}}
    }
    presets = {p.name: p for p in (_univariate_etth1(),)}
    paper = {
        "forecasting": {
            ("ETTh1", True): {24: (0.027, 0.126), 48: (0.040, 0.152), 168: (0.068, 0.200), 336: (0.084, 0.228),
                              720: (0.086, 0.231), "mean": (0.061, 0.188)},
            ("ETTh1", False): {"mean": (0.395, 0.421)},
        },
    }  # fmt: skip

    def __init__(
        self,
        setup: Setup,
        *,
        contrastive_weight: float = 1.0,
        window: int = 512,
        window_batch: int | None = None,
        weight_decay: float = 0.01,
        dropout: float = 0.2,
    ) -> None:
        self.encoder = setup.encoder
        self.contrastive_weight = contrastive_weight
        self.window = window or None
        self.window_batch = window_batch if window_batch is not None else setup.batch_size
        self.patched = callable(getattr(setup.encoder, "encode_tokens", None))
        with torch.no_grad():
            probe = self._encode(torch.zeros(2, 32, setup.input_dims, device=setup.device))
        token_dims, target_dims = probe.patches.size(-1), probe.targets.size(-1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(token_dims, target_dims)).to(setup.device)
        self.predictor = SimSiamPredictor(probe.cls.size(-1), dropout).to(setup.device)
        parameters = [*setup.encoder.parameters(), *self.head.parameters(), *self.predictor.parameters()]
        self.optimizer = adamw(parameters, lr=setup.lr, weight_decay=weight_decay)

    def _encode(self, x: Tensor) -> PatchTokens:
        """Tokens of the patch encoder, or per-timestamp tokens of any other encoder (instance: max)."""
        if self.patched:
            return self.encoder.encode_tokens(x)  # type: ignore[operator,no-any-return]
        z = self.encoder(x)
        return PatchTokens(z.amax(dim=1), z, x)

    def _instance(self, tokens: PatchTokens) -> Tensor:
        return self.encoder.pool(tokens) if self.patched else tokens.cls  # type: ignore[operator,no-any-return]

    def losses(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The predictive and contrastive losses of two dropout passes over the windows ``x`` [B, L, C]."""
        first, second = self._encode(x), self._encode(x)
        predictive = (predictive_error(self.head(first.patches), first.targets)
                      + predictive_error(self.head(second.patches), second.targets)) / 2  # fmt: skip
        i1, i2 = self._instance(first), self._instance(second)
        contrastive = (negative_cosine(self.predictor(i1), i2) + negative_cosine(self.predictor(i2), i1)) / 2
        return predictive, contrastive

    def training_step(self, x: Tensor, generator: torch.Generator) -> float:
        x = random_windows(x, self.window, self.window_batch, generator)
        self.optimizer.zero_grad()
        predictive, contrastive = self.losses(x)
        loss = predictive + self.contrastive_weight * contrastive
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "head": self.head.state_dict(),
            "predictor": self.predictor.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.head.load_state_dict(state["head"])
        self.predictor.load_state_dict(state["predictor"])
