"""Random training windows cut from a batch of (possibly NaN-padded) series, from an explicit generator."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["random_windows"]


def random_windows(x: Tensor, window: int | None, count: int | None, generator: torch.Generator) -> Tensor:
    """``count`` windows of ``window`` steps drawn from the series of ``x`` [B, T, C].

    Each window picks a series uniformly, then a start uniformly among those that keep the window inside the
    series' observed span (first to last step with any value), so variable-length padding is avoided when
    the series is long enough. When ``window`` is None or ``T <= window`` the batch is returned unchanged
    (whole series).

    Args:
        x: Batch [B, T, C], NaN for missing values and padding.
        window: Window length, or None for whole series.
        count: Number of windows (None: B).
        generator: Source of every random choice.

    Returns:
        [count, window, C] (or ``x`` itself).
    """
    batch, length, _ = x.shape
    if window is None or length <= window:
        return x
    count = batch if count is None else count
    observed = ~torch.isnan(x).all(dim=-1).cpu()  # [B, T]
    first = observed.int().argmax(dim=1)
    end = length - observed.flip(1).int().argmax(dim=1)  # one past the last observed step
    series = torch.randint(0, batch, (count,), generator=generator)
    low = first[series]
    high = torch.maximum(end[series] - window, low)
    starts = low + (torch.rand(count, generator=generator) * (high - low + 1)).long().clamp_max(high - low)
    starts = starts.clamp_max(length - window)
    index = starts.unsqueeze(1) + torch.arange(window)
    return x[series.to(x.device).unsqueeze(1), index.to(x.device)]
