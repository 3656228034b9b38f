"""Readers for grouped recordings: samples that carry a subject (patient) id and a trial (recording) id.

Three layouts, one result (:class:`Recordings`):

* an ``.npz`` of concatenated recordings: ``values`` ``[S, C]``, ``offsets`` ``[R + 1]`` (recording ``i`` is
  ``values[offsets[i]:offsets[i+1]]``) and per-recording ``label``, ``subject`` (or ``patient``), optionally
  ``trial`` (or ``recording``), ``label_names``, ``channel_names`` — the layout of ``watch.npz``;
* a long-format CSV: id columns (``subject``/``patient``, ``trial``/``recording``), an optional time column
  (``time``, ``timestamp``, ``t``, ``step``), an optional ``label`` column and one numeric column per channel;
  one row per time step, rows of a recording together;
* a sidecar ``<stem>.groups.csv`` beside any other supported file, one row per sample in file order with a
  ``subject`` (or ``patient``) and optionally a ``trial`` (or ``recording``) column.

With no trial id, each recording is a trial. Ids are kept as strings, exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tscl.data.readers import first_line, out_of_range
from tscl.errors import DataError

__all__ = [
    "SUBJECT_KEYS",
    "TRIAL_KEYS",
    "Recordings",
    "is_grouped_csv",
    "is_grouped_npz",
    "read_grouped_csv",
    "read_grouped_npz",
    "read_sidecar",
    "sidecar_path",
]

SUBJECT_KEYS = ("subject", "patient")
TRIAL_KEYS = ("trial", "recording")
TIME_KEYS = ("time", "timestamp", "t", "step")
_NPZ_HINT = "save with np.savez(path, values=[S, C], offsets=[R+1], label=[R], subject=[R]) (trial=[R] optional)"
_CSV_HINT = "columns: subject (or patient), optional trial/recording, optional time and label, then channels"


@dataclass(frozen=True)
class Recordings:
    """Recordings of a grouped dataset, each a ``[T_i, C]`` float32 array.

    Attributes:
        series: One array per recording.
        labels: ``[R]`` label strings, or None when unlabelled.
        subjects: ``[R]`` subject ids (strings).
        trials: ``[R]`` trial ids (strings, unique within a subject; the recording's index when the file has none).
        channel_names: Names of the C channels.
        label_names: Display name of each label string, when the file gives them (``watch.npz``'s ``PEN``, ...).
    """

    series: list[np.ndarray]
    labels: np.ndarray | None
    subjects: np.ndarray
    trials: np.ndarray
    channel_names: list[str]
    label_names: dict[str, str]


def _first_key(keys: list[str] | tuple[str, ...], options: tuple[str, ...]) -> str | None:
    lowered = {key.lower(): key for key in keys}
    return next((lowered[o] for o in options if o in lowered), None)


def _load_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except Exception as exc:  # numpy, zipfile and zlib raise many types on damaged files
        raise DataError(
            f"{path} must be a readable .npz archive but loading failed: {first_line(exc)}", _NPZ_HINT
        ) from exc


def is_grouped_npz(path: Path) -> bool:
    """Whether an ``.npz`` holds concatenated recordings (``values`` and ``offsets``) rather than ``X``."""
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            return isinstance(archive, np.lib.npyio.NpzFile) and {"values", "offsets"} <= set(archive.files)
    except Exception:  # the ordinary reader reports damaged files
        return False


def read_grouped_npz(path: Path) -> Recordings:
    """Read the concatenated-recordings layout (see the module docstring)."""
    arrays = _load_npz_arrays(path)
    values, offsets = np.asarray(arrays["values"]), np.asarray(arrays["offsets"])
    if values.dtype.kind not in "biuf" or values.ndim not in (1, 2) or values.size == 0:
        raise DataError(f"{path} values must be a non-empty numeric array [S, C] but got {values.dtype} "
                        f"{list(values.shape)}", _NPZ_HINT)  # fmt: skip
    values = values.reshape(len(values), -1)
    if offsets.dtype.kind not in "iu" or offsets.ndim != 1 or len(offsets) < 2:
        raise DataError(f"{path} offsets must be integers [R + 1] but got {offsets.dtype} {list(offsets.shape)}",
                        _NPZ_HINT)  # fmt: skip
    if offsets[0] != 0 or offsets[-1] != len(values) or (np.diff(offsets) <= 0).any():
        raise DataError(
            f"{path} offsets must rise strictly from 0 to {len(values)} (the number of steps) but got "
            f"{offsets[0]} .. {offsets[-1]}{' with an empty recording' if (np.diff(offsets) <= 0).any() else ''}",
            _NPZ_HINT,
        )
    if out_of_range(values.astype(np.float64, copy=False)).any():
        step = int(np.argwhere(out_of_range(values.astype(np.float64, copy=False)))[0][0])
        raise DataError(f"{path} values must be finite float32 numbers but step {step} is not",
                        "replace infinite or huge values by NaN (missing)")  # fmt: skip
    n = len(offsets) - 1
    keys = list(arrays)
    subject_key, trial_key = _first_key(keys, SUBJECT_KEYS), _first_key(keys, TRIAL_KEYS)
    if subject_key is None:
        raise DataError(f"{path} must hold per-recording subject ids (key subject or patient) but got keys "
                        f"{sorted(keys)}", _NPZ_HINT)  # fmt: skip
    per_recording = {"subject": arrays[subject_key]}
    if trial_key is not None:
        per_recording["trial"] = arrays[trial_key]
    if "label" in arrays:
        per_recording["label"] = arrays["label"]
    for key, array in per_recording.items():
        if array.ndim != 1 or len(array) != n:
            raise DataError(f"{path} {key} must have one entry per recording ([{n}]) but got {list(array.shape)}",
                            _NPZ_HINT)  # fmt: skip
    series = [values[offsets[i] : offsets[i + 1]].astype(np.float32) for i in range(n)]
    labels = _strings(per_recording["label"]) if "label" in per_recording else None
    label_names: dict[str, str] = {}
    if labels is not None and "label_names" in arrays and arrays["label"].dtype.kind in "iu":
        names = [str(v) for v in arrays["label_names"].tolist()]
        label_names = {str(i): names[i] for i in range(len(names))}
    channels = [str(v) for v in arrays.get("channel_names", np.arange(values.shape[1])).tolist()]
    trials = _strings(per_recording["trial"]) if "trial" in per_recording else np.arange(n).astype(str).astype(object)
    return Recordings(series, labels, _strings(per_recording["subject"]), trials, channels, label_names)


def _strings(values: np.ndarray) -> np.ndarray:
    out = []
    for value in values.tolist():
        out.append(str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
    return np.asarray(out, dtype=object)


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            line = handle.readline()
    except OSError:
        return []
    return [field.strip().strip('"') for field in line.strip().split(",")]


def is_grouped_csv(path: Path) -> bool:
    """Whether a CSV is in the long grouped format: its header names a subject (or patient) column."""
    return _first_key(_csv_header(path), SUBJECT_KEYS) is not None


def read_grouped_csv(path: Path) -> Recordings:
    """Read the long format (see the module docstring); a recording is the rows of one (subject, trial)."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # pandas raises parser, unicode and empty-data errors
        raise DataError(f"{path} must be a readable CSV but reading failed: {first_line(exc)}", _CSV_HINT) from exc
    columns = [str(c) for c in frame.columns]
    subject_key = _first_key(columns, SUBJECT_KEYS)
    if subject_key is None or frame.empty:
        raise DataError(f"{path} must have a subject (or patient) column and rows but got columns {columns}", _CSV_HINT)
    trial_key, time_key = _first_key(columns, TRIAL_KEYS), _first_key(columns, TIME_KEYS)
    label_key = _first_key(columns, ("label",))
    ids = [k for k in (subject_key, trial_key, time_key, label_key) if k is not None]
    channels = [c for c in columns if c not in ids]
    if not channels:
        raise DataError(f"{path} must have at least one channel column besides {ids} but has none", _CSV_HINT)
    numeric = frame[channels].apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & frame[channels].notna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise DataError(f"{path} column {channels[col]!r} must be numeric but row {row + 2} holds "
                        f"{frame[channels[col]].iloc[row]!r}", _CSV_HINT)  # fmt: skip
    keys = [subject_key] + ([trial_key] if trial_key else [])
    frame = frame.assign(_order=np.arange(len(frame)))
    series: list[np.ndarray] = []
    labels: list[str] = []
    subjects: list[str] = []
    trials: list[str] = []
    for key, rows in frame.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        if time_key is not None:
            rows = rows.sort_values([time_key, "_order"], kind="stable")
            _check_times_once(rows[time_key], path, "/".join(map(str, key)))
        if label_key is not None:
            found = rows[label_key].astype(str).unique()
            if len(found) != 1:
                raise DataError(f"{path} recording {'/'.join(map(str, key))} must have one label but has "
                                f"{', '.join(found[:5])}", "split it into recordings with one label each")  # fmt: skip
            labels.append(found[0])
        series.append(numeric.loc[rows.index].to_numpy(np.float32))
        subjects.append(str(key[0]))
        trials.append(str(key[1]) if trial_key else str(len(trials)))
    as_array = lambda v: np.asarray(v, dtype=object)  # noqa: E731
    return Recordings(series, as_array(labels) if label_key else None, as_array(subjects), as_array(trials),
                      channels, {})  # fmt: skip


def _check_times_once(times: Any, path: Path, recording: str) -> None:
    """Refuse a time written twice in one recording (``times``: its time column, sorted; index = row)."""
    repeated = times.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return
    at = int(np.argmax(repeated))
    first, again = times.index[at - 1] + 2, times.index[at] + 2  # file lines: header first, rows from 2
    raise DataError(f"{path} recording {recording} must hold each time once but time {times.iloc[at]} is on "
                    f"lines {first} and {again}",
                    "remove the duplicate rows, or give the repeated part its own trial id")  # fmt: skip


def sidecar_path(path: Path) -> Path:
    """The sidecar of a data file: ``<stem>.groups.csv`` in the same folder."""
    return path.with_name(f"{path.stem}.groups.csv")


def read_sidecar(path: Path, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """``(subjects, trials)`` of the ``n_samples`` samples of the file whose sidecar is ``path``.

    Without a trial column, each sample is its own trial (its row number).
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise DataError(f"{path} must be a readable CSV but reading failed: {first_line(exc)}",
                        "one row per sample: subject[,trial]") from exc  # fmt: skip
    columns = [str(c) for c in frame.columns]
    subject_key, trial_key = _first_key(columns, SUBJECT_KEYS), _first_key(columns, TRIAL_KEYS)
    if subject_key is None:
        raise DataError(f"{path} must have a subject (or patient) column but got columns {columns}",
                        "one row per sample: subject[,trial]")  # fmt: skip
    if len(frame) != n_samples:
        raise DataError(f"{path} must have one row per sample ({n_samples}) but has {len(frame)}",
                        "write the ids of every sample, in the data file's order")  # fmt: skip
    subjects = frame[subject_key].to_numpy(dtype=object)
    if any(s == "" for s in subjects):
        raise DataError(f"{path} must give every sample a subject but row {list(subjects).index('') + 2} has none",
                        "fill the subject column")  # fmt: skip
    trials = frame[trial_key].to_numpy(dtype=object) if trial_key else np.arange(n_samples).astype(str).astype(object)
    return subjects, trials
