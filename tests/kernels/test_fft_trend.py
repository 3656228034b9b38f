"""`causal_conv_mean` (overlap-save FFT) and `causal_conv_mean_last` against the direct convolutions."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from tscl.kernels.fft_trend import causal_conv_mean, causal_conv_mean_last, causal_conv_mean_reference, fft_size
from tscl.kernels.weight_cache import WeightCache

pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: a second thread only adds waiting

DEFAULT = (1, 2, 4, 8, 16, 32, 64, 128)


def convolutions(kernels: tuple[int, ...], c_in: int, c_out: int, seed: int = 0) -> tuple[list[Tensor], list[Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    weights = [torch.randn(c_out, c_in, k, generator=generator, dtype=torch.float64) for k in kernels]
    biases = [torch.randn(c_out, generator=generator, dtype=torch.float64) for _ in kernels]
    return [w.requires_grad_() for w in weights], [b.requires_grad_() for b in biases]


@pytest.mark.parametrize(
    ("length", "kernels"),
    [(1, (1, 2, 4)), (5, (1, 2, 4, 8)), (7, (3, 5)), (128, DEFAULT), (300, DEFAULT), (386, (1, 2)),
     (1000, DEFAULT)],
)  # fmt: skip
def test_equals_the_mean_of_causal_convolutions(length: int, kernels: tuple[int, ...]) -> None:
    # Lengths above 385 take several overlap-save blocks (386: a last block of one step; 1000: three).
    weights, biases = convolutions(kernels, 6, 4)
    h = torch.randn(3, length, 6, dtype=torch.float64, requires_grad=True)
    fast, slow = causal_conv_mean(h, weights, biases), causal_conv_mean_reference(h, weights, biases)
    torch.testing.assert_close(fast, slow, atol=1e-10, rtol=1e-10)
    upstream = torch.randn_like(slow)
    inputs = [h, *weights, *biases]
    for got, want in zip(
        torch.autograd.grad(fast, inputs, upstream), torch.autograd.grad(slow, inputs, upstream), strict=True
    ):
        torch.testing.assert_close(got, want, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize(("length", "kernels"), [(1, (1, 2, 4)), (3, (1, 4)), (127, DEFAULT), (128, DEFAULT),
                                                 (129, DEFAULT), (300, DEFAULT)])  # fmt: skip
def test_last_step_equals_the_last_step_of_the_mean(length: int, kernels: tuple[int, ...]) -> None:
    # Shorter than the longest kernel: only the lags inside the series count.
    weights, biases = convolutions(kernels, 5, 3, seed=1)
    h = torch.randn(4, length, 5, dtype=torch.float64, requires_grad=True)
    fast = causal_conv_mean_last(h, weights, biases)
    slow = causal_conv_mean_reference(h, weights, biases)[:, -1]
    torch.testing.assert_close(fast, slow, atol=1e-10, rtol=1e-10)
    inputs = [h, *weights, *biases]
    for got, want in zip(torch.autograd.grad(fast.sum(), inputs), torch.autograd.grad(slow.sum(), inputs), strict=True):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)


def test_float32_and_the_causality_of_every_step() -> None:
    weights, biases = convolutions(DEFAULT, 3, 2, seed=2)
    weights32, biases32 = [w.detach().float() for w in weights], [b.detach().float() for b in biases]
    h = torch.randn(1, 500, 3)
    out = causal_conv_mean(h, weights32, biases32)
    torch.testing.assert_close(
        out.double(), causal_conv_mean_reference(h.double(), weights, biases), atol=1e-4, rtol=1e-4
    )
    changed = h.clone()
    changed[0, 400:] += 1.0  # in the second overlap-save block
    later = causal_conv_mean(changed, weights32, biases32)
    assert torch.equal(later[:, :385], out[:, :385])  # the first block does not read the change at all
    torch.testing.assert_close(later[:, :400], out[:, :400], atol=1e-5, rtol=0)
    assert not torch.allclose(later[:, 400:], out[:, 400:])


def test_a_cached_response_is_reused_only_while_frozen() -> None:
    weights, biases = convolutions((1, 2, 4), 3, 2, seed=3)
    h = torch.randn(2, 20, 3, dtype=torch.float64)
    cache: WeightCache[tuple[Tensor, Tensor, Tensor]] = WeightCache()
    causal_conv_mean(h, weights, biases, cache)  # the weights need a gradient: not kept
    assert cache.entry is None
    with torch.no_grad():
        first = causal_conv_mean(h, weights, biases, cache)
        kept = cache.entry
        assert kept is not None
        torch.testing.assert_close(causal_conv_mean(h, weights, biases, cache), first)
        assert cache.entry is kept
        for changing in (weights[0], biases[1]):
            kept = cache.entry
            changing.mul_(2.0)  # an in-place change: rebuilt
            changed = causal_conv_mean(h, weights, biases, cache)
            assert cache.entry is not kept
            torch.testing.assert_close(changed, causal_conv_mean_reference(h, weights, biases))


def test_the_basis_made_in_inference_mode_still_serves_autograd() -> None:
    weights, biases = convolutions((1, 3), 2, 2, seed=4)
    h = torch.randn(1, 11, 2, dtype=torch.float64)
    with torch.inference_mode():
        causal_conv_mean(h, weights, biases)  # the first use of this FFT size and dtype
    out = causal_conv_mean(h, weights, biases)
    (grad,) = torch.autograd.grad(out.sum(), weights[0])  # saving an inference tensor would fail here
    torch.testing.assert_close(
        grad, torch.autograd.grad(causal_conv_mean_reference(h, weights, biases).sum(), weights[0])[0]
    )


def test_fft_sizes_are_smooth_and_large_enough() -> None:
    for n in [1, 2, 7, 128, 129, 383, 1000, 3127]:
        size = fft_size(n)
        assert size >= n
        rest = size
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        assert rest == 1
        assert size < 2 * n or n == 1
    assert [fft_size(n) for n in (129, 250, 511, 513)] == [135, 250, 512, 540]
