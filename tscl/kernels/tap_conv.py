"""Dilated "same" 1-D convolution on sequence-first activations, computed tap by tap with matrix products.

The TS2Vec encoder's convolutions have few channels (64) and long, dilated kernels. On CPUs the generic
convolution kernels run them at a fraction of the matmul throughput, and they need channel-major
``[B, C, T]`` tensors, so every block pays for layout changes. Here activations are sequence-first,
``[T, B, C]``, so that the ``T * B`` rows of one time step and its neighbours are contiguous. A kernel of K
taps with dilation d is then K plain 2-D matrix products over the whole batch: tap j reads the input shifted
by ``(j - K // 2) * d`` steps, which is a shift by ``shift * B`` rows, and the "same" zero padding is the part
of the shift that falls outside the series, which is simply not computed. A tap whose whole shift falls
outside the series (``|shift| >= T``) contributes nothing and is skipped, so a deep block (dilation >= length)
is exactly a 1x1 convolution. (With batch-first rows a shifted tap crosses series boundaries, and batched
products of small matrices run as one small product per series.)

The result equals `tap_conv1d_reference`, ``conv1d`` on the channel-major input with padding ``d * (K // 2)``,
up to floating-point summation order; forward and backward are both written out (no autograd graph inside),
and every product accumulates in place into its output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import FunctionCtx

__all__ = ["per_tap_weights", "tap_conv1d", "tap_conv1d_reference", "tap_forward", "tap_grad_input", "tap_grad_weight"]


def _taps(kernel_size: int, dilation: int, length: int) -> list[tuple[int, int]]:
    """(tap index, time shift) of the off-centre taps that read at least one step inside the series."""
    centre = kernel_size // 2
    return [
        (j, (j - centre) * dilation)
        for j in range(kernel_size)
        if j != centre and abs((j - centre) * dilation) < length
    ]


def _shifted_rows(shift: int, length: int, batch: int) -> tuple[slice, slice]:
    """(output rows, input rows) of the flattened ``[T * B, C]`` view such that output[t] reads input[t + shift]."""
    if shift >= 0:
        return slice(0, (length - shift) * batch), slice(shift * batch, length * batch)
    return slice(-shift * batch, length * batch), slice(0, (length + shift) * batch)


def per_tap_weights(weight: Tensor) -> Tensor:
    """A kernel [C_out, C_in, K] as K contiguous matrices [K, C_in, C_out] (detached): tap j's product."""
    return weight.detach().permute(2, 1, 0).contiguous()


