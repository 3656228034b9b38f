"""The device a model runs on: ``auto`` resolved, explicit names checked for availability."""

from __future__ import annotations

import torch

from tscl.errors import ConfigError
from tscl.seeds import rng_devices

__all__ = ["resolve_device", "rng_devices"]

# Device types tscl's code paths are written for. torch.device accepts many more ("meta", "xpu", "hpu", ...):
# those would fail deep inside training with a traceback, after the run directory exists.
SUPPORTED_TYPES = ("cpu", "cuda", "mps")
_VALID = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; explicit names are checked for availability."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be {_VALID} but got {device!r}") from None
    if resolved.type not in SUPPORTED_TYPES:
        raise ConfigError(f"device must be {_VALID} but got {device!r}")
    if resolved.type == "cuda":
        _check_cuda(device, resolved)
    if resolved.type == "mps" and not _mps_available():
        raise ConfigError("device mps was asked for but MPS is not available", hint="use --device cpu")
    if resolved.type == "mps" and resolved.index not in (None, 0):
        raise ConfigError(f"device must be mps (a Mac has one MPS device) but got {device!r}", hint="use --device mps")
    return resolved


def _check_cuda(device: str, resolved: torch.device) -> None:
    if not torch.cuda.is_available():
        raise ConfigError(f"device {device} was asked for but CUDA is not available", hint="use --device cpu")
    count = torch.cuda.device_count()
    if resolved.index is not None and resolved.index >= count:
        raise ConfigError(
            f"device {device} must name one of this machine's CUDA devices (cuda:0 to cuda:{count - 1}) "
            f"but there is no cuda:{resolved.index}",
            hint="use --device cuda (the first GPU), or pick the GPU with CUDA_VISIBLE_DEVICES",
        )


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
