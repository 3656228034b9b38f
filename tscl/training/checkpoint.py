"""Atomic checkpoint files with a format version and a recorded sha256, and clear errors for damaged ones.

Every checkpoint ``X.pt`` is written atomically with its sha256 in ``X.pt.sha256`` beside it; every load
verifies it (and, for checkpoints of older versions without the file, the CRCs of the zip archive torch writes),
so a file damaged on disk is refused instead of silently loading wrong weights. While a checkpoint is replaced
its new sha256 waits in ``X.pt.sha256.pending``, so a writer killed at any moment leaves a checkpoint that
verifies. With ``keep_previous`` the checkpoint being replaced is kept as ``X.previous.pt`` (with its hash),
the remedy when the last one is damaged.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from tscl.errors import CheckpointError, TsclError
from tscl.fileio import share_like_open
from tscl.text import shell

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
        share_like_open(fd)  # mkstemp's file is private; results are readable as a plain open() makes them
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


def digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def previous_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.previous{path.suffix}")


def pending_path(path: Path) -> Path:
    """Where the sha256 of a checkpoint being written is recorded until its ``.sha256`` is replaced."""
    return path.with_name(path.name + ".sha256.pending")


def save_checkpoint(path: Path, state: dict[str, Any], keep_previous: bool = False) -> None:
    """Save ``state`` (tensors, numbers, strings) atomically with the format version and its sha256.

    With ``keep_previous``, the checkpoint at ``path`` (if any) becomes ``previous_path(path)`` first; ``path``
    exists at every moment, so a process killed midway never leaves a run without a checkpoint. The new sha256
    is recorded as pending before the checkpoint is replaced and becomes its ``.sha256`` after, so a process
    killed between the two leaves a checkpoint that verifies, whichever of the two it is.
    """
    import hashlib
    import io

    if path.is_dir():  # refused before anything is written beside it
        raise CheckpointError(f"checkpoint {path} must be a file but is a directory", hint=_file_hint(path))
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **on_cpu(state)}, buffer)
    data = buffer.getvalue()
    if keep_previous and path.is_file():
        previous = previous_path(path)
        link = previous.with_name(f".{previous.name}.link")
        link.unlink(missing_ok=True)

        def keep() -> None:
            try:
                os.link(path, link)
                os.replace(link, previous)
            except OSError:  # a file system without hard links: copy instead
                atomic_write_bytes(previous, path.read_bytes())

        candidates = current_sha256s(path)  # two after a writer was killed midway: the file says which
        if not candidates:
            keep()
            digest_path(previous).unlink(missing_ok=True)
        else:
            recorded = candidates.pop() if len(candidates) == 1 else file_sha256(path)
            _replace_recorded(previous, keep, recorded)
    _replace_recorded(path, lambda: atomic_write_bytes(path, data), hashlib.sha256(data).hexdigest())


def on_cpu(value: Any) -> Any:
    """``value`` (nested dicts, lists, tuples) with every tensor on the CPU, so that a checkpoint is device-neutral.

    ``torch.save`` records each tensor's device: a CUDA run's state dicts (weights, AdamW's ``exp_avg`` and
    ``exp_avg_sq``) saved as they are would name the GPU, and plain ``torch.load`` on a CPU-only machine refuses
    them without ``map_location``. Moved here, every file opens anywhere; tscl loads with ``map_location="cpu"``
    and ``load_state_dict`` copies the weights to the model's device (optimizers move their state to their
    parameters' device). CPU tensors are not copied (``.cpu()`` returns them): a CPU run's bytes are unchanged.
    A CUDA run holds the CPU copy of its state while writing; ``torch.save`` copied each tensor to the host anyway.
    Dicts are copied with their attributes (a module's state dict keeps its ``_metadata``, the layout versions).
    """
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        moved = copy.copy(value)
        for key, item in value.items():
            moved[key] = on_cpu(item)
        return moved
    if isinstance(value, list) or type(value) is tuple:
        return type(value)(on_cpu(item) for item in value)
    return value


def _replace_recorded(path: Path, replace: Any, digest: str) -> None:
    """``replace()`` the file at ``path`` with one whose sha256 is ``digest``, recording it crash-safely."""
    atomic_write_text(pending_path(path), digest + "\n")
    replace()
    atomic_write_text(digest_path(path), digest + "\n")
    pending_path(path).unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_sha256(path: Path) -> str | None:
    """The sha256 recorded beside checkpoint ``path`` when it was written (None: an older version's file)."""
    return _read_digest(digest_path(path))


def current_sha256s(path: Path) -> set[str]:
    """The sha256 values checkpoint ``path`` may have now: the recorded one, and the pending one while a new
    checkpoint is being written (or when its writer was killed midway). Empty for older versions' files."""
    return {d for d in (_read_digest(digest_path(path)), _read_digest(pending_path(path))) if d is not None}


def _read_digest(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _file_hint(folder: Path) -> str:
    inside = folder / "checkpoints" / "last.pt"
    if inside.is_file():
        return f"pass the run's checkpoint {inside}"
    return f"pass a file path in it, e.g. {folder / 'model.pt'}"


def _remedy(path: Path) -> str:
    previous = previous_path(path)
    if previous.is_file():
        digests = f"{shell(digest_path(previous))} {shell(digest_path(path))}"
        return f"resume from the previous checkpoint: cp {shell(previous)} {shell(path)} && cp {digests}"
    return "no earlier checkpoint is kept: start a new run"


def _check_zip(data: bytes, path: Path) -> None:
    """The CRCs of the zip archive torch writes (checkpoints of older versions, which record no sha256)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return  # not a zip archive at all: torch.load says what it is
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {path} is damaged: the CRC of its part {bad} does not match", hint=_remedy(path)
        )


def _verified_bytes(path: Path) -> tuple[bytes, str]:
    """The bytes of ``path`` and their sha256, checked against the recorded sha256 (or the zip CRCs).

    The file is read once and the bytes read are the bytes checked and loaded. Either recorded sha256 is
    accepted (see :func:`current_sha256s`); a reader racing a writer that is replacing the files (a run still
    training) may still see a mismatch that is not damage, so the check is tried again a few times before the
    file is called damaged.
    """
    import hashlib

    data = b""
    for attempt in range(_ATTEMPTS):
        recorded = current_sha256s(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"checkpoint {path} must be readable but got: {exc.strerror or exc}") from None
        digest = hashlib.sha256(data).hexdigest()
        if not recorded:
            try:
                _check_zip(data, path)
            except CheckpointError:
                _parse(data, path)  # a file that cannot be read at all gets the more specific error
                raise
            return data, digest
        if digest in recorded | current_sha256s(path):
            return data, digest
        time.sleep(0.05 * (attempt + 1))
    _parse(data, path)  # a file that cannot be read at all gets the more specific error
    raise CheckpointError(
        f"checkpoint {path} is damaged: its sha256 differs from the one recorded when it was written",
        hint=_remedy(path),
    )


_ATTEMPTS = 3


def verify_checkpoint(path: Path) -> None:
    """Raise CheckpointError unless ``path`` has the sha256 recorded when it was written.

    Checkpoints of older tscl versions have no recorded hash: their zip archive's CRCs are checked instead.
    """
    _verified_bytes(path)


def read_checkpoint(path: Path) -> tuple[dict[str, Any], str]:
    """A checkpoint written by :func:`save_checkpoint` and the sha256 of the bytes loaded.

    Raises:
        CheckpointError: The file is missing, damaged (sha256 or CRC), truncated, foreign or of another format
            version.
    """
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} must be a file but is a directory", hint=_file_hint(path))
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist", hint="pass a run directory made by tscl pretrain")
    data, digest = _verified_bytes(path)
    return _parse(data, path), digest


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, or raise CheckpointError saying why not."""
    return read_checkpoint(path)[0]


def _parse(data: bytes, path: Path) -> dict[str, Any]:
    import io

    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
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
