"""Fetching catalog datasets from their upstreams: once, checksummed, and all-or-nothing.

For one dataset, every upstream file is downloaded into a private staging folder inside the data root,
checked, unpacked and (for forecasting sets that need it) preprocessed there; the finished files are checked
against their pinned sha256 (or measured), then moved into place with renames — a dataset folder that does not
exist yet appears whole in one rename — and recorded in the root's manifest (:mod:`tscl.data.manifest`). The
staging folder is removed whatever happens, so a damaged archive or a checksum mismatch leaves nothing behind;
only the bytes of an interrupted download are kept, in ``<root>/.tscl-partial/``, for the next fetch to resume
(:mod:`tscl.data.transfer`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tscl.data.catalog import ALL_MEMBERS, CatalogEntry, expand_names, find_entry, get_entry
from tscl.data.catalog_data import ARCHIVES
from tscl.data.csv_reader import read_forecast_csv
from tscl.data.dataset import ForecastingData
from tscl.data.download import MIRROR_ENV, UnreachableError, checked_mirror, fetch_upstream, resume_hint, unpack
from tscl.data.locate import cache_dir, check_data_dir, locate, looks_like_path, resolve_roots
from tscl.data.manifest import Check, FileRecord, check_record, file_sha256, read_manifest, record_files
from tscl.data.preprocess import run_step
from tscl.data.readers import first_line
from tscl.data.staging import install, staging
from tscl.data.transfer import kept_text, parked
from tscl.errors import DataError, DownloadError, Interrupted, TsclError
from tscl.paths import as_data_dir

FILE_MODE = 0o644  # fetched files are data anyone on the machine may read


@dataclass(frozen=True)
class _Built:
    """A finished file in the staging folder, with its sum and where it came from."""

    relative: str
    path: Path
    sha256: str
    pinned: bool
    source: str


def fetch(name: str, data_dir: Path | str | None = None, force: bool = False) -> list[Path]:
    """Download catalog dataset ``name`` into ``data_dir`` (default: the cache directory) unless it is there.

    Files keep the catalog layout (``ETT/ETTh1.csv``, ``UEA/Libras/Libras_TRAIN.ts``). A dataset already
    present whose files match their pinned or recorded sha256 (or, for files put there by hand, that are
    simply present) is not downloaded again unless ``force``.

    Returns:
        The paths of the dataset's files.

    An interrupted download (network, Ctrl-C, a full disk) keeps the bytes received: the next fetch into the
    same root resumes it.

    Raises:
        DataError: unknown name, or ``data_dir`` (or a folder above it) is a file.
        DownloadError: network/HTTP failure, a damaged archive, a failed preprocessing or a checksum mismatch.
        Interrupted: Ctrl-C during a download whose bytes are kept (the hint says how to resume).
    """
    entry = get_entry(name)
    root = data_root(data_dir)
    paths = [root / relative for relative in entry.files]
    if not force and is_current(entry, root):
        return paths
    try:
        _fetch_into(entry, root)
    except KeyboardInterrupt:
        kept = [(d.file_name, found) for d in entry.downloads if (found := parked(root, d.file_name)) is not None]
        if not kept:
            raise
        name, found = kept[0]
        message = f"interrupted: the download of {name} stopped at {kept_text(*found)}"
        raise Interrupted(message, "run the same command again to resume it") from None
    return paths


def _fetch_into(entry: CatalogEntry, root: Path) -> None:
    names = [download.file_name for download in entry.downloads]
    with staging(root) as stage:
        try:
            try:
                built = _build(entry, stage, root)
            except UnreachableError as exc:
                raise DownloadError(exc.message, resume_hint(root, names, by_hand_hint(entry, root))) from exc
            # Recorded before the files move in: a process killed in between leaves files that fail their
            # check (and are fetched again), never files without a recorded sum.
            record_files(root, [FileRecord(b.relative, b.sha256, entry.name, b.source, b.pinned) for b in built])
            install(entry.files, root, stage / "out")
        except OSError as exc:  # disk full, permissions, a file in the way: the download has its own errors
            raise DownloadError(
                f"{root} must take the files of {entry.name} but writing failed: {exc.strerror or exc}"
                + _in_the_way(exc, stage),
                resume_hint(
                    root, names, "free some disk space, move away what is in the way, or pass another --data-dir"
                ),
            ) from exc


def _in_the_way(exc: OSError, stage: Path) -> str:
    """`` (at PATH)`` when the failed write names a path of the data root (not of the private staging folder)."""
    for name in (exc.filename2, exc.filename):
        if name is not None and not Path(os.fsdecode(name)).is_relative_to(stage):
            return f" (at {os.fsdecode(name)})"
    return ""


def by_hand_hint(entry: CatalogEntry, root: Path) -> str:
    """How to get ``entry`` without tscl's download: the upstream URLs and where their files go."""
    urls = " and ".join(download.url for download in entry.downloads)
    if entry.preprocess is not None:  # the files are built from the downloads: they must come through fetch
        names = ", ".join(download.file_name for download in entry.downloads)
        return (
            f"check the network or {MIRROR_ENV}; without network, download {urls} elsewhere, serve the folder "
            f"holding {names} with `python -m http.server 8000` and set {MIRROR_ENV}=http://127.0.0.1:8000"
        )
    names = ", ".join(PurePosixPath(file).name for file in entry.files)
    unzipped = " (from the zip)" if any(download.unpack for download in entry.downloads) else ""
    folder = root / PurePosixPath(entry.files[0]).parent
    return (
        f"check the network or {MIRROR_ENV}; without network, download {urls} elsewhere and put "
        f"{names}{unzipped} in {folder}"
    )


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one dataset of several: its files, or the one-line error that stopped it."""

    name: str
    paths: tuple[Path, ...] = ()
    error: TsclError | None = None


def fetch_many(
    names: list[str],
    data_dir: Path | str | None = None,
    force: bool = False,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Fetch several datasets one after the other; a failure stops only its own dataset.

    Args:
        names: catalog names, or archive selectors such as ``"UCR:all"`` (see :func:`dataset_names`).
        on_result: called after each dataset (for progress output).

    Raises:
        DataError: an unknown name or archive (checked for all before anything is downloaded), or a
            ``data_dir`` that is a file.
        ConfigError: ``TSCL_DATA_MIRROR`` is not an http(s):// URL.
    """
    canonical = [_fetchable(name).name for name in dataset_names(names)]
    checked_mirror()  # a bad mirror or data root fails once, not once per dataset
    data_root(data_dir)
    results = []
    for name in canonical:
        try:
            result = FetchResult(name, tuple(fetch(name, data_dir, force)))
        except Interrupted:
            raise  # Ctrl-C stops every dataset, not only this one
        except TsclError as exc:
            result = FetchResult(name, error=exc)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def data_root(data_dir: Path | str | None) -> Path:
    """The root fetch writes to: ``data_dir``, else the cache directory.

    Raises:
        DataError: the root, or a folder it would be created in, is a file.
    """
    data_dir = as_data_dir(data_dir)
    root = data_dir.expanduser() if data_dir is not None else cache_dir()
    blocking = next((folder for folder in (root, *root.parents) if folder.exists() and not folder.is_dir()), None)
    if blocking is not None:
        found = f"{root} is a file" if blocking == root else f"{blocking}, a folder above {root}, is a file"
        where = "--data-dir" if data_dir is not None else "--data-dir, or set TSCL_CACHE_DIR to one"
        raise DataError(f"data directory must be a folder but {found}", f"pass a folder with {where}")
    return root


