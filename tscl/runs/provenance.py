"""What an evaluation was computed from: the checkpoint, the data, the protocol, the seeds and the software.

Every evaluation stores a ``provenance`` block beside its numbers::

    "provenance": {
      "checkpoint": {"step": 200, "sha256": "..."},      # the bytes loaded (the .sha256 written beside them)
      "dataset": {"name": "GunPoint", "files": {"GunPoint_TRAIN.ts": "<sha256>", ...}},
      "task": "classification", "protocol": "classification-svm", "settings": {"head": "svm", ...},
      "seed": 0, "run_seed": 42, "tscl": "0.1.0", "run_status": "finished", "evaluated": "2024-...",
      "file": "metrics.json"                            # where it is stored, relative to the run directory
    }

Data whose files are not at hand are fingerprinted by the sha256 of their loaded arrays (``arrays_sha256``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tscl.tasks import Task
from tscl.training.checkpoint import file_sha256

_FILE_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256, for repeated evaluations


def files_sha256(paths: Sequence[Path]) -> dict[str, str] | None:
    """``{file name: sha256}`` of the data files, or None when one of them is not at hand."""
    hashes: dict[str, str] = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _FILE_HASHES:
            _FILE_HASHES[key] = file_sha256(path)
        hashes[path.name] = _FILE_HASHES[key]
    return hashes or None


def arrays_sha256(data: Any) -> str:
    """sha256 of every array a loaded dataset holds (values, labels, time stamps), in field order."""
    digest = hashlib.sha256()
    for field in dataclasses.fields(data):
        value = getattr(data, field.name)
        if isinstance(value, np.ndarray):
            digest.update(field.name.encode())
            digest.update(str((value.dtype, value.shape)).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def dataset_fingerprint(data: Any, paths: Sequence[Path]) -> dict[str, Any]:
    """The dataset's name and the sha256 of its files, or of its loaded arrays when the files are not at hand."""
    files = files_sha256(paths)
    if files is not None:
        return {"name": data.name, "files": files}
    return {"name": data.name, "arrays_sha256": arrays_sha256(data)}


def evaluation_provenance(
    checkpoint: dict[str, Any], dataset: dict[str, Any], task: Task, seed: int, run_seed: int, run_status: str
) -> dict[str, Any]:
    """The ``provenance`` block of an evaluation (see the module docstring; ``file`` is added on writing)."""
    import tscl

    return {
        "checkpoint": checkpoint, "dataset": dataset, "task": task.name, "protocol": task.protocol(),
        "settings": task.protocol_settings(), "seed": seed, "run_seed": run_seed, "tscl": tscl.__version__,
        "run_status": run_status, "evaluated": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }  # fmt: skip
