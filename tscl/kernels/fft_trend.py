"""The mean of causal convolutions ``C -> D`` of several kernel sizes, by overlap-save FFT, and its last step.

An average of causal convolutions is one causal convolution whose taps are the averages of the
right-aligned kernels. `causal_conv_mean` applies it in the frequency domain, by overlap-save blocks of at
most 385 steps with enough context that nothing wraps around (so memory stays flat on long series): one
matrix product with a constant DFT basis gives the taps' spectrum straight from the stored weights, and each
frequency is a C x D product. Same values as the direct convolutions of `causal_conv_mean_reference`, at a
fraction of their work (directly, a 128-tap 320 -> 160 convolution costs 13 MFLOP per step).
`causal_conv_mean_last` computes the last step alone, as one product with the combined taps.

Both take the convolutions as ``weights`` [D, C, k_i] and ``biases`` [D] (one per kernel size k_i, in the
layout of ``nn.Conv1d``), and optionally a `WeightCache` that keeps what they derive from them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

from tscl.kernels.weight_cache import WeightCache

__all__ = ["causal_conv_mean", "causal_conv_mean_last", "causal_conv_mean_reference", "fft_size"]

# Outputs per FFT block (overlap-save): with kernels up to 128, 384 + 127 steps of input fit an FFT of 512.
_BLOCK = 385

T = TypeVar("T")


def fft_size(n: int) -> int:
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


def _kept(
    cache: WeightCache[T] | None, size: int, weights: Sequence[Tensor], biases: Sequence[Tensor], build: Callable[[], T]
) -> T:
    return build() if cache is None else cache.get(size, [*weights, *biases], build)


def _mean_bias(biases: Sequence[Tensor]) -> Tensor:
    return torch.stack(list(biases)).mean(0)


@functools.lru_cache(maxsize=64)
def _dft_basis(kernels: tuple[int, ...], n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``[2F, sum(kernels)]``: cos and -sin rows of the DFT at each stored tap's lag (tap i of a size-k
    kernel weighs the input k - 1 - i steps back), divided by the number of kernels (their mean)."""
    # Made outside inference mode, whatever the caller's: an inference tensor could not join a later graph.
    with torch.inference_mode(False):
        lag = torch.cat([torch.arange(k - 1, -1, -1, dtype=torch.float64) for k in kernels])
        angle = 2 * math.pi * torch.arange(n // 2 + 1, dtype=torch.float64)[:, None] * lag[None, :] / n
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) / len(kernels)  # the mean's 1/K too
        return basis.to(dtype).to(device)


def _response(weights: Sequence[Tensor], biases: Sequence[Tensor], n: int) -> tuple[Tensor, Tensor, Tensor]:
    """Real and imaginary parts ``[n/2+1, C, D]`` of the combined taps' DFT, and the mean bias [D].

    The DFT of the taps is one matrix product of a constant basis with all convolutions' weights side by
    side as stored (no flipped or permuted copies), which also sums the kernels, in the layout the batched
    products need.
    """
    bins = n // 2 + 1
    first = weights[0]
    out_channels, in_channels = first.shape[:2]
    stacked = torch.cat([w.reshape(out_channels * in_channels, -1) for w in weights], dim=1)
    basis = _dft_basis(tuple(w.size(2) for w in weights), n, first.dtype, first.device)
    response = basis @ stacked.t()  # [2F, D*C]
    # [2, F, C, D] as a transposed view: the batched products take it without a copy.
    parts = response.view(2, bins, out_channels, in_channels).transpose(2, 3)
    return parts[0], parts[1], _mean_bias(biases)


