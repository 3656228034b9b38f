"""Datasets: one reader per file format, the TS2Vec preprocessing protocol, the catalog, locating, fetching.

Typical use::

    from tscl.data import load_dataset
    data = load_dataset("ETTh1")            # ForecastingData, covariates first, z-scored on the train split
    data = load_dataset("GunPoint")         # ClassificationData; falls back to aeon's bundled copy offline
"""

from tscl.data.catalog import CatalogEntry, get_entry, list_entries
from tscl.data.dataset import ClassificationData, ForecastingData
from tscl.data.fetch import fetch
from tscl.data.load import load_dataset
from tscl.data.locate import OFFLINE_DEFAULT, cache_dir, resolve_roots

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
