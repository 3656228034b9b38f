"""Dilated "same" 1-D convolution on time-major activations, computed tap by tap with matrix products.

The TS2Vec encoder's convolutions have few channels (64) and long, dilated kernels. On CPUs the generic
convolution kernels run them at a fraction of the matmul throughput, and they need channel-major
``[B, C, T]`` tensors, so every block pays for layout changes. Here activations stay ``[B, T, C]`` and a
kernel of K taps with dilation d is K matrix products: tap j reads the input shifted by
``(j - K // 2) * d`` steps, and the "same" zero padding is the part of the shift that falls outside the
series, which is simply not computed. A tap whose whole shift falls outside the series (``|shift| >= T``)
contributes nothing and is skipped, so a deep block (dilation >= length) is exactly a 1x1 convolution.

The result equals ``torch.nn.functional.conv1d(x.mT, weight, bias, padding=d * (K // 2), dilation=d).mT``
up to floating-point summation order; forward and backward are both written out (no autograd graph inside),
and every product accumulates in place into its output.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

__all__ = ["tap_conv1d"]


def _taps(kernel_size: int, dilation: int, length: int) -> list[tuple[int, int]]:
    """(tap index, time shift) of the taps that read at least one step inside the series."""
    centre = kernel_size // 2
    return [
        (j, (j - centre) * dilation) for j in range(kernel_size) if abs((j - centre) * dilation) < length
    ]


def _shifted(t: Tensor, shift: int, length: int) -> tuple[slice, slice]:
    """(output rows, input rows) such that output[t] reads input[t + shift], both inside [0, length)."""
    if shift >= 0:
        return slice(0, length - shift), slice(shift, length)
    return slice(-shift, length), slice(0, length + shift)


class _TapConv1d(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int
    ) -> Tensor:
        batch, length, in_channels = x.shape
        out_channels, _, kernel_size = weight.shape
        x = x.contiguous()
        taps = _taps(kernel_size, dilation, length)
        # [K, C_in, C_out]: tap j's matrix, contiguous, so every product is a plain GEMM.
        per_tap = weight.detach().permute(2, 1, 0).contiguous()
        centre = kernel_size // 2
        rows = x.view(batch * length, in_channels)
        out = x.new_empty(batch, length, out_channels)  # not a view: the caller may add to it in place
        if bias is not None:
            torch.addmm(bias.detach(), rows, per_tap[centre], out=out.view(batch * length, out_channels))
        else:
            torch.mm(rows, per_tap[centre], out=out.view(batch * length, out_channels))
        for j, shift in taps:
            if shift == 0:
                continue
            dst, src = _shifted(out, shift, length)
            out[:, dst].baddbmm_(x[:, src], per_tap[j].expand(batch, -1, -1))
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
        batch, length, in_channels = x.shape
        kernel_size, _, out_channels = per_tap.shape
        centre = kernel_size // 2
        grad_out = grad_out.contiguous()
        taps = _taps(kernel_size, dilation, length)
        grad_rows = grad_out.view(batch * length, out_channels)
        grad_x = grad_weight = grad_bias = None
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]  # type: ignore[attr-defined]
        if needs_x:
            grad_x = torch.mm(grad_rows, per_tap[centre].t()).view(batch, length, in_channels)
            for j, shift in taps:
                if shift != 0:
                    dst, src = _shifted(grad_out, shift, length)
                    grad_x[:, src].baddbmm_(grad_out[:, dst], per_tap[j].t().expand(batch, -1, -1))
        if needs_w:
            grad_per_tap = per_tap.new_zeros(per_tap.shape)
            rows = x.view(batch * length, in_channels)
            torch.mm(rows.t(), grad_rows, out=grad_per_tap[centre])
            for j, shift in taps:
                if shift != 0:
                    dst, src = _shifted(grad_out, shift, length)
                    grad_per_tap[j] = torch.bmm(x[:, src].mT, grad_out[:, dst]).sum(0)
            grad_weight = grad_per_tap.permute(2, 1, 0)
        if needs_b and ctx.has_bias:  # type: ignore[attr-defined]
            grad_bias = grad_rows.sum(0)
        return grad_x, grad_weight, grad_bias, None


def tap_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
    """"Same" dilated convolution of time-major ``x`` [B, T, C_in] with ``weight`` [C_out, C_in, K], K odd.

    Returns [B, T, C_out]; equal to ``conv1d`` with padding ``dilation * (K // 2)`` on ``x.mT``, transposed
    back (see the module docstring).
    """
    if weight.size(2) % 2 == 0:
        raise ValueError(f"tap_conv1d needs an odd kernel size but got {weight.size(2)}")
    return _TapConv1d.apply(x, weight, bias, dilation)  # type: ignore[no-any-return]