def fetch_missing(
    names: list[str], data_dir: Path | str | None = None, on_result: Callable[[FetchResult], None] | None = None
) -> list[FetchResult]:
    """Fetch, into the cache, the catalog datasets among ``names`` that are found nowhere (the data roots
    searched from ``data_dir``, or aeon's bundled copies); names of files and unknown names are left alone, and
    so is everything when ``data_dir`` is given but no folder (the loads fail on it: a download would be waste)."""
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        return []
    missing = []
    for name in names:
        entry = None if looks_like_path(name) else find_entry(name)
        if entry is None:
            continue
        try:
            locate(entry.name, data_dir)
        except DataError:
            missing.append(entry.name)
    return fetch_many(missing, on_result=on_result) if missing else []


def _fetchable(name: str) -> CatalogEntry:
    """The entry of ``name``; an archive's name (``UCR``) or ``all`` alone says how to fetch whole archives."""
    entry = find_entry(name)
    archives = {archive.lower(): archive for archive in ARCHIVES}
    if entry is None and name.strip().lower() in (*archives, ALL_MEMBERS):
        archive = archives.get(name.strip().lower())
        selectors = [f"{archive}:{ALL_MEMBERS}"] if archive else [f"{a}:{ALL_MEMBERS}" for a in ARCHIVES]
        raise DataError(
            f"dataset must be a catalog name but got {name!r}; a whole archive is {' '.join(selectors)}",
            f"e.g. `tscl data fetch {selectors[0]}`; `tscl data list --archive ...` shows an archive's datasets",
        )
    return entry if entry is not None else get_entry(name)


def dataset_names(specs: list[str]) -> list[str]:
    """Names with archive selectors expanded (``"UEA:all"`` -> its 30 names), duplicates dropped in order."""
    names: list[str] = []
    for spec in specs:
        for name in expand_names(spec) or [spec]:
            if name not in names:
                names.append(name)
    return names


