"""Encoders ``[B, T, C] -> [B, T, D]``, created by name from one registry.

Contract of an encoder (built-in or plug-in, entry-point group ``tscl.encoders``):
``factory(input_dims, **options)`` returns a ``torch.nn.Module`` whose ``forward(x, mask=None,
generator=None)`` maps ``[B, T, C]`` (NaN for missing values) to ``[B, T, D]`` (D: its ``output_dims``
attribute where it has one, else ``repr_dims``), drawing any random choice (timestamp masks) from
``generator``. Encoders with ``forward_views`` encode several views in one call;
encoders with ``encode_instance(x) -> [B, D]`` give their own instance representation (else the maximum over
time of ``forward``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tscl.registry import Registry

if TYPE_CHECKING:
    from torch import nn

__all__ = ["DEFAULT_ENCODER", "ENCODERS", "create_encoder", "list_encoders", "register_encoder"]

DEFAULT_ENCODER = "ts2vec"  # for objectives that state no default_encoder

ENCODERS: Registry[nn.Module] = Registry(
    "encoder",
    "tscl.encoders",
    {
        "ts2vec": "tscl.encoders.ts2vec:ts2vec_encoder",
        "cost": "tscl.encoders.cost:cost_encoder",
        "transformer": "tscl.encoders.transformer:TransformerEncoder",
        "patch_transformer": "tscl.encoders.patch_transformer:PatchTransformer",
    },
    runtime=("input_dims",),
)


def register_encoder(name: str, factory: Any, options: Any = None, *, replace: bool = False) -> None:
    """Make ``factory(input_dims, **options) -> nn.Module`` available as encoder ``name``."""
    ENCODERS.register(name, factory, options, replace=replace)


def list_encoders() -> list[str]:
    """Names accepted by :func:`create_encoder`."""
    return ENCODERS.names()


def create_encoder(name: str, input_dims: int, **options: Any) -> nn.Module:
    """The encoder ``name`` for ``input_dims`` channels, built with validated ``options``."""
    return ENCODERS.create(name, input_dims, **options)
