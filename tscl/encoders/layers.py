"""The TS2Vec dilated-convolution encoder.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022.
Input projection, timestamp masking (training only), residual dilated conv blocks with "same" padding, and
representation dropout. NaN-aware: a timestamp with any NaN channel is zeroed (by assignment) and masked.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tscl.errors import ConfigError
from tscl.kernels.residual_block import Padding, residual_block, zero_padding
from tscl.kernels.tap_conv import tap_conv1d

MASK_MODES = ("binomial", "continuous", "all_true", "all_false", "mask_last")


class SamePadConv(nn.Module):
    """1-D convolution whose output has the input's length (non-causal, centred receptive field)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1) -> None:
        super().__init__()
        receptive_field = (kernel_size - 1) * dilation + 1
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=receptive_field // 2, dilation=dilation)
        self.trim = 1 if receptive_field % 2 == 0 else 0
        # With an odd kernel and dilation >= length, every off-centre tap reads only zero padding: the
        # convolution is exactly a 1x1 one with the centre tap (saves 2/3 of the work in deep blocks).
        self.centre = kernel_size // 2 if kernel_size % 2 == 1 else None
        self.dilation = dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.centre is not None and self.dilation >= x.size(-1):
            weight = self.conv.weight[:, :, self.centre : self.centre + 1]
            return F.conv1d(x, weight, self.conv.bias)
        out = self.conv(x)
        return out[:, :, : -self.trim] if self.trim else out

    def forward_seq_first(self, x: torch.Tensor) -> torch.Tensor:
        """The same convolution on ``x`` [T, B, C] -> [T, B, C_out], without layout changes (odd kernels)."""
        if self.centre is None:
            return self.forward(x.permute(1, 2, 0)).permute(2, 0, 1)
        return tap_conv1d(x, self.conv.weight, self.conv.bias, self.dilation)


