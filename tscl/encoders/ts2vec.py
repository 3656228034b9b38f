"""The TS2Vec encoder's options and factory (Yue et al., AAAI 2022)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tscl.models.encoder import TSEncoder
from tscl.registry import Options

MaskMode = Literal["binomial", "continuous", "all_true", "all_false", "mask_last"]


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
