"""Paths given to the public API: a ``str`` or any ``os.PathLike``, made a :class:`~pathlib.Path` once, at the
boundary (``tscl.evaluate_run("runs/x")`` works like ``tscl.evaluate_run(Path("runs/x"))``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from tscl.errors import DataError

PathArg = Union[str, "os.PathLike[str]"]  # noqa: UP007 - a runtime alias, and the package supports Python 3.10


def as_path(value: PathArg) -> Path:
    """``value`` as a Path (a Path is returned as is)."""
    return value if isinstance(value, Path) else Path(os.fspath(value))


def as_optional_path(value: PathArg | None) -> Path | None:
    """:func:`as_path`, passing None through."""
    return None if value is None else as_path(value)


def as_data_dir(value: PathArg | None) -> Path | None:
    """A data directory as a Path (None: the default search), refusing an empty one as the command line's
    ``--data-dir`` does: ``""`` would silently mean the current folder (``data_dir=os.environ.get(...)``).

    Raises:
        DataError: ``value`` is an empty or blank string.
    """
    if value is None:
        return None
    if not os.fspath(value).strip():
        raise DataError(
            f"data_dir (--data-dir) must be a folder but got an empty value {os.fspath(value)!r}",
            "pass the folder that holds the data, or leave data_dir out (None) to search $TSCL_DATA_DIR, "
            "./datasets and the cache",
        )
    return as_path(value)


def dataset_arg(dataset: PathArg | None) -> str | None:
    """A dataset given by name (a str, as is) or by path (any other path-like: kept recognisable as a path, see
    :func:`tscl.data.locate.looks_like_path`, so ``Path("GunPoint")`` is the file, not the catalog name)."""
    if dataset is None or isinstance(dataset, str):
        return dataset
    text = str(as_path(dataset))
    return text if "/" in text else f"./{text}"
