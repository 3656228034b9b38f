"""Exact last-position inference for the TS2Vec encoder, skipping work that cannot reach that position.

The forecasting protocol represents step t by encoding the window x[t-L+1 .. t] (L = 201) and keeping only
the output at the window's last position. In the encoder's stack of "same" convolutions with kernel 3, block
i has dilation 2^i: its output at position p reads its input at p - 2^i, p, p + 2^i (twice: two convs), and
taps outside the window read zero padding. Walking back from the last position, block i is needed only at
the positions ``L-1 - k * 2^i`` (its input, and the output of its first convolution) and its output only at
``L-1 - k * 2^(i+1)``. On these evenly spaced positions each convolution is an ordinary convolution with
dilation 1 and zero padding at both ends: the taps of the first position before the window and of the last
position after it are exactly the ones that read padding. So each block runs on a compact, contiguous
``[P_i, N, C]`` tensor (P_i = ceil(L / 2^i)), three matrix products per convolution on shifted row ranges,
and keeps every other row. Deep blocks (2^i >= L) see one position and reduce to their centre tap.

Values equal ``encoder(window)[:, -1]`` up to float summation order (tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tscl.models.encoder import ConvBlock, SamePadConv, TSEncoder


def _row_conv(x: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
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


def _taps(conv: SamePadConv) -> torch.Tensor:
    return conv.conv.weight.detach().permute(2, 1, 0).contiguous()


def _check_structure(encoder: TSEncoder) -> list[ConvBlock]:
    blocks: list[ConvBlock] = list(encoder.feature_extractor.blocks)  # type: ignore[arg-type]
    for i, block in enumerate(blocks):
        for conv in (block.conv1, block.conv2):
            c = conv.conv
            if c.kernel_size[0] != 3 or c.dilation[0] != 2**i:
                raise ValueError("the last-position encoder needs kernel-3 blocks with dilations 1, 2, 4, ...")
    return blocks


class LastPositionEncoder:
    """Callable ``[N, L, C] -> [N, D]`` equal to ``encoder(x)[:, -1]`` in eval mode, much cheaper."""

    def __init__(self, encoder: TSEncoder, length: int) -> None:
        self.encoder = encoder
        self.length = length
        self.blocks = _check_structure(encoder)
        self.taps = [(_taps(block.conv1), _taps(block.conv2)) for block in self.blocks]

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        enc = self.encoder
        x = x[:, -self.length :].transpose(0, 1)  # time-major [L, N, C]: the first block needs every step
        missing = torch.isnan(x).any(dim=-1, keepdim=True)
        h = enc.input_fc(x.masked_fill(missing, 0.0)).masked_fill_(missing, 0.0)
        for block, (taps1, taps2) in zip(self.blocks, self.taps, strict=True):
            mid = _row_conv(F.gelu(h), taps1, block.conv1.conv.bias)
            out = _row_conv(F.gelu(mid), taps2, block.conv2.conv.bias)
            # The block's output is needed every other position, counted back from the last one.
            keep = slice((h.size(0) - 1) % 2, None, 2)
            residual = h[keep]
            if block.projector is not None:
                residual = F.linear(residual, block.projector.weight[:, :, 0], block.projector.bias)
            h = (out[keep] + residual).contiguous()
        return h[-1]