def verify(name: str | None = None, data_dir: Path | str | None = None) -> list[Check]:
    """Check the files ``tscl data fetch`` recorded, of one dataset or of all, against their sha256.

    Searches ``data_dir`` alone when given, else every data root (``$TSCL_DATA_DIR``, ``./datasets``, the cache).

    Raises:
        DataError: unknown name, a ``data_dir`` that is no folder, or ``name`` was never fetched into the roots
            searched.
    """
    wanted = get_entry(name).name if name is not None else None
    check_data_dir(data_dir)
    roots = [Path(data_dir).expanduser()] if data_dir is not None else resolve_roots()
    checks = [
        check_record(root, record)
        for root in roots
        if root.is_dir()
        for record in read_manifest(root).values()
        if wanted in (None, record.dataset)
    ]
    if wanted is not None and not checks:
        searched = ", ".join(str(root) for root in roots)
        raise DataError(
            f"{wanted} must have been fetched to be verified but no manifest in {searched} lists it",
            f"run `tscl data fetch {wanted}` (files copied by hand have no recorded checksum)",
        )
    return checks


def is_current(entry: CatalogEntry, root: Path) -> bool:
    """Whether every file of ``entry`` is in ``root`` and matches its pinned or recorded sha256."""
    records = read_manifest(root) if (root / entry.files[0]).is_file() else {}
    for relative, pinned in zip(entry.files, entry.sha256, strict=True):
        path = root / relative
        if not path.is_file():
            return False
        expected = pinned or (records[relative].sha256 if relative in records else None)
        if expected is not None and file_sha256(path) != expected:
            return False
    return True


def _build(entry: CatalogEntry, stage: Path, root: Path) -> list[_Built]:
    """Download, unpack and preprocess into ``stage/out`` (catalog layout); check each file's sum."""
    inputs: list[Path] = []
    urls: list[str] = []
    for index, download in enumerate(entry.downloads):
        folder = stage / f"download-{index}"
        archive, _, url = fetch_upstream(download, folder, root)
        inputs.extend(unpack(download, archive, folder / "unpacked"))
        urls.append(url)
    outputs = [stage / "out" / relative for relative in entry.files]
    for output in outputs:
        output.parent.mkdir(parents=True, exist_ok=True)
    if entry.preprocess is not None:
        _preprocess(entry, inputs, outputs[0])
    else:
        if len(inputs) != len(outputs):
            raise DownloadError(
                f"{entry.name} must come as {len(outputs)} file(s) but the download gave {len(inputs)}",
                f"check {MIRROR_ENV} or the catalog's URL",
            )
        for source, output in zip(inputs, outputs, strict=True):
            os.replace(source, output)
    for output in outputs:
        output.chmod(FILE_MODE)  # whatever the umask, or a zip's member modes, say
    return [_checked(entry, i, output, " ".join(urls)) for i, output in enumerate(outputs)]


def _preprocess(entry: CatalogEntry, inputs: list[Path], output: Path) -> None:
    assert entry.preprocess is not None
    try:
        run_step(entry.preprocess, inputs, output, entry.preprocess_options)
    except DataError:
        raise
    except Exception as exc:  # pandas raises many types on a file of another layout
        names = ", ".join(p.name for p in inputs)
        raise DownloadError(
            f"{names} must be in the upstream layout of {entry.name} but preprocessing failed: {first_line(exc)}",
            f"the download is not the upstream file; check {MIRROR_ENV} or the catalog's URL",
        ) from exc


def _checked(entry: CatalogEntry, index: int, path: Path, source: str) -> _Built:
    relative, pinned = entry.files[index], entry.sha256[index]
    actual = file_sha256(path)
    if pinned is not None and actual != pinned:
        raise DownloadError(
            f"sha256 of {path.name} must be {pinned} but got {actual}",
            f"the file from {source} is not the expected one; retry, or check {MIRROR_ENV}",
        )
    if pinned is None and entry.task == ForecastingData.task:
        _check_table(entry, path, source)
    return _Built(relative, path, actual, pinned is not None, source)


def _check_table(entry: CatalogEntry, path: Path, source: str) -> None:
    """A forecasting CSV without a pinned sum must at least read as one and hold the target column: else an
    error page served with HTTP 200 (a proxy's login page) would be installed, and recorded as the good copy."""
    try:
        columns = read_forecast_csv(path, allow_repeated_times=True).columns
    except DataError as exc:
        reason = exc.message.replace(str(path), path.name)
        raise DownloadError(
            f"{path.name} from {source} must be the {entry.name} table but it is not: {reason}",
            f"the server sent something else (an error or login page?); retry, or check {MIRROR_ENV}",
        ) from exc
    if entry.target not in columns:
        raise DownloadError(
            f"{path.name} from {source} must hold the column {entry.target!r} of {entry.name} "
            f"but its columns are {', '.join(columns[:12])}",
            f"the file is not the upstream one; check {MIRROR_ENV} or the catalog's URL",
        )
