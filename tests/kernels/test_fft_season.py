"""`season_last_position` (the phase folded into the weights) against the inverse rFFT's last step."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from tscl.kernels.fft_season import season_last_operator, season_last_position, season_last_position_reference

pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: a second thread only adds waiting


def spectral_map(length: int, c_in: int, c_out: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Complex weight [F, C, D] and bias [F, D] for inputs of ``length`` steps, as leaves."""
    generator = torch.Generator().manual_seed(seed)
    bins = length // 2 + 1
    weight = torch.randn(bins, c_in, c_out, generator=generator, dtype=torch.complex128)
    bias = torch.randn(bins, c_out, generator=generator, dtype=torch.complex128)
    return weight.requires_grad_(), bias.requires_grad_()


@pytest.mark.parametrize("length", [1, 2, 3, 8, 9, 64, 201, 300])
def test_equals_the_last_step_of_the_inverse_fft(length: int) -> None:
    # Odd and even lengths: an even one has a Nyquist bin, counted once.
    weight, bias = spectral_map(length, 4, 3)
    h = torch.randn(5, length, 4, dtype=torch.float64, requires_grad=True)
    fast = season_last_position(h, season_last_operator(weight, bias, length))
    slow = season_last_position_reference(h, weight, bias)
    torch.testing.assert_close(fast, slow, atol=1e-11, rtol=1e-11)
    inputs = [h, weight, bias]
    upstream = torch.randn_like(slow)
    for got, want in zip(
        torch.autograd.grad(fast, inputs, upstream), torch.autograd.grad(slow, inputs, upstream), strict=True
    ):
        torch.testing.assert_close(got, want, atol=1e-11, rtol=1e-11)


def test_float32() -> None:
    weight, bias = spectral_map(50, 3, 2, seed=1)
    h = torch.randn(2, 50, 3, dtype=torch.float64)
    operator = season_last_operator(weight.detach().to(torch.complex64), bias.detach().to(torch.complex64), 50)
    fast = season_last_position(h.float(), operator)
    assert fast.dtype == torch.float32
    want = season_last_position_reference(h, weight, bias).detach()
    torch.testing.assert_close(fast.double(), want, atol=1e-4, rtol=1e-4)


def test_an_operator_of_another_length_is_refused() -> None:
    # 10 and 11 steps have the same number of bins: the shapes alone would not tell.
    weight, bias = spectral_map(10, 2, 2)
    with pytest.raises(ValueError, match="for 10 steps but the input has 11"):
        season_last_position(torch.randn(1, 11, 2, dtype=torch.float64), season_last_operator(weight, bias, 10))
