"""The device a model runs on: ``auto`` resolved, explicit names checked for availability."""

from __future__ import annotations

import torch

from tscl.errors import ConfigError

__all__ = ["resolve_device"]


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; explicit names are checked for availability."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps but got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for but CUDA is not available", hint="use --device cpu")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device mps was asked for but MPS is not available", hint="use --device cpu")
    return resolved
