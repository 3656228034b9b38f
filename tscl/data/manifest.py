"""The checksum manifest of a data root: what ``tscl data fetch`` wrote there, and the sha256 of each file.

``<root>/.tscl-manifest.json`` maps each fetched file (path relative to the root) to its sha256 — the catalog's
pinned sum when it has one, otherwise the sum measured right after the first download — plus the dataset it
belongs to and where it came from. Every later read of a listed file checks it (:func:`check_files`), and
``tscl data verify`` checks them all. Writers hold ``<root>/.tscl-manifest.lock`` (an operating-system lock,
see filelock) and replace the file atomically, so parallel fetches into one root never lose an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from tscl.errors import DataError
from tscl.fileio import share_like_open

MANIFEST_NAME = ".tscl-manifest.json"
LOCK_NAME = ".tscl-manifest.lock"
FORMAT_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    """One manifest entry.

    Attributes:
        path: file path relative to the data root (``/``-separated).
        sha256: expected checksum.
        dataset: the catalog name it belongs to.
        source: the URL(s) it was made from.
        pinned: the sum comes from the catalog (True) or was recorded at the first download (False).
    """

    path: str
    sha256: str
    dataset: str
    source: str
    pinned: bool

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "dataset": self.dataset, "source": self.source, "pinned": self.pinned}


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(root: Path) -> dict[str, FileRecord]:
    """The records of a root's manifest, keyed by relative path (empty when there is none).

    Raises:
        DataError: the manifest exists but cannot be read.
    """
    path = root / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        files = payload["files"]
        return {
            relative: FileRecord(relative, str(r["sha256"]), str(r["dataset"]), str(r["source"]), bool(r["pinned"]))
            for relative, r in files.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"{path} must be a tscl manifest (JSON) but it cannot be read: {type(exc).__name__}",
            f"delete it and fetch the datasets in {root} again with `tscl data fetch NAME --force`",
        ) from exc


def record_files(root: Path, records: Iterable[FileRecord]) -> None:
    """Add or replace records in a root's manifest (under its lock; the file is replaced atomically)."""
    with FileLock(str(root / LOCK_NAME)):
        current = read_manifest(root)
        current.update({record.path: record for record in records})
        payload = {
            "format": FORMAT_VERSION,
            "files": {relative: current[relative].to_json() for relative in sorted(current)},
        }
        handle, temporary = tempfile.mkstemp(prefix=".tscl-manifest-", dir=root)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, indent=1)
            share_like_open(temporary)  # mkstemp makes it private
            os.replace(temporary, root / MANIFEST_NAME)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def relative_key(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` as a manifest key, or None when it lies outside the root."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


@dataclass(frozen=True)
class Check:
    """The outcome of checking one recorded file: ``status`` is ``ok``, ``changed`` or ``missing``."""

    record: FileRecord
    path: Path
    status: str
    actual: str | None = None


def check_record(root: Path, record: FileRecord) -> Check:
    """Compare a recorded file with its sha256."""
    path = root / record.path
    if not path.is_file():
        return Check(record, path, "missing")
    actual = file_sha256(path)
    return Check(record, path, "ok" if actual == record.sha256 else "changed", actual)


def check_files(root: Path, paths: Iterable[Path]) -> None:
    """Verify the files a load is about to read against the root's manifest (files it does not list pass).

    Raises:
        DataError: a listed file no longer has its recorded sha256 (it is not used).
    """
    records = read_manifest(root)
    for path in paths:
        key = relative_key(path, root)
        record = records.get(key) if key is not None else None
        if record is None:
            continue
        check = check_record(root, record)
        if check.status == "changed":
            raise DataError(
                f"sha256 of {path} must be {record.sha256} (recorded when it was fetched) but got {check.actual}",
                f"the file changed since it was downloaded; run `tscl data fetch {record.dataset} --force`",
            )
