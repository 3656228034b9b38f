"""Atomic checkpoint files with a format version, and clear errors for corrupted or foreign ones."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from tscl.errors import CheckpointError, TsclError

FORMAT_VERSION = 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    The bytes go to a temporary file in the same folder, are flushed to disk, then renamed over ``path``; a
    process killed midway leaves at most a stray ``.<name>.*.tmp`` file, never a partial ``path``.

    Raises:
        TsclError: the folder cannot be created or written (not a folder, no permission, disk full).
    """
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise TsclError(
            f"{path} must be writable but got: {exc.strerror or exc}",
            hint="check that its folder is a folder you may write to, with free space",
        ) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Save ``state`` (tensors, numbers, strings) atomically with the format version."""
    import io

    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, or raise CheckpointError saying why not."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist", hint="pass a run directory made by tscl pretrain")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/corrupted archives
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupted ({type(exc).__name__})",
            hint="delete it to resume from scratch, or use another run directory",
        ) from None
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path} is not a tscl checkpoint", hint="pass a run directory made by tscl pretrain")
    if state["format_version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} must have format version {FORMAT_VERSION} (what this tscl reads) "
            f"but got {state['format_version']!r}",
            hint="use the tscl version that wrote it",
        )
    return state
