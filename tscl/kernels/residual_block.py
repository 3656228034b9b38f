"""A dilated residual block (GELU -> conv -> GELU -> conv, plus the residual) as one autograd node.

The TS2Vec encoder stacks eleven such blocks. Written as separate operations, a block's forward and backward
pass through ~10 autograd nodes (two GELUs, two convolutions, the padding assignments, the residual's
projection and sum) and as many temporary tensors; on small series (most of the UCR archive) that
bookkeeping costs about as much as the arithmetic. Here the block is one node: the forward pass computes the
same operations on sequence-first activations (`tscl.kernels.tap_conv`), the backward pass is written out
with the same products, and the residual's bias is folded into the second convolution's.

The result equals `residual_block_reference` (the operations one by one, differentiated by autograd) up to
floating-point summation order, in value and in every gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import FunctionCtx

from tscl.kernels.tap_conv import (
    per_tap_weights,
    tap_conv1d,
    tap_forward,
    tap_grad_input,
    tap_grad_weight,
)

__all__ = ["Padding", "residual_block", "residual_block_reference", "zero_padding"]

# (first series, stop series, length): series first:stop of the batch end after ``length`` steps, and their
# later steps are held at zero (several lengths in one batch, each ending as with zero padding).
Padding = list[tuple[int, int, int]]


def zero_padding(x: Tensor, padding: Padding | None) -> Tensor:
    """Sequence-first ``x`` [T, B, C] with the steps beyond each series' end set to zero, in place."""
    for first, stop, length in padding or ():
        x[length:, first:stop] = 0.0
    return x


def _gelu_grad(grad: Tensor, x: Tensor) -> Tensor:
    return torch.ops.aten.gelu_backward(grad, x)  # type: ignore[no-any-return]


class _ResidualBlock(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: FunctionCtx,
        x: Tensor,
        w1: Tensor,
        b1: Tensor,
        w2: Tensor,
        b2: Tensor,
        wp: Tensor | None,
        bp: Tensor | None,
        dilation: int,
        padding: Padding | None,
    ) -> Tensor:
        x = x.contiguous()
        length, batch, in_channels = x.shape
        p1, p2 = per_tap_weights(w1), per_tap_weights(w2)
        a = F.gelu(x)
        h = b1.detach().expand(length, batch, -1).clone()
        zero_padding(tap_forward(a, p1, dilation, h), padding)
        g = F.gelu(h)
        if wp is None:  # identity residual
            out = x + b2.detach()
        else:  # 1x1 projection; both biases in one product
            bias = b2.detach() if bp is None else b2.detach() + bp.detach()
            rows = torch.addmm(bias, x.view(-1, in_channels), wp.detach()[:, :, 0].t())
            out = rows.view(length, batch, -1)
        zero_padding(tap_forward(g, p2, dilation, out), padding)
        ctx.save_for_backward(x, a, h, g, p1, p2, wp)  # type: ignore[arg-type]  # None is allowed
        ctx.dilation, ctx.padding, ctx.has_bp = dilation, padding, bp is not None  # type: ignore[attr-defined]
        return out

    @staticmethod
    def backward(ctx: FunctionCtx, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, a, h, g, p1, p2, wp = ctx.saved_tensors  # type: ignore[attr-defined]
        dilation: int = ctx.dilation  # type: ignore[attr-defined]
        padding: Padding | None = ctx.padding  # type: ignore[attr-defined]
        needs = ctx.needs_input_grad  # type: ignore[attr-defined]
        kernel_size = p1.size(0)
        # The padded steps of the output were assigned zero: nothing flows back from them.
        grad_out = grad_out.contiguous() if not padding else zero_padding(grad_out.clone(), padding)
        out_rows = grad_out.view(-1, grad_out.size(-1))
        grad_b2 = out_rows.sum(0)
        grad_w2 = tap_grad_weight(g, grad_out, dilation, kernel_size) if needs[3] else None
        grad_h = zero_padding(_gelu_grad(tap_grad_input(grad_out, p2, dilation), h), padding)
        grad_w1 = tap_grad_weight(a, grad_h, dilation, kernel_size) if needs[1] else None
        grad_b1 = grad_h.view(-1, grad_h.size(-1)).sum(0) if needs[2] else None
        grad_x = grad_wp = None
        if needs[0]:
            grad_x = _gelu_grad(tap_grad_input(grad_h, p1, dilation), x)
            if wp is None:
                grad_x.add_(grad_out)
            else:
                grad_x.view(-1, x.size(-1)).addmm_(out_rows, wp.detach()[:, :, 0])
        if wp is not None and needs[5]:
            grad_wp = torch.mm(out_rows.t(), x.view(-1, x.size(-1))).unsqueeze(-1)
        grad_bp = grad_b2 if ctx.has_bp and needs[6] else None  # type: ignore[attr-defined]
        return grad_x, grad_w1, grad_b1, grad_w2, grad_b2 if needs[4] else None, grad_wp, grad_bp, None, None


def residual_block(
    x: Tensor,
    conv1: tuple[Tensor, Tensor],
    conv2: tuple[Tensor, Tensor],
    dilation: int,
    projector: tuple[Tensor, Tensor | None] | None = None,
    padding: Padding | None = None,
) -> Tensor:
    """``conv2(gelu(conv1(gelu(x)))) + residual(x)`` on sequence-first ``x`` [T, B, C_in], as one node.

    Args:
        x: Activations [T, B, C_in].
        conv1: (weight [C_out, C_in, K], bias [C_out]) of the first "same" convolution, K odd.
        conv2: (weight [C_out, C_out, K], bias [C_out]) of the second.
        dilation: Both convolutions' dilation.
        projector: (weight [C_out, C_in, 1], bias or None) of the residual's 1x1 convolution; None: identity.
        padding: (first, stop, length) triples: series ``first:stop`` end after ``length`` steps; their later
            steps of the hidden and output activations are held at zero.

    Returns:
        [T, B, C_out], equal to `residual_block_reference`; differentiable once in every tensor argument.
    """
    wp, bp = projector if projector is not None else (None, None)
    return _ResidualBlock.apply(x, conv1[0], conv1[1], conv2[0], conv2[1], wp, bp, dilation, padding)  # type: ignore[no-any-return]


def residual_block_reference(
    x: Tensor,
    conv1: tuple[Tensor, Tensor],
    conv2: tuple[Tensor, Tensor],
    dilation: int,
    projector: tuple[Tensor, Tensor | None] | None = None,
    padding: Padding | None = None,
) -> Tensor:
    """`residual_block` as operations one by one (autograd differentiates them): for tests."""
    if projector is None:
        residual = x
    else:
        residual = F.linear(x, projector[0][:, :, 0], projector[1])
    mid = zero_padding(tap_conv1d(F.gelu(x), conv1[0], conv1[1], dilation), padding)
    out = tap_conv1d(F.gelu(mid), conv2[0], conv2[1], dilation) + residual
    return zero_padding(out, padding)
