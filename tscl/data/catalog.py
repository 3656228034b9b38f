"""Catalog of the datasets ``tscl`` knows by name: where their files come from and how they are evaluated.

The catalog is built from the data tables of :mod:`tscl.data.catalog_data`: all 128 UCR 2018 and all 30 UEA
2018 classification datasets, and the long-horizon forecasting set. Names outside the catalog still load when
their files are in a data directory (``UCR/<Name>/<Name>_TRAIN.tsv``, ``UEA/<Name>/<Name>_TRAIN.ts``,
``<Name>.csv``); see :mod:`tscl.data.locate`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from tscl.data.catalog_data import (
    AEON_BUNDLED,
    ARCHIVES,
    CLASSIFICATION_HOMEPAGE,
    FORECASTING,
    SHA256,
    UCR_DATASETS,
    UEA_DATASETS,
    UPSTREAM_ARCHIVE,
    ClassificationRow,
)
from tscl.data.dataset import ClassificationData, ForecastingData
from tscl.data.protocols import forecasting_horizons, forecasting_splits
from tscl.errors import DataError

ALL_MEMBERS = "all"  # "UCR:all" names every dataset of an archive


@dataclass(frozen=True)
class Download:
    """One upstream file of a dataset.

    Attributes:
        url: where it is served; ``TSCL_DATA_MIRROR`` replaces everything before the file name.
        sha256: pinned checksum of the file as downloaded, None when unknown (recorded at the first download).
        unpack: ``""`` (used as is), ``"zip"`` or ``"gzip"``.
        members: file-name patterns (``fnmatch``) of the files taken from the archive.
    """

    url: str
    sha256: str | None = None
    unpack: str = ""
    members: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        """The upstream file name (what a mirror serves)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CatalogEntry:
    """One named dataset.

    Attributes:
        name: canonical name (``ETTh1``, ``GunPoint``).
        task: the kind of dataset, ``ForecastingData.task`` or ``ClassificationData.task`` (its evaluation task).
        format: file format in the fetch layout: ``"csv"`` or ``"ts"``.
        collection: folder in a data root: ``"ETT"``, ``"forecasting"``, ``"UCR"`` or ``"UEA"``.
        archive: the benchmark it belongs to, one of ``ARCHIVES`` (``"UCR"``, ``"UEA"``, ``"forecasting"``).
        files: file paths relative to a data root, in the layout ``tscl data fetch`` writes.
        sha256: pinned checksum per file, None where unknown (then the first download records it).
        downloads: the upstream files ``tscl data fetch`` gets.
        preprocess: name of the :mod:`tscl.data.preprocess` step that turns the downloads into ``files``
            (None: the downloads, unpacked, are the files), and ``preprocess_options`` its keyword arguments.
        splits: how train/valid/test are formed.
        horizons: forecasting prediction lengths (empty for classification).
        target: univariate forecasting target column (None for classification).
        channels: variables (forecasting) or dimensions (classification).
        length_min, length_max: shortest and longest series (time steps for forecasting).
        n_train, n_test, n_classes: classification sizes (0 for forecasting).
        missing_values: whether the data hold missing values.
        frequency: forecasting sampling interval (empty for classification).
        bundled: a copy ships with the aeon package, so it loads offline.
        homepage: where a person can read about the data.
    """

    name: str
    task: str
    format: str
    collection: str
    archive: str
    files: tuple[str, ...]
    sha256: tuple[str | None, ...]
    downloads: tuple[Download, ...]
    splits: str
    channels: int
    length_min: int
    length_max: int
    preprocess: str | None = None
    preprocess_options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    horizons: tuple[int, ...] = ()
    target: str | None = None
    n_train: int = 0
    n_test: int = 0
    n_classes: int = 0
    missing_values: bool = False
    frequency: str = ""
    bundled: bool = False
    homepage: str = ""

    @property
    def equal_length(self) -> bool:
        """Whether every series has the same length."""
        return self.length_min == self.length_max

    @property
    def shape(self) -> str:
        """Human-readable size hint."""
        if self.task == ForecastingData.task:
            return f"{self.length_max} steps x {self.channels}, {self.frequency}"
        lengths = str(self.length_max) if self.equal_length else f"{self.length_min}-{self.length_max}"
        return f"{self.n_train}+{self.n_test} x {lengths} x {self.channels}, {self.n_classes} classes"


def _forecasting_entry(name: str, table: dict[str, Any]) -> CatalogEntry:
    file = f"{table['folder']}/{table.get('file', f'{name}.csv')}"
    train, valid, test = forecasting_splits(name, table["steps"])
    splits = f"train [0, {train.stop}) valid [{valid.start}, {valid.stop}) test [{test.start}, {test.stop})"
    preprocess = dict(table.get("preprocess", {}))
    return CatalogEntry(
        name=name,
        task=ForecastingData.task,
        format="csv",
        collection=table["folder"],
        archive="forecasting",
        files=(file,),
        sha256=(SHA256.get(file.rsplit("/", 1)[-1]),),
        downloads=tuple(_download(spec) for spec in table["download"]),
        preprocess=preprocess.pop("step", None),
        preprocess_options=preprocess,
        splits=splits,
        channels=table["channels"],
        length_min=table["steps"],
        length_max=table["steps"],
        horizons=forecasting_horizons(name),
        target=table["target"],
        frequency=table["frequency"],
        homepage=table["homepage"],
    )


