"""Static facts behind the catalog, read from the data tables in ``tscl/data/tables/``.

``ucr2018.csv`` and ``uea2018.csv`` hold the sizes of every dataset of the two classification archives,
``forecasting.toml`` the long-horizon forecasting set with its upstream files and preprocessing, and
``sha256.txt`` the checksums of the verified copies described in ``shared/datasets/SOURCES.md``. Nothing here
is code per dataset: adding a dataset is adding a row.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# timeseriesclassification.com serves one zip per dataset (the files aeon's load_classification downloads).
UPSTREAM_ARCHIVE = "https://timeseriesclassification.com/aeon-toolkit/{name}.zip"
CLASSIFICATION_HOMEPAGE = "https://timeseriesclassification.com/description.php?Dataset={name}"

# Archive names a user can filter by or sweep over ("UCR:all"), each with its folder in a data root.
ARCHIVES = ("UCR", "UEA", "forecasting")

# Copies shipped inside the aeon package (aeon/datasets/data/), loadable without any download.
AEON_BUNDLED = frozenset({"GunPoint", "BasicMotions", "JapaneseVowels", "ItalyPowerDemand", "ArrowHead"})


@dataclass(frozen=True)
class ClassificationRow:
    """One row of ``ucr2018.csv`` / ``uea2018.csv``."""

    name: str
    train: int
    test: int
    channels: int
    length_min: int
    length_max: int
    classes: int
    missing: bool


def _table_text(file_name: str) -> str:
    return resources.files("tscl.data").joinpath("tables", file_name).read_text(encoding="utf-8")


def _read_classification(file_name: str) -> list[ClassificationRow]:
    lines = [line for line in _table_text(file_name).splitlines() if line and not line.startswith("#")]
    rows = []
    for record in csv.DictReader(lines):
        rows.append(
            ClassificationRow(
                name=record["name"],
                train=int(record["train"]),
                test=int(record["test"]),
                channels=int(record.get("channels") or 1),
                length_min=int(record["length_min"]),
                length_max=int(record["length_max"]),
                classes=int(record["classes"]),
                missing=record["missing"] == "1",
            )
        )
    return rows


def _read_sums(file_name: str) -> dict[str, str]:
    sums = {}
    for line in _table_text(file_name).splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split()
            sums[name] = digest
    return sums


UCR_DATASETS: list[ClassificationRow] = _read_classification("ucr2018.csv")
UEA_DATASETS: list[ClassificationRow] = _read_classification("uea2018.csv")
# name -> its table in forecasting.toml (folder, steps, channels, frequency, target, download, preprocess, ...)
FORECASTING: dict[str, dict[str, Any]] = tomllib.loads(_table_text("forecasting.toml"))
# sha256 of each known file, keyed by file name.
SHA256: dict[str, str] = _read_sums("sha256.txt")
