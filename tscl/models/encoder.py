"""The TS2Vec dilated-convolution encoder.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022.
Input projection, timestamp masking (training only), residual dilated conv blocks with "same" padding, and
representation dropout. NaN-aware: a timestamp with any NaN channel is zeroed (by assignment) and masked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from tscl.errors import ConfigError
from tscl.kernels.last_position import DilatedConv, DilatedStack, LastPositionEncoder, ResidualBlock
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


# (first series, stop series, length): series first:stop of a batch end after ``length`` steps.
Padding = list[tuple[int, int, int]]


def _zero_padding(x: torch.Tensor, padding: Padding | None) -> torch.Tensor:
    """Sequence-first ``x`` [T, B, C] with the steps beyond each series' end set to zero, in place."""
    for first, stop, length in padding or ():
        x[length:, first:stop] = 0.0
    return x


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
        if self.projector is None:
            residual = x
        else:
            residual = F.linear(x, self.projector.weight[:, :, 0], self.projector.bias)
        mid = _zero_padding(self.conv1.forward_seq_first(F.gelu(x)), padding)
        out = self.conv2.forward_seq_first(F.gelu(mid)).add_(residual)
        return _zero_padding(out, padding)

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


class TSEncoder(ViewEncoder):
    """TS2Vec encoder: ``[B, T, C] -> [B, T, D]``.

    Args:
        input_dims: Input channels C.
        output_dims: Representation size D (320 in the paper).
        hidden_dims: Width of the dilated conv blocks (64).
        depth: Number of residual blocks before the final one (10).
        mask_mode: Timestamp masking used in training mode ("binomial").
    """

    def __init__(
        self,
        input_dims: int,
        output_dims: int = 320,
        hidden_dims: int = 64,
        depth: int = 10,
        mask_mode: str = "binomial",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        for name, value in (("input_dims", input_dims), ("output_dims", output_dims), ("hidden_dims", hidden_dims)):
            if value < 1:
                raise ConfigError(f"{name} must be a positive integer but got {value}")
        if depth < 0:
            raise ConfigError(f"depth must be >= 0 but got {depth}")
        if mask_mode not in MASK_MODES:
            raise ConfigError(f"mask_mode must be one of {', '.join(MASK_MODES)} but got {mask_mode!r}")
        self.input_dims = input_dims
        self.output_dims = output_dims
        self.mask_mode = mask_mode
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        self.feature_extractor = DilatedConvEncoder(hidden_dims, [hidden_dims] * depth + [output_dims], 3)
        self.repr_dropout = nn.Dropout(p=dropout)

    def forward_views(
        self,
        views: list[torch.Tensor],
        spans: list[tuple[int, int]],
        mask: str | None = None,
        generator: torch.Generator | None = None,
    ) -> list[torch.Tensor]:
        """Encode several batches ``views[i]`` [B_i, T_i, C] and keep steps ``spans[i]`` of each (equal widths).

        The same as ``[forward(v)[:, a:b] for v, (a, b) in zip(views, spans)]`` (masks are drawn in that
        order), computed with less work: steps outside the spans are not computed where nothing depends on
        them, and small views are encoded as one batch, padded to a common length with the padding held at
        zero (exactly the convolutions' own zero padding).
        """
        mode = mask if mask is not None else (self.mask_mode if self.training else "all_true")
        hidden, keeps = [], []
        for x in views:
            observed = ~torch.isnan(x).any(dim=-1)
            hidden.append(self.input_fc(x.masked_fill(~observed.unsqueeze(-1), 0.0)))
            keeps.append(timestamp_mask(mode, x.size(0), x.size(1), generator, x.device) & observed)
        length = max(x.size(1) for x in views)
        rows = sum(x.size(0) for x in views)
        if len(views) > 1 and rows * length <= _JOINT_MAX_STEPS:
            joint = torch.cat(
                [_pad_time(h.masked_fill(~k.unsqueeze(-1), 0.0), length) for h, k in zip(hidden, keeps, strict=True)]
            )
            row_spans = [span for x, span in zip(views, spans, strict=True) for _ in range(x.size(0))]
            groups = [(joint, row_spans, _padding(views, length))]
        else:
            groups = [
                (h.masked_fill(~k.unsqueeze(-1), 0.0), [span] * h.size(0), None)
                for h, k, span in zip(hidden, keeps, spans, strict=True)
            ]
        outputs = [self.feature_extractor.forward_time_major(h, row_spans, pad) for h, row_spans, pad in groups]
        out = self.repr_dropout(torch.cat(outputs) if len(outputs) > 1 else outputs[0])
        return list(out.split([x.size(0) for x in views]))

    def last_position_fn(self, window: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """`ViewEncoder.last_position_fn` in eval mode (no masking, no dropout), by `LastPositionEncoder`.

        The kernel copies the convolution weights when called here: call again after the weights change.
        """
        blocks = []
        for module in self.feature_extractor.blocks:
            block = cast(ConvBlock, module)
            convs = [DilatedConv(c.conv.weight, c.conv.bias, c.conv.dilation[0]) for c in (block.conv1, block.conv2)]
            projector = None if block.projector is None else (block.projector.weight[:, :, 0], block.projector.bias)
            blocks.append(ResidualBlock(convs[0], convs[1], projector))
        return LastPositionEncoder(DilatedStack(self.input_fc.weight, self.input_fc.bias, blocks), window)
