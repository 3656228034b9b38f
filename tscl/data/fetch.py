"""Downloading catalog datasets with pooch: once, verified, atomically.

Each file is downloaded into a private temporary folder beside its destination, its sha256 is checked, and
only then is it moved into place with an atomic rename; the temporary folder is removed whatever happens, so
a failure never leaves a partial or corrupt file. ``TSCL_DATA_MIRROR=http://host:port`` makes every download
come from ``<mirror>/<file name>`` instead of the catalog URL (the checksum still applies).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pooch
import requests

from tscl.data.catalog import CatalogEntry, get_entry
from tscl.data.locate import cache_dir
from tscl.errors import DownloadError

MIRROR_ENV = "TSCL_DATA_MIRROR"
TIMEOUT_SECONDS = 60
_HINT = (
    "check the network, or set TSCL_DATA_MIRROR=http://host:port to a server holding the files, "
    "or copy the files yourself into --data-dir (see datasets/README.md)"
)


def fetch(name: str, data_dir: Path | None = None, force: bool = False) -> list[Path]:
    """Download the files of catalog dataset ``name`` into ``data_dir`` (default: the cache directory).

    Files keep the catalog layout (``ETT/ETTh1.csv``, ``UCR/GunPoint/GunPoint_TRAIN.tsv``). A file already
    present with the right checksum (or any checksum when none is known) is not downloaded again unless
    ``force``.

    Returns:
        The paths of the dataset's files.

    Raises:
        DataError: unknown name.
        DownloadError: no URL known, network/HTTP failure, or checksum mismatch.
    """
    entry = get_entry(name)
    root = Path(data_dir).expanduser() if data_dir is not None else cache_dir()
    paths = []
    for relative, url, sha256 in zip(entry.files, entry.urls, entry.sha256, strict=True):
        destination = root / relative
        if force or not _is_valid(destination, sha256):
            _download(_source_url(entry, relative, url), destination, sha256)
        paths.append(destination)
    return paths


def _is_valid(path: Path, sha256: str | None) -> bool:
    if not path.is_file():
        return False
    return sha256 is None or pooch.file_hash(str(path), alg="sha256") == sha256


def _source_url(entry: CatalogEntry, relative: str, url: str | None) -> str:
    file_name = Path(relative).name
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return f"{mirror.rstrip('/')}/{file_name}"
    if url is None:
        where = entry.homepage or "the dataset's homepage"
        raise DownloadError(
            f"{entry.name} must have a single-file download URL but none is known for {file_name}",
            f"get it from {where} and place it as <data-dir>/{relative}, "
            "or set TSCL_DATA_MIRROR=http://host:port to a server holding the files",
        )
    return url


def _download(url: str, destination: Path, sha256: str | None) -> None:
    """Download ``url`` to ``destination`` via a temporary folder; verify before the atomic rename.

    On failure nothing is left behind: neither the file nor the folders made for it.
    """
    created = [folder for folder in (destination.parent, *destination.parent.parents) if not folder.exists()]
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tscl-download-", dir=destination.parent))
    except OSError as exc:
        raise DownloadError(f"{destination.parent} must be writable but got: {exc.strerror}", _HINT) from exc
    done = False
    try:
        downloaded = _retrieve(url, staging, destination.name)
        actual = pooch.file_hash(str(downloaded), alg="sha256")
        if sha256 is not None and actual != sha256:
            raise DownloadError(
                f"sha256 of {destination.name} must be {sha256} but got {actual}",
                f"the file at {url} is not the expected one; retry, or check TSCL_DATA_MIRROR",
            )
        os.replace(downloaded, destination)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            _remove_empty(created)


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders (deepest first) that are still empty; others may have filled them meanwhile."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _retrieve(url: str, folder: Path, file_name: str) -> Path:
    """pooch.retrieve with its exceptions turned into one-line DownloadErrors."""
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT_SECONDS)
    pooch.get_logger().setLevel("WARNING")  # pooch logs every download at INFO level
    try:
        # The checksum is verified by the caller so that a mismatch names both sums in our own words.
        return Path(pooch.retrieve(url, known_hash=None, fname=file_name, path=folder, downloader=downloader))
    except requests.exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "an error"
        raise DownloadError(f"download of {url} must succeed but the server answered HTTP {status}", _HINT) from exc
    except requests.exceptions.RequestException as exc:
        reason = type(exc).__name__
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = "cannot connect (no network, or connection refused)"
        raise DownloadError(f"download of {url} must succeed but got: {reason}", _HINT) from exc
    except (OSError, ValueError) as exc:
        raise DownloadError(f"download of {url} must succeed but got: {exc}", _HINT) from exc
