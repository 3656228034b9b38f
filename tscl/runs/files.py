"""Reading and writing a run's JSON and CSV files; every write is atomic (see `tscl.training.checkpoint`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tscl.errors import CheckpointError
from tscl.training.checkpoint import atomic_write_bytes, atomic_write_text

__all__ = ["atomic_write_bytes", "atomic_write_text", "read_json", "read_json_or_none", "write_csv", "write_json"]


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``, or a CheckpointError saying what is wrong with the file (``what`` it is)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist", hint=f"is {path.parent} a tscl run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{what} {path} is corrupted (not valid JSON)") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{what} {path} must hold a JSON object")
    return data


def read_json_or_none(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable (listings skip such files)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> None:
    """A CSV file with ``header`` and ``rows`` (sequences, or mappings keyed by the header)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(key, "") for key in header] if isinstance(row, Mapping) else row)
    atomic_write_text(path, buffer.getvalue())
