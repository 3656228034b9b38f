"""Inference with a frozen encoder: instance, per-timestamp and causal sliding-window representations."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from tscl.models.cost import CoSTEncoder
from tscl.models.encoder import TSEncoder
from tscl.models.last_position import LastPositionEncoder

DEFAULT_BATCH = 64
DEFAULT_WINDOW_BATCH = 64  # windows per pass: small batches keep the activations in cache


@torch.no_grad()
def encode_instances(net: nn.Module, X: np.ndarray, device: torch.device, batch_size: int | None = None) -> np.ndarray:
    """Max-pool over time of the full-series encoding: [N, T, C] -> [N, D]."""
    out = []
    for start in range(0, X.shape[0], batch_size or DEFAULT_BATCH):
        x = torch.from_numpy(X[start : start + (batch_size or DEFAULT_BATCH)]).to(device)
        out.append(net(x).amax(dim=1).cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def encode_timestamps(net: nn.Module, X: np.ndarray, device: torch.device, batch_size: int | None = None) -> np.ndarray:
    """Non-causal per-timestamp encoding of the full series: [N, T, C] -> [N, T, D]."""
    out = []
    for start in range(0, X.shape[0], batch_size or DEFAULT_BATCH):
        x = torch.from_numpy(X[start : start + (batch_size or DEFAULT_BATCH)]).to(device)
        out.append(net(x).cpu())
    return torch.cat(out).numpy()


def _last_position_fn(net: nn.Module, window: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The cheapest exact way to get ``net(x)[:, -1]`` for windows of this length."""
    if isinstance(net, TSEncoder):
        return LastPositionEncoder(net, window)
    if isinstance(net, CoSTEncoder):
        return net.last_position
    return lambda x: net(x)[:, -1]


@torch.no_grad()
def encode_causal(
    net: nn.Module, X: np.ndarray, window: int, device: torch.device, batch_size: int | None = None
) -> np.ndarray:
    """Step t of each series is represented by encoding x[t-window+1 .. t] alone (left NaN padding).

    This is the TS2Vec forecasting protocol (window 201): no future input reaches step t. Windows of all
    steps are batched together instead of encoded one at a time; the values are the same.
    """
    n, length, channels = X.shape
    chunk = batch_size or DEFAULT_WINDOW_BATCH
    last = _last_position_fn(net, window)
    # Each chunk's result is copied into one array made at the first chunk: small results kept alive
    # between chunks would split the allocator's free blocks and grow the peak memory with every chunk.
    result: torch.Tensor | None = None
    for i in range(n):
        series = torch.from_numpy(X[i])
        padded = torch.cat([torch.full((window - 1, channels), float("nan")), series])
        windows = padded.unfold(0, window, 1).transpose(1, 2)  # [T, window, C]
        for s in range(0, length, chunk):
            part = last(windows[s : s + chunk].to(device))
            if result is None:
                result = torch.empty((n, length, part.size(-1)), dtype=part.dtype)
            result[i, s : s + part.size(0)] = part
    return np.empty((n, length, 0), dtype=np.float32) if result is None else result.numpy()
