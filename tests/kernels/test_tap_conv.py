"""`tap_conv1d` (tap-by-tap matrix products on sequence-first activations) against ``conv1d``."""

from __future__ import annotations

import pytest
import torch

from tscl.kernels.tap_conv import tap_conv1d, tap_conv1d_reference

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: a second thread only adds waiting


@pytest.mark.parametrize(
    ("batch", "length", "c_in", "c_out", "dilation", "kernel"),
    [(1, 1, 2, 3, 1, 3), (2, 7, 3, 5, 1, 3), (3, 10, 4, 4, 4, 3), (2, 9, 3, 3, 16, 3), (2, 20, 3, 4, 3, 5),
     (2, 8, 2, 2, 7, 3), (2, 8, 2, 2, 8, 3), (1, 30, 5, 2, 2, 1), (3, 13, 1, 1, 2, 7)],
)  # fmt: skip
@pytest.mark.parametrize("with_bias", [True, False])
def test_equals_conv1d_values_and_gradients(
    batch: int, length: int, c_in: int, c_out: int, dilation: int, kernel: int, with_bias: bool
) -> None:
    # Dilations around the length (7, 8 on 8 steps, 16 on 9) cover taps partly and wholly in the padding.
    torch.manual_seed(0)
    x = torch.randn(length, batch, c_in, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(c_out, c_in, kernel, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True) if with_bias else None
    inputs = (x, weight) + ((bias,) if bias is not None else ())
    out = tap_conv1d(x, weight, bias, dilation)
    ref = tap_conv1d_reference(x, weight, bias, dilation)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-12)
    upstream = torch.randn_like(out)
    for got, want in zip(
        torch.autograd.grad(out, inputs, upstream), torch.autograd.grad(ref, inputs, upstream), strict=True
    ):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)
    assert torch.autograd.gradcheck(lambda *a: tap_conv1d(a[0], a[1], a[2] if with_bias else None, dilation), inputs)


def test_float32_non_contiguous_input_and_only_some_gradients() -> None:
    torch.manual_seed(1)
    x = torch.randn(3, 40, 6).transpose(0, 1)[:, :, ::2]  # [40, 3, 3], strided
    weight = torch.randn(4, 3, 3, requires_grad=True)
    bias = torch.randn(4)
    out = tap_conv1d(x, weight, bias, 2)
    torch.testing.assert_close(out, tap_conv1d_reference(x, weight, bias, 2), atol=1e-5, rtol=1e-5)
    (grad,) = torch.autograd.grad(out.square().sum(), weight)
    (want,) = torch.autograd.grad(tap_conv1d_reference(x, weight, bias, 2).square().sum(), weight)
    torch.testing.assert_close(grad, want, atol=1e-4, rtol=1e-5)


def test_the_output_is_not_a_view_of_the_input() -> None:
    # The encoder adds the residual to the output in place.
    x = torch.randn(5, 2, 3)
    before = x.clone()
    out = tap_conv1d(x, torch.eye(3)[:, :, None], None, 1)  # the identity
    torch.testing.assert_close(out, x)
    out.add_(1.0)
    assert torch.equal(x, before)


def test_even_kernels_are_refused() -> None:
    with pytest.raises(ValueError, match="odd"):
        tap_conv1d(torch.zeros(1, 4, 2), torch.zeros(2, 2, 2), None, 1)