def _download(spec: dict[str, Any]) -> Download:
    return Download(spec["url"], spec.get("sha256"), spec.get("unpack", ""), tuple(spec.get("members", ())))


def _classification_entry(row: ClassificationRow, archive: str) -> CatalogEntry:
    files = tuple(f"{archive}/{row.name}/{row.name}_{part}.ts" for part in ("TRAIN", "TEST"))
    members = tuple(file.rsplit("/", 1)[-1] for file in files)
    return CatalogEntry(
        name=row.name,
        task=ClassificationData.task,
        format="ts",
        collection=archive,
        archive=archive,
        files=files,
        sha256=tuple(SHA256.get(member) for member in members),
        downloads=(Download(UPSTREAM_ARCHIVE.format(name=row.name), unpack="zip", members=members),),
        splits="official TRAIN / TEST files",
        channels=row.channels,
        length_min=row.length_min,
        length_max=row.length_max,
        n_train=row.train,
        n_test=row.test,
        n_classes=row.classes,
        missing_values=row.missing,
        bundled=row.name in AEON_BUNDLED,
        homepage=CLASSIFICATION_HOMEPAGE.format(name=row.name),
    )


def _build() -> dict[str, CatalogEntry]:
    entries = [_forecasting_entry(name, table) for name, table in FORECASTING.items()]
    entries += [_classification_entry(row, "UCR") for row in UCR_DATASETS]
    entries += [_classification_entry(row, "UEA") for row in UEA_DATASETS]
    return {entry.name.lower(): entry for entry in entries}


_ENTRIES = _build()


def list_entries(task: str | None = None, archive: str | None = None) -> list[CatalogEntry]:
    """Catalog entries, optionally of one task and/or one archive: forecasting first, then UCR, then UEA.

    Raises:
        DataError: ``archive`` is not one of ``ARCHIVES``, or no dataset has that ``task``.
    """
    tasks = sorted({e.task for e in _ENTRIES.values()})
    if task is not None and task not in tasks:
        raise DataError(f"task must be one of {', '.join(tasks)} but got {task!r}", "leave --task out to list all")
    wanted = check_archive(archive) if archive is not None else None
    entries = [e for e in _ENTRIES.values() if task in (None, e.task) and wanted in (None, e.archive)]
    return sorted(entries, key=lambda e: (ARCHIVES.index(e.archive), e.collection, e.name.lower()))


def check_archive(archive: str) -> str:
    """The canonical spelling of an archive name (case-insensitive).

    Raises:
        DataError: not one of ``ARCHIVES``.
    """
    by_lower = {name.lower(): name for name in ARCHIVES}
    if archive.lower() not in by_lower:
        raise DataError(
            f"archive must be one of {', '.join(ARCHIVES)} but got {archive!r}",
            "run `tscl data list --archive UCR` to see an archive's datasets",
        )
    return by_lower[archive.lower()]


def expand_names(spec: str) -> list[str] | None:
    """The dataset names ``"<archive>:all"`` stands for (e.g. ``"UCR:all"``), or None when ``spec`` is a name.

    Raises:
        DataError: an unknown archive, or a selector other than ``all``.
    """
    archive, colon, selector = spec.partition(":")
    if not colon or "/" in spec or "\\" in spec:
        return None
    if selector.strip().lower() != ALL_MEMBERS:
        raise DataError(
            f"an archive selector must be '<archive>:{ALL_MEMBERS}' but got {spec!r}",
            f"write e.g. 'UCR:{ALL_MEMBERS}', or list the dataset names",
        )
    return [entry.name for entry in list_entries(archive=archive.strip())]


def find_entry(name: str, task: str | None = None) -> CatalogEntry | None:
    """The entry called ``name`` (case-insensitive), or None; with ``task``, only an entry of that task."""
    entry = _ENTRIES.get(name.lower())
    return entry if entry is not None and task in (None, entry.task) else None


def get_entry(name: str) -> CatalogEntry:
    """The entry called ``name`` (case-insensitive).

    Raises:
        DataError: unknown name (a file path is one too); the message suggests close matches.
    """
    entry = find_entry(name)
    if entry is None:
        raise unknown_name_error(name, files=False)
    return entry


def unknown_name_error(name: str, extra_names: list[str] | None = None, files: bool = True) -> DataError:
    """The error for an unknown dataset name: close matches if any, else a sample of the valid names.

    ``files``: whether the caller also takes a file path (loading does; fetching and verifying do not).
    """
    names = [e.name for e in list_entries()] + list(extra_names or [])
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    if close:
        suggestion = f"did you mean {', '.join(by_lower[c] for c in close)}?"
    else:
        featured = ["ETTh1", "ETTm1", "electricity", "GunPoint", "BasicMotions", "JapaneseVowels"]
        suggestion = f"known names include {', '.join(featured)} ({len(by_lower)} in all)"
    if not files:
        return DataError(
            f"dataset must be a catalog name but got {name!r}; {suggestion}",
            "run `tscl data list` for all names; a file of your own needs no fetch: pass its path to the command",
        )
    return DataError(
        f"dataset must be a known name or a file path but got {name!r}; {suggestion}",
        "run `tscl data list` for all names, or pass a path to a .csv/.tsv/.ts/.arff/.npy/.npz file",
    )
