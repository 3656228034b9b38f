"""The CoST encoder: TS2Vec's dilated-convolution trunk followed by trend and seasonal feature disentanglers.

Woo et al., "CoST: Contrastive Learning of Disentangled Seasonal-Trend Representations for Time Series
Forecasting", ICLR 2022. It is the backbone behind AutoTCL's published forecasting numbers (Zheng et al.,
ICLR 2024: the authors' forecasting code builds its encoder from CoST's), so ``--encoder cost`` is how
those numbers are compared like for like. Only the architecture is taken from CoST; the objective
(``--objective``) is any of tscl's.

Layers, on the trunk's output ``h`` [B, T, C] (C = ``output_dims``):

* **Trend** (``D_t = output_dims // 2`` channels): causal convolutions of ``h`` with kernel sizes
  ``kernels`` (1, 2, 4, ..., 128), each C -> D_t, averaged. Computed as one causal convolution in the
  frequency domain, by overlap-save blocks (`tscl.kernels.fft_trend`): same values as the eight direct
  convolutions, at a fraction of their work.
* **Season** (``D_s = output_dims - D_t`` channels): a learnable complex linear map C -> D_s per frequency of
  ``rfft(h)`` along time, back with the inverse rFFT, then dropout (0.1). Its last step alone (the
  forecasting protocol's causal encoding) skips the inverse FFT (`tscl.kernels.fft_season`).
* The representation is ``[trend, season]`` -> ``output_dims``.

Lengths: CoST's frequency layer has one weight per rFFT bin of its fixed training length (201 steps for the
ETT data). Here the weights live on the bins of ``grid_length`` (201) and are linearly interpolated at the
bin frequencies (cycles per step) of any other length, so every length works, and at ``grid_length`` the
layer is exactly CoST's. The season part sees the whole input window, so it is not causal inside a window;
the forecasting protocol encodes windows that end at the forecast origin, so no future value reaches it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, cast

import torch
from pydantic import Field
from torch import nn

from tscl.encoders.layers import ViewEncoder
from tscl.encoders.ts2vec import MaskMode, TS2VecEncoderOptions, TSEncoder
from tscl.errors import ConfigError
from tscl.kernels.fft_season import LastStepOperator, season_last_operator, season_last_position
from tscl.kernels.fft_trend import causal_conv_mean, causal_conv_mean_last
from tscl.kernels.weight_cache import WeightCache

DEFAULT_KERNELS = (1, 2, 4, 8, 16, 32, 64, 128)
# The FFT form of the trend layer holds a DFT basis and a response whose size grows with the square of the
# longest kernel (k = 10^5 asks for terabytes): 8x the published longest kernel is the limit.
MAX_KERNEL = 1024
DEFAULT_GRID_LENGTH = 201


class TrendLayer(nn.Module):
    """Mean of causal convolutions ``C -> D`` with the given kernel sizes, on time-major ``[B, T, C]``."""

    def __init__(self, in_channels: int, out_channels: int, kernels: tuple[int, ...] = DEFAULT_KERNELS) -> None:
        super().__init__()
        if not kernels or any(not 1 <= k <= MAX_KERNEL for k in kernels):
            raise ConfigError(f"trend kernel sizes must be integers from 1 to {MAX_KERNEL} but got {kernels}")
        self.kernels = tuple(kernels)
        self.convs = nn.ModuleList([nn.Conv1d(in_channels, out_channels, k) for k in self.kernels])
        # The taps' spectrum and the combined taps, kept while the weights are frozen (inference).
        self._cache: WeightCache[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = WeightCache()
        self._last_cache: WeightCache[tuple[torch.Tensor, torch.Tensor]] = WeightCache()

    def _weights_and_biases(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        convs = [cast(nn.Conv1d, conv) for conv in self.convs]
        return [conv.weight for conv in convs], [cast(torch.Tensor, conv.bias) for conv in convs]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """The trend of ``h`` [B, T, C] -> [B, T, D], by `causal_conv_mean` (overlap-save FFT)."""
        return causal_conv_mean(h, *self._weights_and_biases(), cache=self._cache)

    def last_position(self, h: torch.Tensor) -> torch.Tensor:
        """``forward(h)[:, -1]`` [B, D] alone, by `causal_conv_mean_last` (the combined taps, once)."""
        return causal_conv_mean_last(h, *self._weights_and_biases(), cache=self._last_cache)


class SeasonLayer(nn.Module):
    """Per-frequency complex linear map ``C -> D`` of ``rfft(h)`` along time, on a fixed frequency grid."""

    def __init__(self, in_channels: int, out_channels: int, grid_length: int = DEFAULT_GRID_LENGTH) -> None:
        super().__init__()
        if grid_length < 2:
            raise ConfigError(f"the season layer's grid length must be >= 2 but got {grid_length}")
        self.grid_length = grid_length
        bins = grid_length // 2 + 1
        # Real and imaginary parts in the last dimension (real parameters: every optimizer handles them).
        self.weight = nn.Parameter(torch.empty(bins, in_channels, out_channels, 2))
        self.bias = nn.Parameter(torch.empty(bins, out_channels, 2))
        # The weights at one length's bins, and their last-step fold, kept while frozen (inference).
        self._cache: WeightCache[tuple[torch.Tensor, torch.Tensor]] = WeightCache()
        self._last_cache: WeightCache[LastStepOperator] = WeightCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # CoST's initialisation: kaiming-uniform on the complex weight (fan-in C * D), uniform bias.
        fan_in = self.weight.size(1) * self.weight.size(2)
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def response(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Complex weight ``[length//2+1, C, D]`` and bias ``[length//2+1, D]`` for inputs of ``length``.

        Kept, like the trend layer's, while no gradient reaches the weights and they do not change.
        """
        return self._cache.get(length, [self.weight, self.bias], lambda: self._build_response(length))

    def _build_response(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight: torch.Tensor = self.weight
        bias: torch.Tensor = self.bias
        if length != self.grid_length:
            # Linear interpolation along the grid as one matrix product (cheaper to differentiate than a gather).
            grid = self.weight.size(0)
            blend = _interpolation_matrix(length // 2 + 1, grid, self.grid_length / length, weight)
            weight = (blend @ weight.reshape(grid, -1)).view(-1, *weight.shape[1:])
            bias = (blend @ bias.reshape(grid, -1)).view(-1, *bias.shape[1:])
        return torch.view_as_complex(weight.contiguous()), torch.view_as_complex(bias.contiguous())

    def last_position(self, h: torch.Tensor) -> torch.Tensor:
        """``forward(h)[:, -1]`` [B, D] alone, without the inverse FFT of every step (`season_last_position`)."""
        length = h.size(1)
        operator = self._last_cache.get(
            length, [self.weight, self.bias], lambda: season_last_operator(*self.response(length), length)
        )
        return season_last_position(h, operator)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        length = h.size(1)
        weight, bias = self.response(length)
        spectrum = torch.fft.rfft(h, dim=1)  # [B, T//2+1, C]
        out = torch.einsum("bfc,fcd->bfd", spectrum, weight) + bias
        return torch.fft.irfft(out, n=length, dim=1)


class CoSTEncoder(ViewEncoder):
    """CoST encoder ``[B, T, C_in] -> [B, T, output_dims]`` (see the module docstring).

    Args:
        input_dims: Input channels.
        output_dims: Representation size D (320), split into D // 2 trend and the rest season channels.
        hidden_dims: Width of the trunk's dilated conv blocks (64).
        depth: Residual blocks of the trunk before its final one (10).
        mask_mode: Timestamp masking of the trunk in training mode ("binomial").
        dropout: Dropout on the season part (0.1).
        kernels: Trend kernel sizes (1, 2, 4, ..., 128).
        grid_length: Length whose rFFT bins carry the season weights (201).
    """

    def __init__(
        self,
        input_dims: int,
        output_dims: int = 320,
        hidden_dims: int = 64,
        depth: int = 10,
        mask_mode: str = "binomial",
        dropout: float = 0.1,
        kernels: tuple[int, ...] = DEFAULT_KERNELS,
        grid_length: int = DEFAULT_GRID_LENGTH,
    ) -> None:
        super().__init__()
        if output_dims < 2:
            raise ConfigError(f"the cost encoder needs output_dims >= 2 (trend + season) but got {output_dims}")
        self.trunk = TSEncoder(input_dims, output_dims, hidden_dims, depth, mask_mode, dropout=0.0)
        self.input_dims = input_dims
        self.output_dims = output_dims
        self.trend = TrendLayer(output_dims, output_dims // 2, kernels)
        self.season = SeasonLayer(output_dims, output_dims - output_dims // 2, grid_length)
        self.season_dropout = nn.Dropout(p=dropout)

    def forward_views(
        self,
        views: list[torch.Tensor],
        spans: list[tuple[int, int]],
        mask: str | None = None,
        generator: torch.Generator | None = None,
    ) -> list[torch.Tensor]:
        """Encode several batches ``views[i]`` [B_i, T_i, C] and keep steps ``spans[i]`` of each.

        The trunk encodes each view in turn (its masks are drawn in that order); views of equal length then
        go through the trend and season layers as one batch, so their frequency responses are formed once.
        """
        trunks = [self.trunk(x, mask=mask, generator=generator) for x in views]
        outputs: list[torch.Tensor | None] = [None] * len(views)
        for length in dict.fromkeys(h.size(1) for h in trunks):
            members = [i for i, h in enumerate(trunks) if h.size(1) == length]
            h = torch.cat([trunks[i] for i in members]) if len(members) > 1 else trunks[members[0]]
            out = torch.cat([self.trend(h), self.season_dropout(self.season(h))], dim=-1)
            for i, part in zip(members, out.split([trunks[i].size(0) for i in members]), strict=True):
                outputs[i] = part
        return [cast(torch.Tensor, out)[:, a:b] for out, (a, b) in zip(outputs, spans, strict=True)]

    def last_position(self, x: torch.Tensor) -> torch.Tensor:
        """``self(x)[:, -1]`` in eval mode [B, D], skipping the trend and season outputs of earlier steps.

        The trunk still encodes every step (the season layer reads the whole window); the trend and season
        layers compute their last step only. This is the forecasting protocol's causal encoding.
        """
        h = self.trunk(x)
        return torch.cat([self.trend.last_position(h), self.season_dropout(self.season.last_position(h))], dim=-1)

    def last_position_fn(self, window: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """`ViewEncoder.last_position_fn`: :meth:`last_position`, for windows of any length."""
        return self.last_position


def _interpolation_matrix(bins: int, grid: int, step: float, like: torch.Tensor) -> torch.Tensor:
    """``[bins, grid]``: row f linearly interpolates the grid at position ``f * step`` (clamped to the end)."""
    position = (torch.arange(bins, dtype=torch.float64) * step).clamp(max=grid - 1)
    low = position.floor().long()
    high = (low + 1).clamp(max=grid - 1)
    frac = position - low.to(torch.float64)
    blend = torch.zeros(bins, grid, dtype=torch.float64)
    rows = torch.arange(bins)
    blend.index_put_((rows, low), 1.0 - frac, accumulate=True)
    blend.index_put_((rows, high), frac, accumulate=True)
    return blend.to(dtype=like.dtype, device=like.device)


class CoSTEncoderOptions(TS2VecEncoderOptions):
    repr_dims: int = Field(320, ge=2, description="Representation size D: D // 2 trend and the rest season.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on the season part in training mode.")
    kernels: tuple[Annotated[int, Field(ge=1, le=MAX_KERNEL)], ...] = Field(
        DEFAULT_KERNELS, min_length=1, strict=False,
        description=f"Kernel sizes of the trend's causal convolutions (each 1 to {MAX_KERNEL}).",
    )  # fmt: skip
    grid_length: int = Field(DEFAULT_GRID_LENGTH, ge=2, description="Length whose rFFT bins carry season weights.")


def cost_encoder(
    input_dims: int,
    *,
    repr_dims: int = 320,
    hidden_dims: int = 64,
    depth: int = 10,
    mask_mode: MaskMode = "binomial",
    dropout: float = 0.1,
    kernels: tuple[int, ...] = DEFAULT_KERNELS,
    grid_length: int = DEFAULT_GRID_LENGTH,
) -> CoSTEncoder:
    """TS2Vec's trunk + CoST's trend and season layers (the backbone of AutoTCL's forecasting numbers)."""
    return CoSTEncoder(input_dims, repr_dims, hidden_dims, depth, mask_mode, dropout, tuple(kernels), grid_length)


cost_encoder.Options = CoSTEncoderOptions  # type: ignore[attr-defined]
