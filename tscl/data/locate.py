"""Finding a dataset's files: data roots in search order, layouts inside a root, aeon's bundled copies.

Search order: the ``data_dir`` argument, ``$TSCL_DATA_DIR``, ``./datasets`` (current directory), then the user
cache (``platformdirs.user_cache_dir("tscl")/datasets``, or ``$TSCL_CACHE_DIR/datasets``). When GunPoint,
BasicMotions, JapaneseVowels, ItalyPowerDemand or ArrowHead are in none of them, the copy the aeon package
ships is used, so the offline default works without any download.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from tscl.data.catalog import CatalogEntry, find_entry, list_entries, unknown_name_error
from tscl.data.catalog_data import AEON_BUNDLED
from tscl.data.dataset import ClassificationData, ForecastingData
from tscl.data.grouped_readers import is_grouped_csv
from tscl.errors import DataError
from tscl.paths import as_data_dir

OFFLINE_DEFAULT = "GunPoint"
BUNDLED_SOURCE = "aeon (bundled)"
SERIES_SUFFIXES = (".tsv", ".ts", ".arff")
_FORECAST_DIRS = ("", "ETT", "forecasting")


@dataclass(frozen=True)
class Located:
    """Where a dataset's files are.

    Attributes:
        name: dataset name (catalog spelling when known, else the file stem).
        task: the kind of dataset: ``ForecastingData.task`` or ``ClassificationData.task``.
        paths: ``(csv,)``, ``(train, test)`` or ``(array_file,)``.
        collection: ``"UCR"``, ``"UEA"``, ``"ETT"``, ``"forecasting"`` or None when unknown.
        source: human-readable origin (file paths or ``"aeon (bundled)"``).
        root: the data root the files were found in (None for a file path or aeon's copies); its checksum
            manifest, if any, is checked before the files are read.
    """

    name: str
    task: str
    paths: tuple[Path, ...]
    collection: str | None
    source: str
    root: Path | None = None


def cache_dir() -> Path:
    """Directory ``tscl data fetch`` writes to by default: ``$TSCL_CACHE_DIR/datasets`` or the user cache."""
    base = os.environ.get("TSCL_CACHE_DIR") or platformdirs.user_cache_dir("tscl")
    return Path(base).expanduser() / "datasets"


def resolve_roots(data_dir: str | Path | None = None) -> list[Path]:
    """Data roots in search order, without duplicates (they need not exist)."""
    candidates = [as_data_dir(data_dir), os.environ.get("TSCL_DATA_DIR") or None, Path.cwd() / "datasets", cache_dir()]
    roots: list[Path] = []
    for candidate in candidates:
        if candidate is None:
            continue
        root = Path(candidate).expanduser().resolve()
        if root not in roots:
            roots.append(root)
    return roots


def check_data_dir(data_dir: str | Path | None) -> None:
    """Refuse a ``data_dir`` given but absent (a typo would otherwise look like a folder without data).

    Raises:
        DataError: ``data_dir`` is empty or not an existing folder.
    """
    data_dir = as_data_dir(data_dir)
    if data_dir is not None and Path(data_dir).expanduser().exists() and not Path(data_dir).expanduser().is_dir():
        raise DataError(
            f"data directory must be a folder but {data_dir} is a file",
            "pass the folder that holds the data; to load one file, pass its path as the dataset",
        )
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise DataError(
            f"data directory must exist but got {data_dir}",
            "create it, or fetch into it: `tscl data fetch NAME --data-dir DIR`",
        )


def bundled_dir(name: str) -> Path | None:
    """aeon's folder for a bundled dataset, or None (no import of aeon needed)."""
    if name not in AEON_BUNDLED:
        return None
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
    return folder if (folder / f"{name}_TRAIN.ts").is_file() else None


def locate(name: str, data_dir: str | Path | None = None) -> Located:
    """Find a dataset by name in the data roots, then among aeon's bundled copies.

    Raises:
        DataError: the data_dir does not exist, the name is unknown, or a known dataset is not on disk.
    """
    check_data_dir(data_dir)
    roots = [root for root in resolve_roots(data_dir) if root.is_dir()]
    entry = find_entry(name)
    canonical = entry.name if entry else name
    for root in roots:
        found = find_in_root(canonical, root, entry)
        if found is not None:
            return found
    bundled = bundled_dir(canonical)
    if bundled is not None:
        paths = (bundled / f"{canonical}_TRAIN.ts", bundled / f"{canonical}_TEST.ts")
        collection = entry.collection if entry else None
        return Located(canonical, ClassificationData.task, paths, collection, BUNDLED_SOURCE)
    if entry is None:
        raise unknown_name_error(name, local_names(roots))
    searched = ", ".join(str(root) for root in resolve_roots(data_dir))
    raise DataError(
        f"files of {entry.name} ({', '.join(entry.files)}) must be in a data directory "
        f"but were not found in {searched}",
        f"run `tscl data fetch {entry.name}` or pass --data-dir (search order: --data-dir, TSCL_DATA_DIR, "
        "./datasets, the cache); see datasets/README.md",
    )


def find_in_root(name: str, root: Path, entry: CatalogEntry | None = None) -> Located | None:
    """Look for ``name`` in one root in every supported layout (of the entry's kind, when known); None when absent."""
    kinds = (entry.task,) if entry is not None else tuple(_FINDERS)
    for kind in kinds:
        found = _FINDERS[kind](name, root, entry)
        if found is not None:
            return replace(found, root=root)
    return None


def _find_forecasting(name: str, root: Path, entry: CatalogEntry | None) -> Located | None:
    csv = _find_csv(name, root, entry)
    if csv is None:
        return None
    return Located(name, ForecastingData.task, (csv,), entry.collection if entry else None, str(csv))


def _find_csv(name: str, root: Path, entry: CatalogEntry | None) -> Path | None:
    file_names = [Path(f).name for f in entry.files] if entry else [f"{name}.csv"]
    for folder in (*_FORECAST_DIRS, name):
        for file_name in file_names:
            path = root / folder / file_name
            if path.is_file():
                return path
    return None


def _series_dirs(name: str, root: Path) -> list[tuple[Path, str | None]]:
    """Candidate folders for a classification dataset, with the collection each implies."""
    dirs: list[tuple[Path, str | None]] = []
    for collection in ("UCR", "UEA"):
        base = root / collection
        dirs.append((base / name, collection))
        if base.is_dir() and not (base / name).is_dir():  # tolerate a different case: ucr/gunpoint -> GunPoint
            dirs.extend((d, collection) for d in base.iterdir() if d.is_dir() and d.name.lower() == name.lower())
    dirs.append((root / name, None))
    dirs.append((root, None))
    return dirs


def _find_series_pair(name: str, root: Path, entry: CatalogEntry | None) -> Located | None:
    suffixes = list(SERIES_SUFFIXES)
    if entry is not None:
        suffixes.sort(key=lambda s: s != f".{entry.format}")
    for folder, collection in _series_dirs(name, root):
        stem = folder.name if folder != root and folder.name.lower() == name.lower() else name
        for suffix in suffixes:
            train = folder / f"{stem}_TRAIN{suffix}"
            if not train.is_file():
                continue
            test = folder / f"{stem}_TEST{suffix}"
            if not test.is_file():
                raise DataError(
                    f"{train} must have its test partner {test.name} beside it but it is missing",
                    "put both the _TRAIN and the _TEST file in the same folder",
                )
            kind = (entry.collection if entry else None) or collection
            located_name = entry.name if entry else stem
            return Located(located_name, ClassificationData.task, (train, test), kind, f"{train}, {test}")
    return None


# Dataset kind -> how its files are found in one root (forecasting first: a name matching both is a CSV).
_FINDERS: dict[str, Callable[[str, Path, CatalogEntry | None], Located | None]] = {
    ForecastingData.task: _find_forecasting,
    ClassificationData.task: _find_series_pair,
}


def local_names(roots: list[Path]) -> list[str]:
    """Dataset names present under ``UCR/`` and ``UEA/`` of the given roots (for suggestions)."""
    names: list[str] = []
    for root in roots:
        for collection in ("UCR", "UEA"):
            base = root / collection
            if base.is_dir():
                names.extend(d.name for d in base.iterdir() if d.is_dir())
    return names


def where_found(entry: CatalogEntry, data_dir: str | Path | None = None) -> str | None:
    """Where ``tscl data list`` reports an entry: a root path, ``aeon (bundled)``, or None if absent."""
    for root in resolve_roots(data_dir):
        if root.is_dir():
            try:
                found = find_in_root(entry.name, root, entry)
            except DataError:
                found = None
            if found is not None:
                return str(found.paths[0].parent)
    return BUNDLED_SOURCE if bundled_dir(entry.name) is not None else None


ARRAY_SUFFIXES = (".npy", ".npz")
SUPPORTED_SUFFIXES = (".csv", *SERIES_SUFFIXES, *ARRAY_SUFFIXES)


def looks_like_path(name_or_path: str | Path) -> bool:
    """Whether the user meant a file rather than a dataset name."""
    if isinstance(name_or_path, Path):
        return True
    text = str(name_or_path)
    return Path(text).suffix.lower() in SUPPORTED_SUFFIXES or "/" in text or os.sep in text or Path(text).is_file()


def locate_path(path: Path) -> Located:
    """Describe a dataset given as a file; a ``_TRAIN``/``_TEST`` series file brings its partner.

    Raises:
        DataError: missing file, unsupported suffix, or a series file without its partner.
    """
    path = path.expanduser()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"dataset file must end in {', '.join(SUPPORTED_SUFFIXES)} but got {path.name!r}",
            "convert the data to one of these formats; see datasets/README.md",
        )
    if path.is_dir():
        raise DataError(
            f"dataset file {path} must be a file but it is a folder",
            "pass a file inside it, or the folder with --data-dir and a dataset name",
        )
    if not path.is_file():
        raise DataError(f"file {path} must exist but it was not found", "check the path, or give a dataset name")
    collection = path.parent.parent.name if path.parent.parent.name in ("UCR", "UEA") else None
    if suffix == ".csv" and is_grouped_csv(path):
        return Located(path.stem, ClassificationData.task, (path,), None, str(path))
    if suffix == ".csv":
        entry = find_entry(path.stem, ForecastingData.task)
        name = entry.name if entry else path.stem
        return Located(name, ForecastingData.task, (path,), entry.collection if entry else None, str(path))
    if suffix in ARRAY_SUFFIXES:
        return Located(path.stem, ClassificationData.task, (path,), collection, str(path))
    train, test = _series_partners(path)
    name = train.stem[: -len("_TRAIN")]
    entry = find_entry(name, ClassificationData.task)
    if entry is not None:
        name, collection = entry.name, entry.collection
    return Located(name, ClassificationData.task, (train, test), collection, f"{train}, {test}")


