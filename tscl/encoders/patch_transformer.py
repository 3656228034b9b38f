"""A patch Transformer with a [CLS] token: TimeDRL's encoder (Chang et al., ICDE 2024).

Each series is normalised per channel over its observed steps (instance normalisation without affine
parameters, as RevIN), cut into patches of ``patch_len`` steps every ``stride`` steps, aligned to the series'
end (the last patch ends at the last step, so a causal window's last position sees only the past; the start
is padded), embedded linearly with sinusoidal positions, and a learnable [CLS] patch is prepended before the
Transformer layers. With ``channel_independent`` each channel is its own sequence (TimeDRL's forecasting
setting) and the channels' representations are concatenated. With ``keep_scale`` (the default) each
sequence's normalisation mean and standard deviation are appended to its representation: D = C x
(``repr_dims`` + 2) with channel independence, else ``repr_dims`` + 2C.

Per-timestamp output (the encoder contract, ``[B, T, C] -> [B, T, D]``): each step takes the representation
of the last patch that contains it. Instance output (:meth:`PatchTransformer.encode_instance`, used for
instance-level encoding): the [CLS] token, or the mean / last / max over patch tokens (``pooling``).
Missing values are zeroed after normalisation; a patch with no observed value is hidden from attention.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from tscl.encoders.transformer import heads_hint, sinusoidal_positions, transformer_stack
from tscl.errors import ConfigError
from tscl.registry import Options, check_options

__all__ = ["PatchTokens", "PatchTransformer"]

Pooling = Literal["cls", "mean", "last", "max"]
EPS = 1e-5


class PatchTransformerOptions(Options):
    repr_dims: int = Field(128, ge=1, description="Representation size per sequence (a linear map of the tokens).")
    hidden_dims: int = Field(128, ge=1, description="Width of the Transformer (d_model).")
    depth: int = Field(2, ge=1, description="Transformer layers.")
    heads: int = Field(4, ge=1, description="Attention heads; must divide hidden_dims.")
    ff_dims: int = Field(256, ge=1, description="Width of each layer's feed-forward block.")
    dropout: float = Field(0.2, ge=0, lt=1, description="Dropout of the patch embedding and the layers.")
    patch_len: int = Field(16, ge=1, description="Steps per patch.")
    stride: int = Field(16, ge=1, description="Steps between patch starts (at most patch_len).")
    channel_independent: bool = Field(False, description="Encode each channel as its own sequence.")
    pooling: Pooling = Field("cls", description="Instance representation: cls, mean, last or max over patches.")
    keep_scale: bool = Field(True, description="Append each sequence's mean and std to its representation.")


@dataclass
class PatchTokens:
    """One encoding of a batch: what TimeDRL's two losses read.

    Attributes:
        cls: [B', D] the [CLS] token's representation (B' = B, or B x C with channel independence).
        patches: [B', N, D] the patch tokens' representations.
        targets: [B', N, P'] the normalised patches (P' = patch_len, x C without channel independence),
            NaN where a value is missing.
        scale: [B', 2] (or [B, 2C]) the normalisation's means and standard deviations.
    """

    cls: Tensor
    patches: Tensor
    targets: Tensor
    scale: Tensor | None = None


class PatchTransformer(nn.Module):
    """Instance normalisation, end-aligned patches, a [CLS] token and Transformer layers (TimeDRL)."""

    Options = PatchTransformerOptions

    def __init__(
        self,
        input_dims: int,
        repr_dims: int = 128,
        hidden_dims: int = 128,
        depth: int = 2,
        heads: int = 4,
        ff_dims: int = 256,
        dropout: float = 0.2,
        patch_len: int = 16,
        stride: int = 16,
        channel_independent: bool = False,
        pooling: str = "cls",
        keep_scale: bool = True,
    ) -> None:
        super().__init__()
        if input_dims < 1:
            raise ConfigError(f"input_dims must be a positive integer but got {input_dims}")
        values = {"repr_dims": repr_dims, "hidden_dims": hidden_dims, "depth": depth, "heads": heads,
                  "ff_dims": ff_dims, "dropout": dropout, "patch_len": patch_len, "stride": stride,
                  "channel_independent": channel_independent, "pooling": pooling,
                  "keep_scale": keep_scale}  # fmt: skip
        check_options(PatchTransformerOptions, values, "encoder", "patch_transformer")
        if hidden_dims % heads:
            raise ConfigError(
                f"encoder.heads must divide encoder.hidden_dims ({hidden_dims}) but got {heads}",
                hint=heads_hint(hidden_dims),
            )
        if stride > patch_len:
            raise ConfigError(
                f"encoder.stride must be at most encoder.patch_len ({patch_len}) but got {stride}",
                hint="patches that skip steps would leave steps without a representation",
            )
        self.input_dims = input_dims
        self.channel_independent = channel_independent
        self.patch_len, self.stride, self.pooling = patch_len, stride, pooling
        self.hidden_dims = hidden_dims
        self.repr_dims = repr_dims
        self.keep_scale = keep_scale
        per_sequence = repr_dims + (2 if channel_independent else 2 * input_dims) * keep_scale
        self.output_dims = per_sequence * (input_dims if channel_independent else 1)
        self.patch_dims = patch_len * (1 if channel_independent else input_dims)
        self.cls_patch = nn.Parameter(torch.randn(self.patch_dims))
        self.embed = nn.Linear(self.patch_dims, hidden_dims)
        self.embed_dropout = nn.Dropout(dropout)
        self.layers = transformer_stack(hidden_dims, depth, heads, ff_dims, dropout)
        self.norm = nn.LayerNorm(hidden_dims)
        self.output_fc = nn.Linear(hidden_dims, repr_dims)

    # -- the pieces ---------------------------------------------------------------------------------------
    def n_patches(self, length: int) -> int:
        return max(1, math.ceil((length - self.patch_len) / self.stride) + 1)

    def patches(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised, end-aligned patches ``[B', N, P']`` of ``x`` [B, T, C] (NaN where missing), and the
        normalisation's means and standard deviations (``[B', 2]``, or ``[B, 2C]``)."""
        observed = ~torch.isnan(x)
        count = observed.sum(dim=1, keepdim=True).clamp_min(1)
        mean = x.nan_to_num().sum(dim=1, keepdim=True) / count
        var = ((x - mean).nan_to_num().square()).sum(dim=1, keepdim=True) / count
        std = torch.sqrt(var + EPS)
        x = (x - mean) / std
        scale = torch.cat([mean, std], dim=1)  # [B, 2, C]
        length = x.size(1)
        pad = (self.n_patches(length) - 1) * self.stride + self.patch_len - length
        x = torch.cat([x.new_full((x.size(0), pad, x.size(2)), float("nan")), x], dim=1)
        windows = x.unfold(1, self.patch_len, self.stride)  # [B, N, C, P]
        if self.channel_independent:
            patches = windows.permute(0, 2, 1, 3).reshape(-1, windows.size(1), self.patch_len)
            return patches, scale.transpose(1, 2).reshape(-1, 2)
        return windows.reshape(windows.size(0), windows.size(1), -1), scale.reshape(scale.size(0), -1)

    def encode_tokens(self, x: Tensor) -> PatchTokens:
        """The [CLS] and patch representations of ``x`` [B, T, C], and the normalised patches."""
        targets, scale = self.patches(x)
        missing = torch.isnan(targets).all(dim=-1)
        tokens = torch.cat([self.cls_patch.expand(targets.size(0), 1, -1), targets.nan_to_num()], dim=1)
        tokens = self.embed(tokens) + sinusoidal_positions(tokens.size(1), self.hidden_dims, x.device)
        hidden = torch.cat([missing.new_zeros(missing.size(0), 1), missing], dim=1)
        out = self.output_fc(self.norm(self.layers(self.embed_dropout(tokens), src_key_padding_mask=hidden)))
        return PatchTokens(out[:, 0], out[:, 1:], targets, scale)

    def _with_scale(self, z: Tensor, tokens: PatchTokens) -> Tensor:
        """``z`` [B', ..., D] with the normalisation's statistics appended (``keep_scale``): a linear head
        on the representation then sees the level and spread that the normalisation removed, as RevIN's
        de-normalisation gives them back to the model's output."""
        if not self.keep_scale or tokens.scale is None:
            return z
        scale = tokens.scale.reshape(tokens.scale.size(0), *([1] * (z.dim() - 2)), -1)
        return torch.cat([z, scale.expand(*z.shape[:-1], -1)], dim=-1)

    def _per_series(self, z: Tensor, batch: int) -> Tensor:
        """``[B', ..., D] -> [B, ..., C x D]`` with channel independence (channels concatenated)."""
        if not self.channel_independent:
            return z
        z = z.reshape(batch, self.input_dims, *z.shape[1:])
        return torch.cat(z.unbind(dim=1), dim=-1)

    def pool(self, tokens: PatchTokens) -> Tensor:
        """The instance representation ``[B', D]`` chosen by ``pooling``."""
        if self.pooling == "cls":
            return tokens.cls
        if self.pooling == "mean":
            return tokens.patches.mean(dim=1)
        if self.pooling == "last":
            return tokens.patches[:, -1]
        return tokens.patches.amax(dim=1)

    # -- the encoder contract -----------------------------------------------------------------------------
    def forward(self, x: Tensor, mask: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        """``[B, T, C] -> [B, T, D]``: each step takes the last patch containing it (``mask``/``generator``
        are accepted for the encoder contract; dropout draws from torch's generator, seeded by the trainer)."""
        length = x.size(1)
        tokens = self.encode_tokens(x)
        patches = tokens.patches
        pad = (patches.size(1) - 1) * self.stride + self.patch_len - length
        step = torch.arange(length, device=x.device) + pad
        index = torch.clamp(step // self.stride, max=patches.size(1) - 1)
        return self._per_series(self._with_scale(patches[:, index], tokens), x.size(0))

    def last_position_fn(self, window: int) -> Callable[[Tensor], Tensor]:
        """``x -> forward(x)[:, -1]`` for windows of any length: the last patch's tokens only."""

        def last(x: Tensor) -> Tensor:
            tokens = self.encode_tokens(x)
            return self._per_series(self._with_scale(tokens.patches[:, -1], tokens), x.size(0))

        return last

    def encode_instance(self, x: Tensor) -> Tensor:
        """``[B, T, C] -> [B, D]`` by ``pooling`` (the [CLS] token by default)."""
        tokens = self.encode_tokens(x)
        return self._per_series(self._with_scale(self.pool(tokens), tokens), x.size(0))
