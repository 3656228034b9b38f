"""The last step of a per-frequency linear map of the rFFT, ``irfft(rfft(h) W + b)[:, -1]``, without the
inverse FFT of every step.

The inverse rFFT of ``Y`` [F, D] at the last step ``T - 1`` is the real part of
``sum_f a_f / T * exp(-2 pi i f / T) * Y_f`` (``a_f`` = 1 at the zero and Nyquist bins, else 2), linear in
the per-frequency output ``Y = X W + b``. Folding that phase into ``W`` and ``b`` (`season_last_operator`,
once per weight update) leaves one real product of ``[Re X, Im X]`` with a ``[2 F C, D]`` matrix per input
(`season_last_position`). Same values as `season_last_position_reference` up to float summation order.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["LastStepOperator", "season_last_operator", "season_last_position", "season_last_position_reference"]


class LastStepOperator(NamedTuple):
    """``matrix`` [2 F C, D] and ``const`` [D] of the map's last step, for inputs of ``length`` steps."""

    matrix: Tensor
    const: Tensor
    length: int


def season_last_operator(weight: Tensor, bias: Tensor, length: int) -> LastStepOperator:
    """The map's last step for inputs of ``length`` steps, folded into one real matrix.

    Args:
        weight: Complex [F, C, D], F = length // 2 + 1: the map at each rFFT bin.
        bias: Complex [F, D].
        length: Steps T of the inputs.

    Returns:
        The operator for `season_last_position`; differentiable in ``weight`` and ``bias``.
    """
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
    return LastStepOperator(matrix, const, length)


def season_last_position(h: Tensor, operator: LastStepOperator) -> Tensor:
    """``irfft(rfft(h) W + b)[:, -1]`` for ``h`` [B, T, C], with ``operator = season_last_operator(W, b, T)``.

    Returns:
        [B, D].

    Raises:
        ValueError: ``h`` does not have the operator's length.
    """
    if h.size(1) != operator.length:
        raise ValueError(f"the operator is for {operator.length} steps but the input has {h.size(1)}")
    spectrum = torch.fft.rfft(h, dim=1)  # [B, F, C]
    flat = torch.cat([spectrum.real, spectrum.imag], dim=1).reshape(h.size(0), -1)
    return torch.addmm(operator.const, flat, operator.matrix)


def season_last_position_reference(h: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """The map at every step, then the last one, for tests: ``h`` [B, T, C], complex ``weight`` [F, C, D] and
    ``bias`` [F, D] -> [B, D]."""
    out = torch.einsum("bfc,fcd->bfd", torch.fft.rfft(h, dim=1), weight) + bias
    return torch.fft.irfft(out, n=h.size(1), dim=1)[:, -1]
