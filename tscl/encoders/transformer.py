"""A Transformer encoder over timestamps: one token per step, sinusoidal positions, full self-attention.

The encoder of the masked-autoencoding objective (Ti-MAE, Li et al. 2023) and usable by any objective:
``[B, T, C] -> [B, T, D]``. A timestamp with any NaN channel is zeroed and hidden from attention (a key
padding mask), so NaN padding and missing steps carry no information; a series with no observed step
attends over its zeros instead of over nothing. :meth:`TransformerEncoder.encode_visible` encodes a subset of
each series' tokens (the visible ones in masked autoencoding) without computing the others.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import Tensor, nn

from tscl.errors import ConfigError
from tscl.registry import Options, check_options

__all__ = ["TransformerEncoder", "sinusoidal_positions"]


def sinusoidal_positions(length: int, dims: int, device: torch.device | None = None) -> Tensor:
    """The fixed sine/cosine position code of Vaswani et al. (2017): ``[length, dims]``."""
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    rates = torch.exp(torch.arange(0, dims, 2, dtype=torch.float32, device=device) * (-math.log(10_000.0) / dims))
    code = torch.zeros(length, dims, device=device)
    code[:, 0::2] = torch.sin(position * rates)
    code[:, 1::2] = torch.cos(position * rates[: dims // 2])
    return code


def transformer_stack(width: int, depth: int, heads: int, ff_dims: int, dropout: float) -> nn.TransformerEncoder:
    """Pre-norm Transformer layers (GELU), always on the plain path so train and eval compute alike."""
    layer = nn.TransformerEncoderLayer(
        width, heads, ff_dims, dropout, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


def heads_hint(width: int) -> str:
    """The remedy for a head count that does not divide ``width``: the counts that do (the smallest few)."""
    counts = [str(n) for n in [*range(1, min(width, 64)), width] if width % n == 0][:4]
    shown = counts[0] if len(counts) == 1 else f"{', '.join(counts[:-1])} or {counts[-1]}"
    return f"pick a number of heads that divides {width}: e.g. {shown}"


class TransformerEncoderOptions(Options):
    repr_dims: int = Field(320, ge=1, description="Representation size D (a linear map of the token states).")
    hidden_dims: int = Field(64, ge=1, description="Width of the Transformer (d_model).")
    depth: int = Field(2, ge=1, description="Transformer layers.")
    heads: int = Field(4, ge=1, description="Attention heads; must divide hidden_dims.")
    ff_dims: int = Field(256, ge=1, description="Width of each layer's feed-forward block.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout inside the Transformer layers.")


class TransformerEncoder(nn.Module):
    """Timestamp tokens, sinusoidal positions, pre-norm Transformer layers and a linear map to D."""

    Options = TransformerEncoderOptions

    def __init__(
        self,
        input_dims: int,
        repr_dims: int = 320,
        hidden_dims: int = 64,
        depth: int = 2,
        heads: int = 4,
        ff_dims: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if input_dims < 1:
            raise ConfigError(f"input_dims must be a positive integer but got {input_dims}")
        values = {"repr_dims": repr_dims, "hidden_dims": hidden_dims, "depth": depth, "heads": heads,
                  "ff_dims": ff_dims, "dropout": dropout}  # fmt: skip
        check_options(TransformerEncoderOptions, values, "encoder", "transformer")
        if hidden_dims % heads:
            raise ConfigError(
                f"encoder.heads must divide encoder.hidden_dims ({hidden_dims}) but got {heads}",
                hint=heads_hint(hidden_dims),
            )
        self.input_dims = input_dims
        self.output_dims = repr_dims
        self.hidden_dims = hidden_dims
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        self.layers = transformer_stack(hidden_dims, depth, heads, ff_dims, dropout)
        self.norm = nn.LayerNorm(hidden_dims)
        self.output_fc = nn.Linear(hidden_dims, repr_dims)

    def tokens(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Position-coded tokens ``[B, T, W]`` of ``x`` [B, T, C] and the missing steps ``[B, T]``."""
        missing = torch.isnan(x).any(dim=-1)
        x = x.masked_fill(missing.unsqueeze(-1), 0.0)
        return self.input_fc(x) + sinusoidal_positions(x.size(1), self.hidden_dims, x.device), missing

    def attend(self, tokens: Tensor, missing: Tensor) -> Tensor:
        """Representations ``[B, n, D]`` of ``tokens`` [B, n, W], missing tokens hidden from attention."""
        hidden = missing & ~missing.all(dim=1, keepdim=True)
        return self.output_fc(self.norm(self.layers(tokens, src_key_padding_mask=hidden)))

    def forward(self, x: Tensor, mask: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        """``[B, T, C] -> [B, T, D]``; ``mask`` and ``generator`` are accepted for the encoder contract (this
        encoder draws no timestamp masks; its dropout draws from torch's generator, seeded by the trainer)."""
        return self.attend(*self.tokens(x))

    def encode_visible(self, x: Tensor, keep: Tensor) -> Tensor:
        """Encode only steps ``keep`` [B, n] (increasing indices) of each series: ``[B, n, D]``."""
        tokens, missing = self.tokens(x)
        index = keep.unsqueeze(-1).expand(-1, -1, tokens.size(-1))
        return self.attend(tokens.gather(1, index), missing.gather(1, keep))
