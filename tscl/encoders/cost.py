"""The CoST encoder's options and factory (Woo et al., ICLR 2022)."""

from __future__ import annotations

from pydantic import Field, PositiveInt

from tscl.encoders.ts2vec import MaskMode, TS2VecEncoderOptions
from tscl.models.cost import DEFAULT_GRID_LENGTH, DEFAULT_KERNELS, CoSTEncoder


class CoSTEncoderOptions(TS2VecEncoderOptions):
    repr_dims: int = Field(320, ge=2, description="Representation size D: D // 2 trend and the rest season.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on the season part in training mode.")
    kernels: tuple[PositiveInt, ...] = Field(
        DEFAULT_KERNELS, min_length=1, strict=False, description="Kernel sizes of the trend's causal convolutions."
    )
    grid_length: int = Field(DEFAULT_GRID_LENGTH, ge=2, description="Length whose rFFT bins carry season weights.")


def cost_encoder(
    input_dims: int,
    *,
    repr_dims: int = 320,
    hidden_dims: int = 64,
    depth: int = 10,
    mask_mode: MaskMode = "binomial",
    dropout: float = 0.1,
    kernels: tuple[int, ...] = DEFAULT_KERNELS,
    grid_length: int = DEFAULT_GRID_LENGTH,
) -> CoSTEncoder:
    """TS2Vec's trunk + CoST's trend and season layers (the backbone of AutoTCL's forecasting numbers)."""
    return CoSTEncoder(input_dims, repr_dims, hidden_dims, depth, mask_mode, dropout, tuple(kernels), grid_length)


cost_encoder.Options = CoSTEncoderOptions  # type: ignore[attr-defined]
