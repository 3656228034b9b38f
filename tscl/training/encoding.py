"""Inference with a frozen encoder: instance, per-timestamp and causal sliding-window representations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

DEFAULT_BATCH = 64
DEFAULT_WINDOW_BATCH = 64  # windows per pass: small batches keep the activations in cache


def _collect(parts: Iterable[tuple[Any, torch.Tensor]], leading: tuple[int, ...]) -> np.ndarray:
    """Write each ``(index, part)`` into one array ``[*leading, *part.shape[1:]]``, made at the first part.

    Results kept as a list of small tensors between the chunks' large temporaries would split the
    allocator's free blocks, so the peak memory would grow with every chunk; copied at once, they do not.
    """
    result: torch.Tensor | None = None
    for index, part in parts:
        if result is None:
            result = torch.empty((*leading, *part.shape[1:]), dtype=part.dtype)
        result[index] = part
    return np.empty((*leading, 0), dtype=np.float32) if result is None else result.numpy()


def _tensor(part: np.ndarray) -> torch.Tensor:
    """``part`` as a tensor sharing its memory; a read-only part (``np.load(..., mmap_mode="r")``) is copied,
    since torch warns about tensors over memory it may not write."""
    return torch.from_numpy(part if part.flags.writeable else part.copy())


def _batches(
    net: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray, device: torch.device, batch_size: int | None
) -> Iterator[tuple[slice, torch.Tensor]]:
    """``(slice of series, net(x))`` for consecutive batches of the series in ``X``."""
    size = batch_size or DEFAULT_BATCH
    for start in range(0, X.shape[0], size):
        yield slice(start, start + size), net(_tensor(X[start : start + size]).to(device))


@torch.no_grad()
def encode_instances(net: nn.Module, X: np.ndarray, device: torch.device, batch_size: int | None = None) -> np.ndarray:
    """The encoder's ``encode_instance`` if it has one, else the max over time of the full-series encoding:
    [N, T, C] -> [N, D]."""
    instance = getattr(net, "encode_instance", None)
    if callable(instance):
        return _collect(_batches(instance, X, device, batch_size), X.shape[:1])
    return _collect(((rows, out.amax(dim=1)) for rows, out in _batches(net, X, device, batch_size)), X.shape[:1])


@torch.no_grad()
def encode_timestamps(net: nn.Module, X: np.ndarray, device: torch.device, batch_size: int | None = None) -> np.ndarray:
    """Non-causal per-timestamp encoding of the full series: [N, T, C] -> [N, T, D]."""
    return _collect(_batches(net, X, device, batch_size), X.shape[:1])


def _last_position_fn(net: nn.Module, window: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The cheapest exact way to get ``net(x)[:, -1]`` for windows of this length: the encoder's own
    ``last_position_fn`` (see `tscl.encoders.layers.ViewEncoder`), or the full encoding for other modules."""
    hook = getattr(net, "last_position_fn", None)
    if hook is not None:
        return hook(window)  # type: ignore[no-any-return]
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

    def parts() -> Iterator[tuple[tuple[int, slice], torch.Tensor]]:
        for i in range(n):
            series = _tensor(X[i])
            padded = torch.cat([torch.full((window - 1, channels), float("nan")), series])
            windows = padded.unfold(0, window, 1).transpose(1, 2)  # [T, window, C]
            for s in range(0, length, chunk):
                part = last(windows[s : s + chunk].to(device))
                yield (i, slice(s, s + part.size(0))), part

    return _collect(parts(), (n, length))
