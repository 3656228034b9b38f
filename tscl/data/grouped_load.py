"""Which located datasets are grouped, and loading them (the hook :func:`tscl.data.load.load_located` calls)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tscl.data.dataset import series_lengths
from tscl.data.grouped import GroupedData, Grouping, build_grouped
from tscl.data.grouped_readers import (
    Recordings,
    is_grouped_csv,
    is_grouped_npz,
    read_grouped_csv,
    read_grouped_npz,
    read_sidecar,
    sidecar_path,
)
from tscl.data.locate import Located
from tscl.errors import DataError

__all__ = ["load_if_grouped", "read_recordings"]


def read_recordings(located: Located) -> Recordings | None:
    """The recordings of a grouped dataset, or None when ``located`` is not grouped."""
    first = located.paths[0]
    suffix = first.suffix.lower()
    if suffix == ".npz" and is_grouped_npz(first):
        return read_grouped_npz(first)
    if suffix == ".csv" and is_grouped_csv(first):
        return read_grouped_csv(first)
    sidecars = [sidecar_path(path) for path in dict.fromkeys(located.paths)]
    if any(path.is_file() for path in sidecars):
        return _with_sidecars(located, sidecars)
    return None


def _with_sidecars(located: Located, sidecars: list[Path]) -> Recordings:
    """Every sample of the file(s) as a recording, its ids from the sidecar beside each file."""
    from tscl.data.load import read_pair

    missing = [path for path in sidecars if not path.is_file()]
    if missing:
        raise DataError(f"{missing[0]} must exist beside its data file (the other file of the pair has one)",
                        hint="write a .groups.csv for every file of the dataset")  # fmt: skip
    train, test = read_pair(located)
    parts = [train] if test is None else [train, test]
    series, labels, subjects, trials = [], [], [], []
    for part, sidecar in zip(parts, sidecars, strict=True):
        found_subjects, found_trials = read_sidecar(sidecar, len(part.X))
        lengths = series_lengths(part.X)
        series += [part.X[i, : max(1, lengths[i])] for i in range(len(part.X))]
        labels += [] if part.labels is None else list(part.labels)
        subjects += list(found_subjects)
        trials += [f"{sidecar.stem}:{t}" if len(parts) > 1 else str(t) for t in found_trials]
    as_array = lambda values: np.asarray(values, dtype=object)  # noqa: E731
    label_array = as_array(labels) if len(labels) == len(series) else None
    channels = [str(c) for c in range(train.X.shape[2])]
    return Recordings(series, label_array, as_array(subjects), as_array(trials), channels, {})


def load_if_grouped(located: Located, grouping: Grouping) -> GroupedData | None:
    """The grouped dataset ``located`` holds, or None for ungrouped data (which refuses grouping settings)."""
    recordings = read_recordings(located)
    if recordings is None:
        settings = (("window (--window)", grouping.window), ("stride (--stride)", grouping.stride),
                    ("split_by (--split-by)", grouping.split_by))  # fmt: skip
        given = [flag for flag, value in settings if value is not None]
        if given:
            raise DataError(
                f"{' and '.join(given)} must be given grouped data but {located.name} has no subject ids",
                hint="use an .npz of recordings, a CSV with a subject column, or add a <name>.groups.csv sidecar",
            )
        return None
    return build_grouped(located.name, recordings, located.source, grouping)
