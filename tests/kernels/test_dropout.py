"""The numpy-masked dropout has torch dropout's distribution, scaling, gradient and seeding."""

from __future__ import annotations

import math

import torch

from tscl.kernels.dropout import dropout


def test_outside_training_or_at_zero_rate_the_input_is_returned() -> None:
    x = torch.randn(4, 5)
    assert dropout(x, 0.1, training=False) is x
    assert dropout(x, 0.0, training=True) is x


def test_kept_elements_are_scaled_and_the_drop_rate_is_p() -> None:
    torch.manual_seed(0)
    x = torch.rand(1000, 1000) + 0.5  # no zeros, so a zero output means dropped
    p = 0.1
    out = dropout(x, p, training=True)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    dropped = int((~kept).sum())
    n = x.numel()
    assert abs(dropped - n * p) < 6 * math.sqrt(n * p * (1 - p))  # six standard deviations of the binomial


def test_the_gradient_is_the_mask_times_the_scale() -> None:
    torch.manual_seed(1)
    x = torch.ones(50, 40, requires_grad=True)
    out = dropout(x, 0.3, training=True)
    out.backward(torch.full_like(out, 2.0))
    assert x.grad is not None
    torch.testing.assert_close(x.grad, 2.0 * out.detach())  # out = mask / (1 - p) for x = 1


def test_the_torch_seed_determines_the_mask() -> None:
    x = torch.ones(64, 32)
    torch.manual_seed(7)
    first = dropout(x, 0.5, training=True)
    torch.manual_seed(7)
    again = dropout(x, 0.5, training=True)
    torch.manual_seed(8)
    other = dropout(x, 0.5, training=True)
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_other_dtypes_use_torch_dropout() -> None:
    torch.manual_seed(3)
    x = torch.ones(100, 100, dtype=torch.bfloat16)
    out = dropout(x, 0.2, training=True)
    assert out.dtype == torch.bfloat16 and set(out.unique().tolist()) <= {0.0, 1.25}
