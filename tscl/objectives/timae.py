"""Ti-MAE: masked autoencoding of time series, the non-contrastive baseline.

Li et al., "Ti-MAE: Self-Supervised Masked Time Series Autoencoders", 2023. Each iteration cuts random
windows, hides a random ``mask_ratio`` of each window's timestamps, encodes the visible ones, and a light
Transformer decoder, given a learned mask token at every hidden step, reconstructs the hidden values (mean
squared error over hidden, observed values). The encoder's per-timestamp output is the representation that
the frozen evaluation protocols use, as for every objective.

An encoder with ``encode_visible`` (the ``transformer`` encoder, the default) encodes the visible steps only,
as in the paper; any other encoder sees the window with the hidden steps set to NaN (missing), which every
encoder must treat as carrying no value. With ``mask_ratio`` 0.75 and windows of 256 steps the encoder
attends over 64 tokens per window.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field
from torch import Tensor, nn

from tscl.encoders.transformer import heads_hint, sinusoidal_positions, transformer_stack
from tscl.errors import ConfigError
from tscl.kernels.optim import adamw
from tscl.objectives.base import Setup, WindowLength
from tscl.registry import Options
from tscl.views.windows import random_windows


class TiMAEOptions(Options):
    mask_ratio: float = Field(0.75, gt=0, lt=1, description="Share of each window's timestamps hidden.")
    window: WindowLength = Field(256, ge=0, description="Length of random training windows (0: whole series).")
    window_batch: int | None = Field(None, ge=1, description="Windows per iteration (None: the run's batch size).")
    decoder_dims: int = Field(32, ge=1, description="Width of the decoder.")
    decoder_depth: int = Field(1, ge=1, description="Decoder Transformer layers.")
    decoder_heads: int = Field(4, ge=1, description="Decoder attention heads; must divide decoder_dims.")


class MaskedDecoder(nn.Module):
    """Representations of the visible steps + mask tokens elsewhere -> reconstructed values ``[B, L, C]``."""

    def __init__(self, repr_dims: int, channels: int, width: int, depth: int, heads: int) -> None:
        super().__init__()
        self.width = width
        self.embed = nn.Linear(repr_dims, width)
        self.mask_token = nn.Parameter(torch.zeros(width))
        nn.init.normal_(self.mask_token, std=0.02)
        self.layers = transformer_stack(width, depth, heads, 2 * width, dropout=0.0)
        self.norm = nn.LayerNorm(width)
        self.output = nn.Linear(width, channels)

    def forward(self, visible: Tensor, keep: Tensor, length: int) -> Tensor:
        """``visible`` [B, n, D] are the representations of steps ``keep`` [B, n] of windows of ``length``."""
        batch = visible.size(0)
        tokens = self.mask_token.expand(batch, length, self.width).clone()
        tokens.scatter_(1, keep.unsqueeze(-1).expand(-1, -1, self.width), self.embed(visible))
        tokens = tokens + sinusoidal_positions(length, self.width, visible.device)
        return self.output(self.norm(self.layers(tokens)))  # type: ignore[no-any-return]


def draw_mask(batch: int, length: int, ratio: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Per series, the visible steps ``keep`` [B, n] (increasing) and the hidden ones as a mask [B, L].

    ``n = round(L * (1 - ratio))``, at least one visible and one hidden step.
    """
    visible = min(max(1, round(length * (1.0 - ratio))), length - 1)
    order = torch.rand(batch, length, generator=generator).argsort(dim=1)
    keep = order[:, :visible].sort(dim=1).values
    hidden = torch.ones(batch, length, dtype=torch.bool)
    hidden.scatter_(1, keep, False)
    return keep, hidden


def masked_reconstruction_error(reconstruction: Tensor, x: Tensor, hidden: Tensor) -> Tensor:
    """Mean squared error over the hidden steps' observed values (0 when there are none)."""
    target = hidden.unsqueeze(-1) & ~torch.isnan(x)
    error = (reconstruction - x.nan_to_num()).square() * target
    return error.sum() / target.sum().clamp_min(1)


class TiMAEObjective:
    """Masked autoencoding: hide most timestamps, reconstruct them from the rest (Ti-MAE, Li et al. 2023)."""

    Options = TiMAEOptions
    default_encoder = "transformer"
    default_loss = None  # its loss is the reconstruction error
    default_views = None
    min_length = 2

    def __init__(
        self,
        setup: Setup,
        *,
        mask_ratio: float = 0.75,
        window: int = 256,
        window_batch: int | None = None,
        decoder_dims: int = 32,
        decoder_depth: int = 1,
        decoder_heads: int = 4,
    ) -> None:
        if decoder_dims % decoder_heads:
            raise ConfigError(
                f"objective.decoder_heads must divide objective.decoder_dims ({decoder_dims}) but got {decoder_heads}",
                hint=heads_hint(decoder_dims),
            )
        self.encoder = setup.encoder
        self.mask_ratio = mask_ratio
        self.window = window or None
        self.window_batch = window_batch if window_batch is not None else setup.batch_size
        repr_dims = _output_dims(setup.encoder, setup.input_dims, setup.device)
        self.decoder = MaskedDecoder(repr_dims, setup.input_dims, decoder_dims, decoder_depth, decoder_heads)
        self.decoder.to(setup.device)
        self.optimizer = adamw(list(setup.encoder.parameters()) + list(self.decoder.parameters()), lr=setup.lr)

    def loss(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """The reconstruction error of one random masking of the windows ``x`` [B, L, C]."""
        batch, length, _ = x.shape
        keep, hidden = draw_mask(batch, length, self.mask_ratio, generator)
        keep, hidden = keep.to(x.device), hidden.to(x.device)
        encode_visible = getattr(self.encoder, "encode_visible", None)
        if callable(encode_visible):
            visible = encode_visible(x, keep)
        else:
            z = self.encoder(x.masked_fill(hidden.unsqueeze(-1), float("nan")), generator=generator)
            visible = z.gather(1, keep.unsqueeze(-1).expand(-1, -1, z.size(-1)))
        return masked_reconstruction_error(self.decoder(visible, keep, length), x, hidden)

    def training_step(self, x: Tensor, generator: torch.Generator) -> float:
        x = random_windows(x, self.window, self.window_batch, generator)
        self.optimizer.zero_grad()
        loss = self.loss(x, generator)
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "decoder": self.decoder.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.decoder.load_state_dict(state["decoder"])


def _output_dims(encoder: nn.Module, input_dims: int, device: torch.device) -> int:
    """The encoder's representation size: its ``output_dims``, else measured on a short input."""
    dims = getattr(encoder, "output_dims", None)
    if isinstance(dims, int):
        return dims
    with torch.no_grad():
        return int(encoder(torch.zeros(1, 8, input_dims, device=device)).size(-1))
