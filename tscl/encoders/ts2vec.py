"""The TS2Vec dilated-convolution encoder.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022.
Input projection, timestamp masking (training only), residual dilated conv blocks with "same" padding, and
representation dropout. NaN-aware: a timestamp with any NaN channel is zeroed (by assignment) and masked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast

import torch
from pydantic import Field
from torch import nn

from tscl.encoders.layers import (
    _JOINT_MAX_STEPS,
    ConvBlock,
    DilatedConvEncoder,
    ViewEncoder,
    _pad_time,
    _padding,
    timestamp_mask,
)
from tscl.errors import ConfigError
from tscl.kernels.dropout import dropout as mask_dropout
from tscl.kernels.last_position import DilatedConv, DilatedStack, LastPositionEncoder, ResidualBlock
from tscl.registry import Options, check_options

MaskMode = Literal["binomial", "continuous", "all_true", "all_false", "mask_last"]


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
        if input_dims < 1:
            raise ConfigError(f"input_dims must be a positive integer but got {input_dims}")
        values = {"repr_dims": output_dims, "hidden_dims": hidden_dims, "depth": depth, "mask_mode": mask_mode,
                  "dropout": dropout}  # fmt: skip
        check_options(TS2VecEncoderOptions, values, "encoder", "ts2vec")
        self.input_dims = input_dims
        self.output_dims = output_dims
        self.mask_mode = mask_mode
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        self.feature_extractor = DilatedConvEncoder(hidden_dims, [hidden_dims] * depth + [output_dims], 3)
        self.repr_dropout = nn.Dropout(p=dropout)
        # Random stream of the dropout mask: "numpy" (`tscl.kernels.dropout`, half the cost on CPUs) or "torch"
        # (nn.Dropout's bernoulli_, what runs saved before it keep, so that they resume exactly).
        self.dropout_stream = "numpy"

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
        out = torch.cat(outputs) if len(outputs) > 1 else outputs[0]
        out = self.representation_dropout(out)
        return list(out.split([x.size(0) for x in views]))

    def representation_dropout(self, out: torch.Tensor) -> torch.Tensor:
        """The dropout on the representation (training mode), its mask drawn from ``dropout_stream``."""
        if self.dropout_stream == "torch":
            return self.repr_dropout(out)  # type: ignore[no-any-return]
        return mask_dropout(out, self.repr_dropout.p, self.training)  # nn.Dropout's effect, a cheaper mask

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


class TS2VecEncoderOptions(Options):
    repr_dims: int = Field(320, ge=1, description="Representation size D.")
    hidden_dims: int = Field(64, ge=1, description="Width of the dilated convolution blocks.")
    depth: int = Field(10, ge=0, description="Residual blocks before the final one (dilations 1, 2, 4, ...).")
    mask_mode: MaskMode = Field("binomial", description="Timestamp masking in training mode.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on the representation in training mode.")


def ts2vec_encoder(
    input_dims: int,
    *,
    repr_dims: int = 320,
    hidden_dims: int = 64,
    depth: int = 10,
    mask_mode: MaskMode = "binomial",
    dropout: float = 0.1,
) -> TSEncoder:
    """Dilated convolutions with timestamp masking (TS2Vec, Yue et al., AAAI 2022)."""
    return TSEncoder(input_dims, repr_dims, hidden_dims, depth, mask_mode, dropout=dropout)


ts2vec_encoder.Options = TS2VecEncoderOptions  # type: ignore[attr-defined]
