"""The CoST encoder: TS2Vec's dilated-convolution trunk followed by trend and seasonal feature disentanglers.

Woo et al., "CoST: Contrastive Learning of Disentangled Seasonal-Trend Representations for Time Series
Forecasting", ICLR 2022. It is the backbone behind AutoTCL's published forecasting numbers (Zheng et al.,
ICLR 2024: the authors' forecasting code builds its encoder from CoST's), so ``--encoder cost`` is how
those numbers are compared like for like. Only the architecture is taken from CoST; the objective
(``--objective``) is any of tscl's.

Layers, on the trunk's output ``h`` [B, T, C] (C = ``output_dims``):

* **Trend** (``D_t = output_dims // 2`` channels): causal convolutions of ``h`` with kernel sizes
  ``kernels`` (1, 2, 4, ..., 128), each C -> D_t, averaged. An average of causal convolutions is one causal
  convolution whose taps are the averages of the right-aligned kernels. It is applied in the frequency
  domain, by overlap-save blocks of at most 385 steps with enough context that nothing wraps around (so
  memory stays flat on long series): one matrix product with a constant DFT basis
  gives the taps' spectrum straight from the stored weights, and each frequency is a C x D_t product. Same
  values as the eight direct convolutions (tested), at a fraction of their work (directly, a 128-tap
  320 -> 160 convolution costs 13 MFLOP per step).
* **Season** (``D_s = output_dims - D_t`` channels): a learnable complex linear map C -> D_s per frequency of
  ``rfft(h)`` along time, back with the inverse rFFT, then dropout (0.1).
* The representation is ``[trend, season]`` -> ``output_dims``.

Lengths: CoST's frequency layer has one weight per rFFT bin of its fixed training length (201 steps for the
ETT data). Here the weights live on the bins of ``grid_length`` (201) and are linearly interpolated at the
bin frequencies (cycles per step) of any other length, so every length works, and at ``grid_length`` the
layer is exactly CoST's. The season part sees the whole input window, so it is not causal inside a window;
the forecasting protocol encodes windows that end at the forecast origin, so no future value reaches it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from tscl.errors import ConfigError
from tscl.models.encoder import TSEncoder, ViewEncoder

DEFAULT_KERNELS = (1, 2, 4, 8, 16, 32, 64, 128)
DEFAULT_GRID_LENGTH = 201
# Trend outputs per FFT block (overlap-save): 384 + 127 steps of input fit an FFT of 512.
_BLOCK = 385

T = TypeVar("T")


class TrendLayer(nn.Module):
    """Mean of causal convolutions ``C -> D`` with the given kernel sizes, on time-major ``[B, T, C]``."""

    def __init__(self, in_channels: int, out_channels: int, kernels: tuple[int, ...] = DEFAULT_KERNELS) -> None:
        super().__init__()
        if not kernels or any(k < 1 for k in kernels):
            raise ConfigError(f"trend kernel sizes must be positive integers but got {kernels}")
        self.kernels = tuple(kernels)
        self.convs = nn.ModuleList([nn.Conv1d(in_channels, out_channels, k) for k in self.kernels])
        self._cache: _ResponseCache[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = _ResponseCache()
        self._last_cache: _ResponseCache[tuple[torch.Tensor, torch.Tensor]] = _ResponseCache()
        self._bases: dict[tuple, torch.Tensor] = {}

    def _layers(self) -> list[nn.Conv1d]:
        return [cast(nn.Conv1d, conv) for conv in self.convs]

    def _mean_bias(self) -> torch.Tensor:
        return torch.stack([cast(torch.Tensor, conv.bias) for conv in self._layers()]).mean(0)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        batch, length, channels = h.shape
        reach = max(self.kernels) - 1  # steps back the longest kernel reads
        # Overlap-save: blocks of `block` outputs, each computed from its own `reach` + `block` input steps
        # with one FFT of size n >= reach + block (so nothing wraps around). One block for short inputs;
        # long ones keep n, and with it the frequency response, small.
        block = min(length, _BLOCK)
        n = _fft_size(block + reach)
        blocks = -(-length // block)
        padded = F.pad(h, (0, 0, reach, blocks * block - length))  # zeros before the start and after the end
        pieces = padded.unfold(1, block + reach, block)  # [B, blocks, C, block + reach]
        real, imag, bias = self._response(n)  # [F, C, D] each
        spectrum = torch.fft.rfft(pieces, n=n, dim=-1)  # [B, blocks, C, F]
        spectrum = spectrum.permute(3, 0, 1, 2).reshape(n // 2 + 1, batch * blocks, channels)  # [F, B*blocks, C]
        x_real, x_imag = spectrum.real.contiguous(), spectrum.imag.contiguous()
        out_real = torch.baddbmm(torch.bmm(x_real, real), x_imag, imag, alpha=-1.0)
        out_imag = torch.baddbmm(torch.bmm(x_real, imag), x_imag, real)
        out = torch.fft.irfft(torch.complex(out_real, out_imag), n=n, dim=0)  # [n, B*blocks, D]
        out = out[reach : reach + block].view(block, batch, blocks, -1).permute(1, 2, 0, 3)
        return out.reshape(batch, blocks * block, -1)[:, :length] + bias

    def last_position(self, h: torch.Tensor) -> torch.Tensor:
        """``forward(h)[:, -1]`` [B, D] alone: the combined taps applied once, to the last ``max(kernels)`` steps.

        Lag ``l``'s matrix is the mean over the kernels longer than ``l`` of their tap ``l`` steps back, so
        the output is one product of the reversed tail of ``h`` with the stacked lags.
        """
        batch, length, channels = h.shape
        taps, bias = self._last_cache.get(0, list(self.parameters()), self._build_last_taps)
        reach = min(length, max(self.kernels))
        tail = h[:, length - reach :].flip(1).reshape(batch, reach * channels)  # lag 0 first
        return torch.addmm(bias, tail, taps[: reach * channels])

    def _build_last_taps(self) -> tuple[torch.Tensor, torch.Tensor]:
        convs = self._layers()
        out_channels, in_channels = convs[0].weight.shape[:2]
        lags = convs[0].weight.new_zeros(out_channels, in_channels, max(self.kernels))
        for conv in convs:
            lags[:, :, : conv.weight.size(2)] += conv.weight.flip(-1)  # flipped: index = steps back
        taps = (lags / len(convs)).permute(2, 1, 0).reshape(-1, out_channels)  # [lags * C, D]
        bias = self._mean_bias()
        return taps, bias

    def _response(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Real and imaginary parts ``[n/2+1, C, D]`` of the combined taps' DFT, and the mean bias.

        The DFT of the taps is one matrix product of a constant basis with all convolutions' weights side by
        side as stored (no flipped or permuted copies), which also sums the kernels, in the layout the
        batched products need. When no gradient reaches the weights (inference, or a frozen encoder) it is
        kept until they change: encoding many batches of windows then pays for it once.
        """
        return self._cache.get(n, list(self.parameters()), lambda: self._build_response(n))

    def _build_response(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        bins = n // 2 + 1
        convs = self._layers()
        first = convs[0].weight
        out_channels, in_channels = first.shape[:2]
        weights = torch.cat([conv.weight.reshape(out_channels * in_channels, -1) for conv in convs], dim=1)
        response = self._basis(n, first) @ weights.t()  # [2F, D*C]
        # [2, F, C, D] as a transposed view: the batched products take it without a copy.
        parts = response.view(2, bins, out_channels, in_channels).transpose(2, 3)
        bias = self._mean_bias()
        return parts[0], parts[1], bias

    def _basis(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """``[2F, sum(kernels)]``: cos and -sin rows of the DFT at each stored tap's lag (tap i of a size-k
        kernel weighs the input k - 1 - i steps back), divided by the number of kernels (their mean)."""
        key = (n, like.dtype, like.device)
        if key not in self._bases:
            lag = torch.cat([torch.arange(k - 1, -1, -1, dtype=torch.float64) for k in self.kernels])
            angle = 2 * math.pi * torch.arange(n // 2 + 1, dtype=torch.float64)[:, None] * lag[None, :] / n
            basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) / len(self.kernels)  # the mean's 1/K too
            self._bases[key] = basis.to(like.dtype).to(like.device)
        return self._bases[key]

    def reference(self, h: torch.Tensor) -> torch.Tensor:
        """The direct form (CoST's): each causal convolution, trimmed, then the mean. Slow; for tests."""
        x = h.transpose(1, 2)
        outs = [conv(F.pad(x, (conv.weight.size(2) - 1, 0))) for conv in self._layers()]
        return torch.stack(outs).mean(0).transpose(1, 2)


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
        self._cache: _ResponseCache[tuple[torch.Tensor, torch.Tensor]] = _ResponseCache()
        self._last_cache: _ResponseCache[tuple[torch.Tensor, torch.Tensor]] = _ResponseCache()
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
        """``forward(h)[:, -1]`` [B, D] alone, without the inverse FFT of every step.

        The inverse rFFT at the last step ``T - 1`` is the real part of ``sum_f a_f / T * exp(-2 pi i f / T)
        * Y_f`` (``a_f`` = 1 at the zero and Nyquist bins, else 2), linear in the per-frequency output
        ``Y = X W + b``. Folding that phase into ``W`` leaves one real product of ``[Re X, Im X]`` with a
        ``[2 F C, D]`` matrix.
        """
        length = h.size(1)
        matrix, const = self._last_cache.get(length, [self.weight, self.bias], lambda: self._build_last(length))
        spectrum = torch.fft.rfft(h, dim=1)  # [B, F, C]
        flat = torch.cat([spectrum.real, spectrum.imag], dim=1).reshape(h.size(0), -1)
        return torch.addmm(const, flat, matrix)

    def _build_last(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight, bias = self.response(length)
        bins = weight.size(0)
        freq = torch.arange(bins, dtype=torch.float64)
        scale = torch.full((bins,), 2.0, dtype=torch.float64)
        scale[0] = 1.0
        if length % 2 == 0:
            scale[-1] = 1.0
        phase = torch.polar(scale / length, -2 * math.pi * freq / length).to(weight.dtype).to(weight.device)
        folded = weight * phase[:, None, None]  # [F, C, D]
        # Re(X V) = Re X Re V - Im X Im V
        matrix = torch.cat([folded.real, -folded.imag]).reshape(-1, weight.size(2))
        const = (bias * phase[:, None]).real.sum(0)
        return matrix, const

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


# Optimizer steps taken in this process. Fused optimizers (the AdamW tscl uses) update weights in place without
# bumping their version counters, so a cached response is also keyed on this count.
_optimizer_steps = 0


def _count_step(*_: object) -> None:
    global _optimizer_steps
    _optimizer_steps += 1


register_optimizer_step_post_hook(_count_step)


class _ResponseCache(Generic[T]):
    """One value derived from some weights, kept while no gradient reaches them and they do not change."""

    def __init__(self) -> None:
        self.entry: tuple[tuple, T] | None = None

    def get(self, size: int, params: Sequence[torch.Tensor], build: Callable[[], T]) -> T:
        """The value for inputs of ``size``: the kept one if still valid, else ``build()`` (kept if frozen)."""
        frozen = not torch.is_grad_enabled() or not any(p.requires_grad for p in params)
        # Any in-place change or replacement of a weight changes the key (an optimizer step through the step
        # count, other changes through the version counters), and so does inference mode, whose tensors
        # autograd cannot mix with others.
        key = (
            size,
            torch.is_inference_mode_enabled(),
            _optimizer_steps,
            *((p.data_ptr(), p._version) for p in params),
        )
        if frozen and self.entry is not None and self.entry[0] == key:
            return self.entry[1]
        value = build()
        self.entry = (key, value) if frozen else None
        return value


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


def _fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n (fast FFT sizes)."""
    best = 1 << max(n - 1, 0).bit_length()
    power5 = 1
    while power5 < best:
        power3 = power5
        while power3 < best:
            size = power3
            while size < n:
                size *= 2
            best = min(best, size)
            power3 *= 3
        power5 *= 5
    return best
