"""TS2Vec training-data preparation and random-crop views, with every draw from an explicit generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tscl.errors import DataError


def split_into_sections(X: np.ndarray, sections: int) -> np.ndarray:
    """Cut each series into ``sections`` consecutive pieces stacked as instances (NaN-padded to equal length)."""
    pieces = np.array_split(X, sections, axis=1)
    length = pieces[0].shape[1]
    padded = [np.pad(p, ((0, 0), (0, length - p.shape[1]), (0, 0)), constant_values=np.nan) for p in pieces]
    return np.concatenate(padded, axis=0)


def centre_variable_length(X: np.ndarray) -> np.ndarray:
    """Shift each series so its observed span sits in the middle of the array (NaN around it)."""
    observed = ~np.isnan(X).all(axis=-1)
    out = np.full_like(X, np.nan)
    length = X.shape[1]
    for i in range(X.shape[0]):
        idx = np.flatnonzero(observed[i])
        if idx.size == 0:
            continue
        first, last = idx[0], idx[-1] + 1
        span = last - first
        start = (length - span) // 2
        out[i, start : start + span] = X[i, first:last]
    return out


def prepare_training_array(X: np.ndarray, max_train_length: int | None) -> np.ndarray:
    """Apply the TS2Vec preparation: long-series sectioning, centring, dropping empty series."""
    if X.ndim != 3:
        raise DataError(f"training data must be [N, T, C] but got shape {X.shape}")
    X = X.astype(np.float32, copy=False)
    if max_train_length is not None:
        sections = X.shape[1] // max_train_length
        if sections >= 2:
            X = split_into_sections(X, sections)
    missing_steps = np.isnan(X).all(axis=-1).any(axis=0)
    if missing_steps[0] or missing_steps[-1]:
        X = centre_variable_length(X)
    X = X[~np.isnan(X).all(axis=2).all(axis=1)]
    if X.shape[0] == 0:
        raise DataError("training data must contain observed values but every series is all-NaN")
    return X


def _randint(low: int, high: int, generator: torch.Generator, size: int | None = None) -> torch.Tensor:
    """Integers uniform in [low, high) (``high`` exclusive, like numpy's randint)."""
    shape = (size,) if size is not None else (1,)
    return torch.randint(low, high, shape, generator=generator)


@dataclass(frozen=True)
class CropPlan:
    """One draw of the TS2Vec cropping: where the two overlapping views start and end."""

    crop_length: int
    left: int
    right: int
    ext_left: int
    ext_right: int
    offsets: torch.Tensor  # [B] per-sample shift


def draw_crop(
    batch: int, length: int, temporal_unit: int, generator: torch.Generator, rank: int = 0, world_size: int = 1
) -> CropPlan:
    """Sample crop length, crop window, extended window and per-sample offsets (spec: Training).

    In a data-parallel run (``world_size`` ranks drawing from equal generators, ``batch`` rows each), the
    offsets are drawn for the global batch and this rank keeps its rows: the plan one process with the
    global batch would draw.
    """
    low = min(2 ** (temporal_unit + 1), length)
    crop_length = int(_randint(low, length + 1, generator))
    left = int(_randint(0, length - crop_length + 1, generator))
    right = left + crop_length
    ext_left = int(_randint(0, left + 1, generator))
    ext_right = int(_randint(right, length + 1, generator))
    offsets = _randint(-ext_left, length - ext_right + 1, generator, size=batch * world_size)
    offsets = offsets[rank * batch : (rank + 1) * batch]
    return CropPlan(crop_length, left, right, ext_left, ext_right, offsets)


def take_per_row(x: torch.Tensor, starts: torch.Tensor, width: int) -> torch.Tensor:
    """Rows of ``x`` [B, T, C], each from its own start index, ``width`` steps long."""
    index = starts.to(x.device).unsqueeze(1) + torch.arange(width, device=x.device)
    return x[torch.arange(x.size(0), device=x.device).unsqueeze(1), index]


def crop_views(
    x: torch.Tensor, plan: CropPlan, second: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two overlapping views of ``x``: [o+eleft, o+right) and [o+left, o+eright).

    With ``second`` (time-aligned with ``x``, e.g. a learned augmentation of it), the second view is cut
    from ``second`` instead.
    """
    view1 = take_per_row(x, plan.offsets + plan.ext_left, plan.right - plan.ext_left)
    view2 = take_per_row(x if second is None else second, plan.offsets + plan.left, plan.ext_right - plan.left)
    return view1, view2


def encode_overlap(
    encoder: nn.Module, view1: torch.Tensor, view2: torch.Tensor, crop_length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode the two crop views and return their outputs on the shared ``crop_length`` steps.

    The overlap is the last ``crop_length`` steps of ``view1`` and the first of ``view2``. Encoders with
    ``forward_views`` (TSEncoder) encode both at once and skip work outside the overlap: same values.
    """
    forward_views = getattr(encoder, "forward_views", None)
    if forward_views is not None:
        spans = [(view1.size(1) - crop_length, view1.size(1)), (0, crop_length)]
        out1, out2 = forward_views([view1, view2], spans, generator=generator)
        return out1, out2
    out1 = encoder(view1, generator=generator)[:, -crop_length:]
    out2 = encoder(view2, generator=generator)[:, :crop_length]
    return out1, out2
