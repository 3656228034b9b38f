"""Datasets: one reader per file format, the TS2Vec preprocessing protocol, the catalog, locating, fetching.

Typical use::

    from tscl.data import load_dataset
    data = load_dataset("ETTh1")            # ForecastingData, covariates first, z-scored on the train split
    data = load_dataset("GunPoint")         # ClassificationData; falls back to aeon's bundled copy offline

The names below are imported on first use, so that light modules of this package (the forecasting protocol
table, read by ``tscl evaluate --help``) load without pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tscl.data.catalog import CatalogEntry, get_entry, list_entries
    from tscl.data.dataset import ClassificationData, ForecastingData
    from tscl.data.fetch import fetch
    from tscl.data.load import load_dataset
    from tscl.data.locate import OFFLINE_DEFAULT, cache_dir, resolve_roots

_HOMES = {
    "CatalogEntry": "catalog", "get_entry": "catalog", "list_entries": "catalog",
    "ClassificationData": "dataset", "ForecastingData": "dataset", "fetch": "fetch", "load_dataset": "load",
    "OFFLINE_DEFAULT": "locate", "cache_dir": "locate", "resolve_roots": "locate",
}  # fmt: skip

__all__ = [
    "CatalogEntry",
    "ClassificationData",
    "ForecastingData",
    "OFFLINE_DEFAULT",
    "cache_dir",
    "fetch",
    "get_entry",
    "list_entries",
    "load_dataset",
    "resolve_roots",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'tscl.data' has no attribute {name!r}")
    return getattr(import_module(f"tscl.data.{_HOMES[name]}"), name)