def causal_conv_mean(
    h: Tensor,
    weights: Sequence[Tensor],
    biases: Sequence[Tensor],
    cache: WeightCache[tuple[Tensor, Tensor, Tensor]] | None = None,
) -> Tensor:
    """The mean over kernels of the causal convolutions of ``h`` (see the module docstring).

    Args:
        h: Input [B, T, C], time-major.
        weights: One kernel [D, C, k_i] per convolution (``nn.Conv1d`` layout: the last tap is the current step).
        biases: One [D] per convolution.
        cache: Keeps the taps' spectrum while the weights are frozen and unchanged (see `WeightCache`).

    Returns:
        [B, T, D], equal to `causal_conv_mean_reference`; differentiable in ``h``, weights and biases.
    """
    batch, length, channels = h.shape
    reach = max(w.size(2) for w in weights) - 1  # steps back the longest kernel reads
    # Overlap-save: blocks of `block` outputs, each computed from its own `reach` + `block` input steps
    # with one FFT of size n >= reach + block (so nothing wraps around). One block for short inputs;
    # long ones keep n, and with it the frequency response, small.
    block = min(length, _BLOCK)
    n = fft_size(block + reach)
    blocks = -(-length // block)
    padded = F.pad(h, (0, 0, reach, blocks * block - length))  # zeros before the start and after the end
    pieces = padded.unfold(1, block + reach, block)  # [B, blocks, C, block + reach]
    real, imag, bias = _kept(cache, n, weights, biases, lambda: _response(weights, biases, n))  # [F, C, D] each
    spectrum = torch.fft.rfft(pieces, n=n, dim=-1)  # [B, blocks, C, F]
    spectrum = spectrum.permute(3, 0, 1, 2).reshape(n // 2 + 1, batch * blocks, channels)  # [F, B*blocks, C]
    x_real, x_imag = spectrum.real.contiguous(), spectrum.imag.contiguous()
    out_real = torch.baddbmm(torch.bmm(x_real, real), x_imag, imag, alpha=-1.0)
    out_imag = torch.baddbmm(torch.bmm(x_real, imag), x_imag, real)
    out = torch.fft.irfft(torch.complex(out_real, out_imag), n=n, dim=0)  # [n, B*blocks, D]
    out = out[reach : reach + block].view(block, batch, blocks, -1).permute(1, 2, 0, 3)
    return out.reshape(batch, blocks * block, -1)[:, :length] + bias


def _last_taps(weights: Sequence[Tensor], biases: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """``[max(k) * C, D]``: lag ``l``'s matrix (rows ``l * C`` on) is the mean over the kernels longer than
    ``l`` of their tap ``l`` steps back; and the mean bias [D]."""
    out_channels, in_channels = weights[0].shape[:2]
    lags = weights[0].new_zeros(out_channels, in_channels, max(w.size(2) for w in weights))
    for w in weights:
        lags[:, :, : w.size(2)] += w.flip(-1)  # flipped: index = steps back
    taps = (lags / len(weights)).permute(2, 1, 0).reshape(-1, out_channels)
    return taps, _mean_bias(biases)


def causal_conv_mean_last(
    h: Tensor,
    weights: Sequence[Tensor],
    biases: Sequence[Tensor],
    cache: WeightCache[tuple[Tensor, Tensor]] | None = None,
) -> Tensor:
    """``causal_conv_mean(h, weights, biases)[:, -1]`` alone: the combined taps applied once to the tail.

    Args:
        h: Input [B, T, C].
        weights: One kernel [D, C, k_i] per convolution.
        biases: One [D] per convolution.
        cache: Keeps the combined taps while the weights are frozen and unchanged (see `WeightCache`).

    Returns:
        [B, D]: one product of the reversed last ``max(k_i)`` steps of ``h`` with the stacked lags.
    """
    batch, length, channels = h.shape
    taps, bias = _kept(cache, 0, weights, biases, lambda: _last_taps(weights, biases))
    reach = min(length, max(w.size(2) for w in weights))
    tail = h[:, length - reach :].flip(1).reshape(batch, reach * channels)  # lag 0 first
    return torch.addmm(bias, tail, taps[: reach * channels])


def causal_conv_mean_reference(h: Tensor, weights: Sequence[Tensor], biases: Sequence[Tensor]) -> Tensor:
    """The direct form, for tests: each causal convolution of ``h`` [B, T, C] (zero-padded on the left,
    ``conv1d``), then their mean -> [B, T, D]."""
    x = h.transpose(1, 2)
    outs = [F.conv1d(F.pad(x, (w.size(2) - 1, 0)), w, b) for w, b in zip(weights, biases, strict=True)]
    return torch.stack(outs).mean(0).transpose(1, 2)
