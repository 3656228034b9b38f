"""`residual_block` (one autograd node) against the same operations one by one, values and gradients."""

from __future__ import annotations

import pytest
import torch

from tscl.kernels.residual_block import residual_block, residual_block_reference

pytestmark = pytest.mark.usefixtures("one_thread")


def _weights(c_in: int, c_out: int, kernel: int, projector: str) -> list[torch.Tensor | None]:
    def make(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    w1, b1 = make(c_out, c_in, kernel), make(c_out)
    w2, b2 = make(c_out, c_out, kernel), make(c_out)
    wp = make(c_out, c_in, 1) if projector != "identity" else None
    bp = make(c_out) if projector == "with bias" else None
    return [w1, b1, w2, b2, wp, bp]


@pytest.mark.parametrize(
    ("batch", "length", "c_in", "c_out", "dilation", "kernel", "projector"),
    [(2, 9, 3, 3, 1, 3, "identity"), (3, 12, 4, 5, 2, 3, "with bias"), (2, 7, 3, 3, 8, 3, "with bias"),
     (1, 1, 2, 2, 1, 3, "identity"), (2, 20, 3, 4, 3, 5, "without bias"), (4, 16, 2, 2, 16, 3, "identity")],
)  # fmt: skip
@pytest.mark.parametrize("padded", [False, True])
def test_equals_the_operations_one_by_one(
    batch: int, length: int, c_in: int, c_out: int, dilation: int, kernel: int, projector: str, padded: bool
) -> None:
    torch.manual_seed(0)
    if c_in != c_out and projector == "identity":
        pytest.skip("an identity residual needs equal widths")
    x = torch.randn(length, batch, c_in, dtype=torch.float64, requires_grad=True)
    w1, b1, w2, b2, wp, bp = _weights(c_in, c_out, kernel, projector)
    # Series 0 ends early, the last one is full length: zero padding must hold for the short one only.
    padding = [(0, 1, max(1, length // 2))] if padded and batch > 1 else None
    if padding:
        with torch.no_grad():
            x[padding[0][2] :, 0] = 0.0  # padded input steps are zero, as the encoder gives them
    proj = None if wp is None else (wp, bp)
    out = residual_block(x, (w1, b1), (w2, b2), dilation, proj, padding)  # type: ignore[arg-type]
    ref = residual_block_reference(x, (w1, b1), (w2, b2), dilation, proj, padding)  # type: ignore[arg-type]
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-12)
    inputs = [t for t in (x, w1, b1, w2, b2, wp, bp) if t is not None]
    upstream = torch.randn_like(out)
    for got, want in zip(
        torch.autograd.grad(out, inputs, upstream), torch.autograd.grad(ref, inputs, upstream), strict=True
    ):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)


def test_gradcheck_with_a_projection_and_padding() -> None:
    torch.manual_seed(1)
    x = torch.randn(6, 2, 2, dtype=torch.float64, requires_grad=True)
    w1, b1, w2, b2, wp, bp = _weights(2, 3, 3, "with bias")

    def block(*t: torch.Tensor) -> torch.Tensor:
        return residual_block(t[0], (t[1], t[2]), (t[3], t[4]), 2, (t[5], t[6]), [(1, 2, 4)])

    assert torch.autograd.gradcheck(block, (x, w1, b1, w2, b2, wp, bp))  # type: ignore[arg-type]


def test_only_some_inputs_need_gradients() -> None:
    torch.manual_seed(2)
    x = torch.randn(10, 3, 4)  # no gradient, float32
    w1, b1, w2, b2, _, _ = (t.float().detach() if t is not None else None for t in _weights(4, 4, 3, "identity"))
    assert w1 is not None and b1 is not None and w2 is not None and b2 is not None
    w2.requires_grad_(True)
    out = residual_block(x, (w1, b1), (w2, b2), 1)
    (got,) = torch.autograd.grad(out.square().sum(), w2)
    (want,) = torch.autograd.grad(residual_block_reference(x, (w1, b1), (w2, b2), 1).square().sum(), w2)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-5)
