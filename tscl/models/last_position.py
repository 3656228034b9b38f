"""Exact last-position inference for the TS2Vec encoder, skipping work that cannot reach that position.

The forecasting protocol represents step t by encoding the window x[t-200 .. t] and keeping only the output
at the window's last position. In a stack of dilated "same" convolutions, that output depends on few
positions of the deep layers: a block with dilation d reads positions p - d, p, p + d, and taps that fall
outside the window read zero padding. Walking the network backwards from the last position gives, for every
block, the set of positions whose values are needed; each convolution is then evaluated only there, as one
matrix product over the gathered taps. Values equal the full forward pass up to float summation order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from tscl.models.encoder import ConvBlock, SamePadConv, TSEncoder


def _tap_shifts(conv: SamePadConv) -> list[int]:
    c = conv.conv
    kernel, dilation = c.kernel_size[0], c.dilation[0]
    padding = c.padding[0]
    assert isinstance(padding, int)
    return [i * dilation - padding for i in range(kernel)]


@dataclass(frozen=True)
class _ConvPlan:
    """Gather indices (into the input's compact rows, ``len(inputs)`` = zero row) for each live tap."""

    taps: list[int]  # which kernel taps are used
    index: torch.Tensor  # [n_taps, n_out]


@dataclass(frozen=True)
class _BlockPlan:
    conv1: _ConvPlan
    conv2: _ConvPlan
    residual: torch.Tensor  # [n_out] rows of the block input


def _conv_plan(shifts: list[int], out_pos: np.ndarray, in_pos: np.ndarray, length: int) -> _ConvPlan:
    lookup = np.full(length, len(in_pos), dtype=np.int64)
    lookup[in_pos] = np.arange(len(in_pos))
    taps, rows = [], []
    for i, shift in enumerate(shifts):
        src = out_pos + shift
        valid = (src >= 0) & (src < length)
        if not valid.any():
            continue  # this tap only ever reads padding
        taps.append(i)
        rows.append(np.where(valid, lookup[np.clip(src, 0, length - 1)], len(in_pos)))
    return _ConvPlan(taps, torch.from_numpy(np.stack(rows)))


def _needed(shifts: list[int], out_pos: np.ndarray, length: int) -> np.ndarray:
    src = (out_pos[None, :] + np.asarray(shifts)[:, None]).ravel()
    return np.unique(src[(src >= 0) & (src < length)])


def build_plan(encoder: TSEncoder, length: int) -> tuple[np.ndarray, list[_BlockPlan]]:
    """Positions needed at the encoder's first block input, and per-block gather plans."""
    blocks: list[ConvBlock] = list(encoder.feature_extractor.blocks)  # type: ignore[arg-type]
    out_pos = np.array([length - 1])
    plans: list[_BlockPlan] = []
    for block in reversed(blocks):
        shifts2, shifts1 = _tap_shifts(block.conv2), _tap_shifts(block.conv1)
        mid_pos = _needed(shifts2, out_pos, length)
        in_pos = np.union1d(_needed(shifts1, mid_pos, length), out_pos)
        lookup = np.full(length, -1, dtype=np.int64)
        lookup[in_pos] = np.arange(len(in_pos))
        plans.append(
            _BlockPlan(
                conv1=_conv_plan(shifts1, mid_pos, in_pos, length),
                conv2=_conv_plan(shifts2, out_pos, mid_pos, length),
                residual=torch.from_numpy(lookup[out_pos]),
            )
        )
        out_pos = in_pos
    return out_pos, plans[::-1]


def _gathered_conv(x: torch.Tensor, conv: SamePadConv, plan: _ConvPlan) -> torch.Tensor:
    """Convolution outputs at the planned positions, time-major with a trailing zero row.

    ``x`` is [P_in + 1, N, C] whose last row is zero (the padding every out-of-window tap reads); the result
    is [P_out + 1, N, O] with a zero last row as well, so GELU (GELU(0) = 0) keeps the padding intact.
    """
    weight, bias = conv.conv.weight, conv.conv.bias
    n_out = plan.index.size(1)
    out = x.new_zeros(n_out + 1, x.size(1), weight.size(0))
    flat = out[:n_out].view(-1, weight.size(0))
    if bias is not None:
        flat.copy_(bias.expand_as(flat))
    index = plan.index.to(x.device)
    for j, tap in enumerate(plan.taps):
        columns = x.index_select(0, index[j]).view(-1, x.size(2))
        flat.addmm_(columns, weight[:, :, tap].t())
    return out


class LastPositionEncoder:
    """Callable ``[N, L, C] -> [N, D]`` equal to ``encoder(x)[:, -1]`` in eval mode, much cheaper."""

    def __init__(self, encoder: TSEncoder, length: int) -> None:
        self.encoder = encoder
        self.length = length
        self.first_positions, self.plans = build_plan(encoder, length)
        self.first_index = torch.from_numpy(self.first_positions)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        enc = self.encoder
        x = x[:, self.first_index.to(x.device)].transpose(0, 1)  # time-major [P, N, C]
        observed = ~torch.isnan(x).any(dim=-1, keepdim=True)
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        h = torch.where(observed, enc.input_fc(torch.where(observed, x, zero)), zero)
        h = torch.cat([h, h.new_zeros(1, h.size(1), h.size(2))])
        blocks: list[ConvBlock] = list(enc.feature_extractor.blocks)  # type: ignore[arg-type]
        for block, plan in zip(blocks, self.plans, strict=True):
            mid = _gathered_conv(F.gelu(h), block.conv1, plan.conv1)
            out = _gathered_conv(F.gelu(mid), block.conv2, plan.conv2)
            residual = h.index_select(0, plan.residual.to(h.device))
            if block.projector is not None:
                residual = F.linear(residual, block.projector.weight[:, :, 0], block.projector.bias)
            out[:-1] += residual
            h = out
        return h[-2]
