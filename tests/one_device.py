"""A dispatch mode that fails an operation mixing devices, to check device code paths on a CPU-only machine.

Build the module on the ``meta`` device and run the code under :class:`OneDevice`: every aten operation whose
tensor arguments (0-dim ones aside, which torch moves itself) live on more than one device fails, as it would
with a CUDA model and a CPU tensor. Meta kernels do not all make that check themselves (``index_put_`` does not).
Index arguments may stay on the CPU (CUDA accepts CPU indices), and explicit copies (``.to``, ``copy_``) are
transfers, not mixes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

aten = torch.ops.aten
_TRANSFERS = {aten._to_copy.default, aten.copy_.default, aten.to.device, aten.to.dtype_layout}
_INDEXED = {aten.index_put_.default, aten.index_put.default, aten._index_put_impl_.default, aten.index.Tensor}


class MixedDevices(AssertionError):
    """An operation took tensors from more than one device."""


class OneDevice(TorchDispatchMode):
    """Fail every operation whose non-scalar tensor arguments are on more than one device."""

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func not in _TRANSFERS:
            checked = [a for i, a in enumerate(args) if not (func in _INDEXED and i == 1)]  # the indices
            devices = {t.device for t in tree_leaves((checked, kwargs)) if isinstance(t, torch.Tensor) and t.dim()}
            if len(devices) > 1:
                raise MixedDevices(f"{func} mixes devices {sorted(map(str, devices))}")
        return func(*args, **kwargs)
