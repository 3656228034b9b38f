"""The last output step of a stack of dilated residual blocks, skipping work that cannot reach it.

The stack (TS2Vec's encoder trunk, given by its weights as a `DilatedStack`): a NaN-aware input projection,
then residual blocks GELU -> conv -> GELU -> conv (+ the input, projected if needed), block i with two "same"
convolutions of kernel 3 and dilation 2^i. The forecasting protocol represents step t by encoding the window
x[t-L+1 .. t] (L = 201) and keeping only the output at the window's last position.

Block i's output at position p reads its input at p - 2^i, p, p + 2^i (twice: two convs), and taps outside
the window read zero padding. Walking back from the last position, block i is needed only at the positions
``L-1 - k * 2^i`` (its input, and the output of its first convolution) and its output only at
``L-1 - k * 2^(i+1)``. On these evenly spaced positions each convolution is an ordinary convolution with
dilation 1 and zero padding at both ends: the taps of the first position before the window and of the last
position after it are exactly the ones that read padding. So each block runs on a compact, contiguous
``[P_i, N, C]`` tensor (P_i = ceil(L / 2^i)), three matrix products per convolution on shifted row ranges,
and keeps every other row. Deep blocks (2^i >= L) see one position and reduce to their centre tap.

Values equal `last_position_reference` (the whole stack, then its last step) up to float summation order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["DilatedConv", "DilatedStack", "LastPositionEncoder", "ResidualBlock", "last_position_reference"]


class DilatedConv(NamedTuple):
    """A "same" convolution: ``weight`` [C_out, C_in, K] (K odd), ``bias`` [C_out] or None, ``dilation``."""

    weight: Tensor
    bias: Tensor | None
    dilation: int


class ResidualBlock(NamedTuple):
    """GELU -> ``conv1`` -> GELU -> ``conv2``, plus the block's input.

    Attributes:
        projector: (weight [C_out, C_in], bias [C_out] or None) applied to the input first; None: as is.
    """

    conv1: DilatedConv
    conv2: DilatedConv
    projector: tuple[Tensor, Tensor | None] | None


class DilatedStack(NamedTuple):
    """Input projection ``input_weight`` [H, C] and ``input_bias`` [H], then ``blocks`` in order."""

    input_weight: Tensor
    input_bias: Tensor
    blocks: Sequence[ResidualBlock]


def _row_conv(x: Tensor, taps: Tensor, bias: Tensor | None) -> Tensor:
    """Kernel-3 convolution along dim 0 of ``x`` [P, N, C] with dilation 1 and zero padding -> [P, N, O].

    ``taps`` [3, C, O] holds each tap's matrix (contiguous, ready for the products).
    """
    rows, batch, channels = x.shape
    flat = x.reshape(rows * batch, channels)
    out = torch.empty(rows * batch, taps.size(2), dtype=x.dtype, device=x.device)
    if bias is not None:
        torch.addmm(bias, flat, taps[1], out=out)
    else:
        torch.mm(flat, taps[1], out=out)
    if rows > 1:
        shift = batch  # one compact position
        out[shift:].addmm_(flat[:-shift], taps[0])  # position p reads p - step
        out[:-shift].addmm_(flat[shift:], taps[2])  # position p reads p + step
    return out.view(rows, batch, -1)


def _taps(conv: DilatedConv) -> Tensor:
    return conv.weight.detach().permute(2, 1, 0).contiguous()


def _check_structure(blocks: Sequence[ResidualBlock]) -> None:
    for i, block in enumerate(blocks):
        for conv in (block.conv1, block.conv2):
            if conv.weight.size(2) != 3 or conv.dilation != 2**i:
                raise ValueError("the last-position encoder needs kernel-3 blocks with dilations 1, 2, 4, ...")


class LastPositionEncoder:
    """Callable ``x`` [N, T, C] -> [N, D]: the stack's output at the last of ``x``'s final ``length`` steps.

    Equal to ``last_position_reference(x[:, -length:], stack)``, much cheaper (see the module docstring). The
    convolution weights are copied into tap order once, here; later changes to them are not seen.

    Args:
        stack: The weights; block i must have kernel-3 convolutions of dilation 2^i.
        length: Steps of the window, counted back from the end of ``x``.

    Raises:
        ValueError: a block has another kernel size or dilation.
    """

    def __init__(self, stack: DilatedStack, length: int) -> None:
        _check_structure(stack.blocks)
        self.stack = stack
        self.length = length
        self.taps = [(_taps(block.conv1), _taps(block.conv2)) for block in stack.blocks]

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        stack = self.stack
        x = x[:, -self.length :].transpose(0, 1)  # time-major [L, N, C]: the first block needs every step
        missing = torch.isnan(x).any(dim=-1, keepdim=True)
        h = F.linear(x.masked_fill(missing, 0.0), stack.input_weight, stack.input_bias).masked_fill_(missing, 0.0)
        for block, (taps1, taps2) in zip(stack.blocks, self.taps, strict=True):
            mid = _row_conv(F.gelu(h), taps1, block.conv1.bias)
            out = _row_conv(F.gelu(mid), taps2, block.conv2.bias)
            # The block's output is needed every other position, counted back from the last one.
            keep = slice((h.size(0) - 1) % 2, None, 2)
            residual = h[keep]
            if block.projector is not None:
                residual = F.linear(residual, *block.projector)
            h = (out[keep] + residual).contiguous()
        return h[-1]


def last_position_reference(x: Tensor, stack: DilatedStack) -> Tensor:
    """The whole stack on ``x`` [N, T, C], channel-major with ``conv1d``, then its last step [N, D]. For tests.

    A step with any NaN channel is zeroed before the projection and its projection zeroed after.
    """
    missing = torch.isnan(x).any(dim=-1, keepdim=True)
    h = F.linear(x.masked_fill(missing, 0.0), stack.input_weight, stack.input_bias).masked_fill(missing, 0.0)
    h = h.transpose(1, 2)  # [N, H, T]
    for block in stack.blocks:
        residual = h if block.projector is None else F.conv1d(h, block.projector[0][:, :, None], block.projector[1])
        out = h
        for conv in (block.conv1, block.conv2):
            pad = conv.dilation * (conv.weight.size(2) // 2)
            out = F.conv1d(F.gelu(out), conv.weight, conv.bias, padding=pad, dilation=conv.dilation)
        h = out + residual
    return h[:, :, -1]
