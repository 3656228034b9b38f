"""Flat memory over long CPU trainings: no shape-specialised kernels kept per crop length, a trimmed C heap
that keeps what the next step will use.

What made a long ``tscl pretrain`` grow (measured with ``benchmarks/bench_memory.py``; the tensors alive stay the
same from step to step, ``tests/training/test_memory_bounded.py`` guards that): TS2Vec-style objectives train on
crops of a random length at every step. On CPU, PyTorch runs GELU (and convolutions) through oneDNN, which
compiles a kernel for each new tensor shape and keeps up to 1,024 of them in its primitive cache. Those small
long-lived allocations land between the large, short-lived activation buffers in glibc's heap, so the freed
buffers cannot be coalesced or returned, and the heap grew by ~20-30 MB per step (ETTm1 univariate: 2.0 GB at
iteration 25, 6.0 GB at 300, with 13 MB of tensors alive).

Two measures, on CPU devices only (GPU memory has its own caching allocator; ``PYTORCH_CUDA_ALLOC_CONF=
expandable_segments:True`` is its fragmentation remedy):

1. Training steps run with oneDNN off: PyTorch's own vectorised kernels serve every shape without compiling or
   caching anything per shape (faster too on varying lengths: no compile at each new length).
2. After a step, when the heap holds more than ``TRIM_BUDGET`` bytes of free memory, ``malloc_trim`` hands the
   free pages back to the system (glibc only; elsewhere nothing is done).
3. Below that budget, freed memory stays in the process (glibc only): ``M_TRIM_THRESHOLD`` is set to the budget
   and ``M_MMAP_THRESHOLD`` to 32 MB, the largest value glibc's own adaptive threshold reaches. By default glibc
   hands large freed blocks back to the system at once (and any free top of the heap beyond its adaptive trim
   threshold), so every step faulted its buffers in again, page by page: ~2 000 page faults per GunPoint
   iteration, about 6 % of its time (measured old against new) in this machine's kernel and in the caches
   the zeroed pages evicted. Set once per process, when the first CPU training starts; blocks above 32 MB are
   still mapped and unmapped by the system, as before.

``TSCL_BOUNDED_HEAP=0`` turns all three off (for measuring them; the third only if no CPU training ran before in the
process).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["BoundedHeap", "TRIM_BUDGET"]

ENV = "TSCL_BOUNDED_HEAP"
TRIM_BUDGET = 512 << 20  # free heap bytes kept before trimming
MMAP_THRESHOLD = 32 << 20  # blocks from this size up are mapped by the system (glibc's DEFAULT_MMAP_THRESHOLD_MAX)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_kept: list[int] = []  # the trim threshold set in this process, once


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )  # fmt: skip
    ]


def _glibc() -> Any | None:
    """This process's C library when it is glibc with ``malloc_trim`` (Linux), else None."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - platforms without a process handle
        return None
    if not hasattr(libc, "malloc_trim"):
        return None
    if hasattr(libc, "mallinfo2"):  # glibc >= 2.33; older ones trim after every step
        libc.mallinfo2.restype = _MallInfo2
    return libc


class BoundedHeap:
    """The measures above for a training on ``device``; ``step()`` wraps each training step."""

    def __init__(self, device: torch.device, budget: int = TRIM_BUDGET) -> None:
        self.active = device.type == "cpu" and os.environ.get(ENV, "1") != "0"
        self.libc = _glibc() if self.active else None
        self.budget = budget
        self.trims = 0
        if self.libc is not None and not _kept and hasattr(self.libc, "mallopt"):
            self.libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            self.libc.mallopt(_M_TRIM_THRESHOLD, budget)
            _kept.append(budget)

    def free_bytes(self) -> int | None:
        """Free bytes glibc keeps in its heaps (None where that cannot be read)."""
        if self.libc is None or not hasattr(self.libc, "mallinfo2"):
            return None
        return int(self.libc.mallinfo2().fordblks)

    @contextmanager
    def step(self) -> Iterator[None]:
        if not self.active:
            yield
            return
        enabled = torch._C._get_mkldnn_enabled()  # only this flag: the public context also resets (and warns on) TF32
        torch._C._set_mkldnn_enabled(False)
        try:
            yield
        finally:
            torch._C._set_mkldnn_enabled(enabled)
        if self.libc is not None:
            free = self.free_bytes()
            if free is None or free > self.budget:
                self.libc.malloc_trim(0)
                self.trims += 1
