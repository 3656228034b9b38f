"""Catalog of the datasets ``tscl`` knows by name: where their files come from and how they are evaluated.

Names outside the catalog still load when their files are in a data directory
(``UCR/<Name>/<Name>_TRAIN.tsv``, ``UEA/<Name>/<Name>_TRAIN.ts``, ``<Name>.csv``);
see :mod:`tscl.data.locate`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tscl.data.catalog_data import (
    AEON_BUNDLED,
    FORECASTING,
    FORECASTING_HOMEPAGES,
    SHA256,
    UCR_DATASETS,
    UEA_DATASETS,
    UPSTREAM_ARCHIVE,
)
from tscl.data.dataset import ClassificationData, ForecastingData
from tscl.data.protocols import default_target, forecasting_horizons
from tscl.errors import DataError


@dataclass(frozen=True)
class CatalogEntry:
    """One named dataset.

    Attributes:
        name: canonical name (``ETTh1``, ``GunPoint``).
        task: the kind of dataset, ``ForecastingData.task`` or ``ClassificationData.task`` (its evaluation task).
        format: file format: ``"csv"``, ``"tsv"`` or ``"ts"``.
        collection: ``"ETT"``, ``"UCR"``, ``"UEA"`` or ``"forecasting"``.
        files: file paths relative to a data root, in the layout ``tscl data fetch`` writes.
        urls: one download URL per file, None where no single-file upstream exists.
        sha256: one checksum per file, None where unknown.
        splits: how train/valid/test are formed.
        horizons: forecasting prediction lengths (empty for classification).
        target: univariate forecasting target column (None for classification).
        shape: human-readable size hint.
        bundled: a copy ships with the aeon package, so it loads offline.
        homepage: where a person can get the data when ``urls`` has no entry.
    """

    name: str
    task: str
    format: str
    collection: str
    files: tuple[str, ...]
    urls: tuple[str | None, ...]
    sha256: tuple[str | None, ...]
    splits: str
    horizons: tuple[int, ...] = ()
    target: str | None = None
    shape: str = ""
    bundled: bool = False
    homepage: str = ""


def _forecasting_entry(name: str, folder: str, url: str | None, shape: str, columns: list[str]) -> CatalogEntry:
    file = f"{folder}/{name}.csv"
    if name.startswith("ETT"):
        unit = 720 * (4 if name.startswith("ETTm") else 1)
        splits = f"train [0, {12 * unit}) valid [{12 * unit}, {16 * unit}) test [{16 * unit}, {20 * unit})"
    else:
        splits = "60/20/20 of rows: int(0.6 n), int(0.8 n)"
    return CatalogEntry(
        name=name,
        task=ForecastingData.task,
        format="csv",
        collection="ETT" if folder == "ETT" else "forecasting",
        files=(file,),
        urls=(url,),
        sha256=(SHA256.get(f"{name}.csv"),),
        splits=splits,
        horizons=forecasting_horizons(name),
        target=default_target(name, columns),
        shape=shape,
        homepage=url or FORECASTING_HOMEPAGES.get(name, ""),
    )


def _classification_entry(name: str, collection: str, fmt: str, shape: str) -> CatalogEntry:
    files = tuple(f"{collection}/{name}/{name}_{part}.{fmt}" for part in ("TRAIN", "TEST"))
    return CatalogEntry(
        name=name,
        task=ClassificationData.task,
        format=fmt,
        collection=collection,
        files=files,
        urls=(None, None),  # upstream serves whole-dataset zips only; see UPSTREAM_ARCHIVE
        sha256=tuple(SHA256.get(file.rsplit("/", 1)[-1]) for file in files),
        splits="official TRAIN / TEST files",
        shape=shape,
        bundled=name in AEON_BUNDLED,
        homepage=UPSTREAM_ARCHIVE.format(name=name),
    )


def _build() -> dict[str, CatalogEntry]:
    entries = [_forecasting_entry(*row) for row in FORECASTING]
    for name, n_train, n_test, length, n_classes in UCR_DATASETS:
        shape = f"{n_train}+{n_test} x {length} x 1, {n_classes} classes"
        entries.append(_classification_entry(name, "UCR", "tsv", shape))
    for name, n_train, n_test, channels, lengths, n_classes in UEA_DATASETS:
        shape = f"{n_train}+{n_test} x {lengths} x {channels}, {n_classes} classes"
        entries.append(_classification_entry(name, "UEA", "ts", shape))
    return {entry.name.lower(): entry for entry in entries}


_ENTRIES = _build()


def list_entries(task: str | None = None) -> list[CatalogEntry]:
    """Every catalog entry (optionally of one task), forecasting first, then by collection and name."""
    order = {"ETT": 0, "forecasting": 1, "UCR": 2, "UEA": 3}
    entries = [e for e in _ENTRIES.values() if task is None or e.task == task]
    return sorted(entries, key=lambda e: (order.get(e.collection, 9), e.name.lower()))


def find_entry(name: str, task: str | None = None) -> CatalogEntry | None:
    """The entry called ``name`` (case-insensitive), or None; with ``task``, only an entry of that task."""
    entry = _ENTRIES.get(name.lower())
    return entry if entry is not None and task in (None, entry.task) else None


def get_entry(name: str) -> CatalogEntry:
    """The entry called ``name`` (case-insensitive).

    Raises:
        DataError: unknown name; the message suggests close matches.
    """
    entry = find_entry(name)
    if entry is None:
        raise unknown_name_error(name)
    return entry


def unknown_name_error(name: str, extra_names: list[str] | None = None) -> DataError:
    """The error for an unknown dataset name: close matches if any, else a sample of the valid names."""
    names = [e.name for e in list_entries()] + list(extra_names or [])
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    if close:
        suggestion = f"did you mean {', '.join(by_lower[c] for c in close)}?"
    else:
        featured = ["ETTh1", "ETTm1", "electricity", "GunPoint", "BasicMotions", "JapaneseVowels"]
        suggestion = f"known names include {', '.join(featured)} ({len(by_lower)} in all)"
    return DataError(
        f"dataset must be a known name or a file path but got {name!r}; {suggestion}",
        "run `tscl data list` for all names, or pass a path to a .csv/.tsv/.ts/.arff/.npy/.npz file",
    )
