"""Encoders behind one interface ``[B, T, C] -> [B, T, D]``, created by name from a registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from tscl.errors import ConfigError
from tscl.models.cost import CoSTEncoder
from tscl.models.encoder import MASK_MODES, TSEncoder

_ENCODERS: dict[str, Callable[..., nn.Module]] = {"ts2vec": TSEncoder, "cost": CoSTEncoder}


def register_encoder(name: str, factory: Callable[..., nn.Module]) -> None:
    """Make ``factory(input_dims=..., output_dims=..., ...)`` available as ``create_encoder(name, ...)``."""
    _ENCODERS[name] = factory


def list_encoders() -> list[str]:
    """Names accepted by :func:`create_encoder`."""
    return sorted(_ENCODERS)


def create_encoder(name: str, **kwargs: Any) -> nn.Module:
    """Build the encoder registered as ``name`` with keyword arguments."""
    if name not in _ENCODERS:
        raise ConfigError(
            f"encoder must be one of {', '.join(list_encoders())} but got {name!r}",
            hint="see `tscl pretrain --help`",
        )
    return _ENCODERS[name](**kwargs)


__all__ = ["CoSTEncoder", "TSEncoder", "MASK_MODES", "create_encoder", "list_encoders", "register_encoder"]