def _series_partners(path: Path) -> tuple[Path, Path]:
    stem, suffix = path.stem, path.suffix
    upper = stem.upper()
    if upper.endswith("_TRAIN"):
        train, test = path, path.with_name(f"{stem[:-6]}_TEST{suffix}")
    elif upper.endswith("_TEST"):
        train, test = path.with_name(f"{stem[:-5]}_TRAIN{suffix}"), path
    else:
        raise DataError(
            f"series file name must end in _TRAIN{suffix} or _TEST{suffix} but got {path.name!r}",
            f"name the pair <Name>_TRAIN{suffix} and <Name>_TEST{suffix} in one folder, "
            "or save a single array as .npy/.npz",
        )
    missing = test if path == train else train
    if not missing.is_file():
        raise DataError(
            f"{path} must have its partner {missing.name} beside it but it is missing",
            "put both the _TRAIN and the _TEST file in the same folder",
        )
    return train, test


def catalog_status(
    data_dir: str | Path | None = None, *, task: str | None = None, archive: str | None = None
) -> list[dict[str, Any]]:
    """One JSON-able row per catalog entry (optionally of one task and/or archive): name, task, archive,
    format, sizes, and where it is found locally (``found``: a folder, ``aeon (bundled)`` or None; ``cached``:
    a local copy; ``offline``: usable without a download, a local copy or aeon's).

    Raises:
        DataError: ``data_dir`` is given but is no folder; an unknown ``task`` or ``archive``.
    """
    check_data_dir(data_dir)
    rows = []
    for entry in list_entries(task, archive):
        found = where_found(entry, data_dir)
        rows.append(
            {
                "name": entry.name,
                "task": entry.task,
                "archive": entry.archive,
                "collection": entry.collection,
                "format": entry.format,
                "shape": entry.shape,
                "n_train": entry.n_train,
                "n_test": entry.n_test,
                "n_classes": entry.n_classes,
                "channels": entry.channels,
                "length_min": entry.length_min,
                "length_max": entry.length_max,
                "equal_length": entry.equal_length,
                "missing_values": entry.missing_values,
                "cached": found is not None and found != BUNDLED_SOURCE,
                "offline": found is not None,
                "found": found,
            }
        )
    return rows