def tap_forward(x: Tensor, per_tap: Tensor, dilation: int, out: Tensor) -> Tensor:
    """Add the convolution of contiguous ``x`` [T, B, C_in] (no bias) to ``out`` [T, B, C_out], in place."""
    length, batch, in_channels = x.shape
    kernel_size = per_tap.size(0)
    rows = x.view(length * batch, in_channels)
    out_rows = out.view(length * batch, out.size(-1))
    out_rows.addmm_(rows, per_tap[kernel_size // 2])
    for j, shift in _taps(kernel_size, dilation, length):
        dst, src = _shifted_rows(shift, length, batch)
        out_rows[dst].addmm_(rows[src], per_tap[j])
    return out


def tap_grad_input(grad_out: Tensor, per_tap: Tensor, dilation: int) -> Tensor:
    """Gradient of the convolution's input [T, B, C_in] from contiguous ``grad_out`` [T, B, C_out]."""
    length, batch, out_channels = grad_out.shape
    kernel_size, in_channels, _ = per_tap.shape
    grad_rows = grad_out.view(length * batch, out_channels)
    grad_x_rows = torch.mm(grad_rows, per_tap[kernel_size // 2].t())
    for j, shift in _taps(kernel_size, dilation, length):
        dst, src = _shifted_rows(shift, length, batch)
        grad_x_rows[src].addmm_(grad_rows[dst], per_tap[j].t())
    return grad_x_rows.view(length, batch, in_channels)


def tap_grad_weight(x: Tensor, grad_out: Tensor, dilation: int, kernel_size: int) -> Tensor:
    """Gradient of the kernel, as [C_out, C_in, K], from contiguous ``x`` and ``grad_out`` [T, B, C]."""
    length, batch, in_channels = x.shape
    out_channels = grad_out.size(-1)
    rows = x.view(length * batch, in_channels)
    grad_rows = grad_out.view(length * batch, out_channels)
    grad_per_tap = x.new_zeros((kernel_size, in_channels, out_channels))
    torch.mm(rows.t(), grad_rows, out=grad_per_tap[kernel_size // 2])
    for j, shift in _taps(kernel_size, dilation, length):
        dst, src = _shifted_rows(shift, length, batch)
        torch.mm(rows[src].t(), grad_rows[dst], out=grad_per_tap[j])
    return grad_per_tap.permute(2, 1, 0)


class _TapConv1d(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int
    ) -> Tensor:
        length, batch, _ = x.shape
        x = x.contiguous()
        per_tap = per_tap_weights(weight)  # [K, C_in, C_out]: every product is a plain GEMM
        out = x.new_empty(length, batch, weight.size(0))  # not a view: the caller may add to it in place
        if bias is not None:
            out.copy_(bias.detach().expand_as(out))
        else:
            out.zero_()
        tap_forward(x, per_tap, dilation, out)
        ctx.save_for_backward(x, per_tap)
        ctx.dilation = dilation  # type: ignore[attr-defined]
        ctx.has_bias = bias is not None  # type: ignore[attr-defined]
        return out

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: FunctionCtx, grad_out: Tensor
    ) -> tuple[Tensor | None, Tensor | None, Tensor | None, None]:
        x, per_tap = ctx.saved_tensors  # type: ignore[attr-defined]
        dilation: int = ctx.dilation  # type: ignore[attr-defined]
        grad_out = grad_out.contiguous()
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]  # type: ignore[attr-defined]
        grad_x = tap_grad_input(grad_out, per_tap, dilation) if needs_x else None
        grad_weight = tap_grad_weight(x, grad_out, dilation, per_tap.size(0)) if needs_w else None
        grad_bias = None
        if needs_b and ctx.has_bias:  # type: ignore[attr-defined]
            grad_bias = grad_out.view(-1, grad_out.size(-1)).sum(0)
        return grad_x, grad_weight, grad_bias, None


def tap_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
    """A "same" dilated convolution of sequence-first activations, tap by tap (see the module docstring).

    Args:
        x: Input [T, B, C_in].
        weight: Kernel [C_out, C_in, K], K odd.
        bias: [C_out] or None.
        dilation: Spacing of the taps, >= 1.

    Returns:
        [T, B, C_out], equal to `tap_conv1d_reference`; differentiable once in every argument.

    Raises:
        ValueError: K is even (a "same" convolution needs a centre tap).
    """
    if weight.size(2) % 2 == 0:
        raise ValueError(f"tap_conv1d needs an odd kernel size but got {weight.size(2)}")
    return _TapConv1d.apply(x, weight, bias, dilation)  # type: ignore[no-any-return]


def tap_conv1d_reference(x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
    """`tap_conv1d` as defined, for tests: ``conv1d`` on the channel-major input, permuted back.

    Args:
        x: Input [T, B, C_in].
        weight: Kernel [C_out, C_in, K], K odd.
        bias: [C_out] or None.
        dilation: Spacing of the taps, >= 1.

    Returns:
        [T, B, C_out]: the convolution with zero padding ``dilation * (K // 2)`` at both ends.
    """
    pad = dilation * (weight.size(2) // 2)
    return F.conv1d(x.permute(1, 2, 0), weight, bias, padding=pad, dilation=dilation).permute(2, 0, 1)