class ConvBlock(nn.Module):
    """GELU -> conv -> GELU -> conv, plus a residual (1x1 projection when shapes change or final)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, final: bool = False
    ) -> None:
        super().__init__()
        self.conv1 = SamePadConv(in_channels, out_channels, kernel_size, dilation)
        self.conv2 = SamePadConv(out_channels, out_channels, kernel_size, dilation)
        needs_projection = in_channels != out_channels or final
        self.projector = nn.Conv1d(in_channels, out_channels, 1) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.projector is None else self.projector(x)
        x = self.conv2(F.gelu(self.conv1(F.gelu(x))))
        return x + residual

    def forward_seq_first(self, x: torch.Tensor, padding: Padding | None = None) -> torch.Tensor:
        """:meth:`forward` on sequence-first ``x`` [T, B, C] -> [T, B, C_out] (the encoder's fast path).

        ``padding``: (first, stop, length) triples, series ``first:stop`` end after ``length`` steps. Their
        later steps are held at zero, so each series ends exactly as with the convolutions' zero padding
        (several lengths in one batch).
        """
        first, second = self.conv1.conv, self.conv2.conv
        if self.conv1.centre is not None and self.conv2.centre is not None and first.bias is not None \
                and second.bias is not None and self.conv1.dilation == self.conv2.dilation:  # fmt: skip
            projector = None if self.projector is None else (self.projector.weight, self.projector.bias)
            return residual_block(x, (first.weight, first.bias), (second.weight, second.bias), self.conv1.dilation,
                                  projector, padding)  # fmt: skip
        if self.projector is None:
            residual = x
        else:
            residual = F.linear(x, self.projector.weight[:, :, 0], self.projector.bias)
        mid = zero_padding(self.conv1.forward_seq_first(F.gelu(x)), padding)
        out = self.conv2.forward_seq_first(F.gelu(mid)).add_(residual)
        return zero_padding(out, padding)

    def reads_single_step(self, length: int) -> bool:
        """True when, on series of ``length`` steps, every output step depends only on the same input step."""
        return all(conv.centre is not None and conv.dilation >= length for conv in (self.conv1, self.conv2))


class DilatedConvEncoder(nn.Module):
    """Stack of residual blocks with dilation 2**i; channels[i] is the width of block i."""

    def __init__(self, in_channels: int, channels: list[int], kernel_size: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *[
                ConvBlock(
                    channels[i - 1] if i > 0 else in_channels,
                    channels[i],
                    kernel_size,
                    dilation=2**i,
                    final=(i == len(channels) - 1),
                )
                for i in range(len(channels))
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)

    def forward_time_major(
        self,
        x: torch.Tensor,
        spans: list[tuple[int, int]] | None = None,
        padding: Padding | None = None,
    ) -> torch.Tensor:
        """The stack on ``x`` [B, T, C] -> [B, T, channels[-1]], convolutions by `tap_conv1d`.

        The blocks run sequence-first ([T, B, C], see `tscl.kernels.tap_conv`); the result is copied back to
        [B, T, C_out]. ``spans``: one (start, stop) per row (all of equal width w): return only those steps,
        [B, w, C_out]. From the first block on which every later block reads a single step (dilation >= T),
        the rest of the stack runs on the spans only; the values are the same. ``padding``: see
        `ConvBlock.forward_seq_first`.
        """
        blocks = [block for block in self.blocks if isinstance(block, ConvBlock)]
        length = x.size(1)
        x = x.transpose(0, 1).contiguous()
        for i, block in enumerate(blocks):
            if spans is not None and all(b.reads_single_step(length) for b in blocks[i:]):
                x, spans, padding = _take_spans(x, spans), None, None
            x = block.forward_seq_first(x, padding)
        return (x if spans is None else _take_spans(x, spans)).transpose(0, 1).contiguous()


def _take_spans(x: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
    """Series of sequence-first ``x`` [T, B, C], series b cut to ``spans[b]`` (equal widths) -> [w, B, C]."""
    if all(span == spans[0] for span in spans):
        return x[spans[0][0] : spans[0][1]]
    starts = torch.tensor([start for start, _ in spans], device=x.device)
    width = spans[0][1] - spans[0][0]
    index = starts.unsqueeze(0) + torch.arange(width, device=x.device).unsqueeze(1)  # [w, B]
    return x[index, torch.arange(x.size(1), device=x.device)]


def timestamp_mask(
    mode: str, batch: int, length: int, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """Boolean keep-mask [B, T] for one of the TS2Vec masking modes (True = keep)."""
    if mode == "all_true":
        return torch.ones(batch, length, dtype=torch.bool, device=device)
    if mode == "all_false":
        return torch.zeros(batch, length, dtype=torch.bool, device=device)
    if mode == "mask_last":
        mask = torch.ones(batch, length, dtype=torch.bool, device=device)
        mask[:, -1] = False
        return mask
    if mode == "binomial":
        keep = torch.rand(batch, length, generator=generator) < 0.5
        return keep.to(device)
    if mode == "continuous":
        return _continuous_mask(batch, length, generator).to(device)
    raise ConfigError(f"mask mode must be one of {', '.join(MASK_MODES)} but got {mode!r}")


def _continuous_mask(
    batch: int, length: int, generator: torch.Generator | None, n_spans: int = 5, fraction: float = 0.1
) -> torch.Tensor:
    """Mask ``n_spans`` random spans of ``fraction * length`` steps in each series."""
    mask = torch.ones(batch, length, dtype=torch.bool)
    span = max(int(length * fraction), 1)
    n = max(min(n_spans, length // 2), 1)
    starts = torch.randint(0, max(length - span + 1, 1), (batch, n), generator=generator)
    for b in range(batch):
        for start in starts[b].tolist():
            mask[b, start : start + span] = False
    return mask


# Views are encoded as one padded batch while rows * steps stays below this: the per-operation overhead of
# small batches outweighs the padded steps' work.
_JOINT_MAX_STEPS = 4096


def _pad_time(x: torch.Tensor, length: int) -> torch.Tensor:
    """``x`` [B, T, ...] zero-padded at the end of the time axis to ``length``."""
    if x.size(1) == length:
        return x
    pad = x.new_zeros((x.size(0), length - x.size(1), *x.shape[2:]))
    return torch.cat([x, pad], dim=1)


def _padding(views: list[torch.Tensor], length: int) -> Padding | None:
    """The views stacked as one batch, padded to ``length`` steps: where each shorter view's rows end."""
    padding, first = [], 0
    for x in views:
        if x.size(1) < length:
            padding.append((first, first + x.size(0), x.size(1)))
        first += x.size(0)
    return padding or None


class ViewEncoder(nn.Module):
    """An encoder ``[B, T, C] -> [B, T, D]`` that can encode several batches of views in one call.

    Subclasses implement :meth:`forward_views`; :meth:`forward` is its one-view case.
    """

    def forward(
        self, x: torch.Tensor, mask: str | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Encode ``x`` [B, T, C] into [B, T, D]; ``mask`` overrides the mode (default: train-only)."""
        return self.forward_views([x], [(0, x.size(1))], mask=mask, generator=generator)[0]

    def forward_views(
        self,
        views: list[torch.Tensor],
        spans: list[tuple[int, int]],
        mask: str | None = None,
        generator: torch.Generator | None = None,
    ) -> list[torch.Tensor]:
        """Encode batches ``views[i]`` [B_i, T_i, C] and keep steps ``spans[i]`` of each."""
        raise NotImplementedError

    def last_position_fn(self, window: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """The cheapest exact way to get ``self(x)[:, -1]`` [N, D] for windows ``x`` [N, window, C].

        The forecasting protocol's causal encoding represents each step by its window's last output.
        Encoders with a shortcut return it; this default encodes every step.
        """
        return lambda x: self(x)[:, -1]
