"""Grouped datasets: windows cut from recordings, each window carrying its subject and trial ids.

Recordings (:mod:`tscl.data.grouped_readers`) are cut into windows of ``window`` steps every ``stride`` steps
(no window: each recording is one sample, NaN padded to the longest); the windows are split with no group in
two parts (:mod:`tscl.data.splits`) and z-scored per channel with the training part's statistics. The result
is a :class:`GroupedData`: a classification dataset (``X_train``, ``X_test``, ... as every task expects) with a
validation part and the ids of every window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tscl.data import splits
from tscl.data.dataset import ClassificationData
from tscl.data.grouped_readers import Recordings
from tscl.data.protocols import channel_moments
from tscl.data.readers import pad_series, sort_labels
from tscl.errors import DataError
from tscl.seeds import check_seed

__all__ = ["GroupedData", "Grouping", "build_grouped", "cut_windows"]


@dataclass(frozen=True)
class Grouping:
    """How grouped recordings become a dataset: windows, and the split (a stored one wins over ``split_by``).

    Attributes:
        window, stride: Window length and step (None: each recording is one sample; stride: ``window``).
        split_by: ``subject`` (default), ``trial`` or ``random`` (see :mod:`tscl.data.splits`).
        split_seed: Seed of the split.
        stored_split: A split record written into a run (evaluation reuses the run's split).
    """

    window: int | None = None
    stride: int | None = None
    split_by: str | None = None
    split_seed: int = 0
    stored_split: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        check_seed(self.split_seed, "split_seed (--split-seed)", hint="pass --split-seed 0, for example")


def cut_windows(series: list[np.ndarray], window: int | None, stride: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(X [N, W, C], recording index [N])``: windows every ``stride`` steps (default ``window``).

    A recording shorter than ``window`` gives one window, NaN padded at the end. Without ``window`` each
    recording is one sample.
    """
    if window is None:
        if stride is not None:
            raise DataError(f"stride (--stride) must be given with window (--window) but got stride {stride} alone",
                            hint=f"add --window, e.g. --window {2 * stride} --stride {stride}")  # fmt: skip
        return pad_series(series), np.arange(len(series))
    if window < 2:
        raise DataError(
            f"window (--window) must be at least 2 steps but got {window}", hint="pass --window 128, for example"
        )
    step = window if stride is None else stride
    if step < 1:
        raise DataError(f"stride must be greater than or equal to 1 but got {step}", hint="pass --stride 64")
    longest = max((len(values) for values in series), default=0)
    if window > longest:
        raise DataError(
            f"window (--window) must be at most the longest recording's length ({longest} steps) but got {window}",
            hint=f"pass a shorter --window, e.g. --window {min(128, longest)}, or none for whole recordings",
        )
    pieces, owners = [], []
    for index, values in enumerate(series):
        starts = range(0, max(1, len(values) - window + 1), step)
        for start in starts:
            piece = values[start : start + window]
            if len(piece) < window:
                piece = np.concatenate([piece, np.full((window - len(piece), values.shape[1]), np.nan, np.float32)])
            pieces.append(piece)
            owners.append(index)
    return np.stack(pieces).astype(np.float32), np.asarray(owners, dtype=np.int64)


@dataclass
class GroupedData(ClassificationData):
    """A classification dataset of windows with group ids and a validation part.

    Attributes (beyond :class:`ClassificationData`'s):
        X_valid, y_valid: The validation part (model selection; never the test part).
        ids: Part name -> ``{"subject": [n], "trial": [n]}`` string ids of that part's windows (a trial id is
            ``subject/trial``, unique over the dataset).
        split: The split record (:func:`tscl.data.splits.split_record`), stored in the run.
        window, stride: How the recordings were cut.
        recordings: Recordings per subject (for ``info``).
    """

    X_valid: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1), np.float32))
    y_valid: np.ndarray | None = None
    ids: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    window: int | None = None
    stride: int | None = None
    recordings: dict[str, int] = field(default_factory=dict)

    def pretrain_groups(self) -> dict[str, np.ndarray]:
        """Integer subject and trial ids of the pretraining windows (``X_train``), for group-aware objectives."""
        return {key: np.unique(values, return_inverse=True)[1] for key, values in self.ids["train"].items()}

    def info(self) -> dict[str, Any]:
        info = super().info()
        parts = {"train": self.y_train, "valid": self.y_valid, "test": self.y_test}
        for entry, index in zip(info["classes"], range(len(self.class_names)), strict=True):
            entry["valid"] = int((self.y_valid == index).sum()) if self.y_valid is not None else 0
        info["n_valid"] = int(self.X_valid.shape[0])
        subjects = {name: sorted(set(self.ids[name]["subject"].tolist())) for name in parts}
        info["groups"] = {
            "subjects": len(self.recordings),
            "recordings": int(sum(self.recordings.values())),
            "recordings_per_subject": dict(self.recordings),
            "window": self.window,
            "stride": self.stride,
            "split_by": self.split.get("split_by"),
            "split_seed": self.split.get("seed"),
            "subjects_per_part": {name: len(found) for name, found in subjects.items()},
        }
        return info


def build_grouped(
    name: str,
    recordings: Recordings,
    source: str,
    grouping: Grouping,
) -> GroupedData:
    """Cut, split (a stored split first, else ``split_by``, default subject) and normalise grouped recordings."""
    window, stride, split_by = grouping.window, grouping.stride, grouping.split_by
    split_seed, stored_split = grouping.split_seed, grouping.stored_split
    if recordings.labels is None:
        raise DataError(f"{source} must have a label per recording to be split and evaluated but has none",
                        hint="add a label column (CSV) or a label array (.npz)")  # fmt: skip
    X, owner = cut_windows(recordings.series, window, stride)
    label_values = sort_labels(recordings.labels)
    if len(label_values) < 2:
        raise DataError(f"{source} must hold at least 2 classes but got {label_values}", hint="check the labels")
    code = {value: i for i, value in enumerate(label_values)}
    y = np.asarray([code[str(recordings.labels[r])] for r in owner], dtype=np.int64)
    subjects = recordings.subjects[owner]
    trials = np.asarray([f"{s}/{t}" for s, t in zip(subjects, recordings.trials[owner], strict=True)], dtype=object)
    how = (stored_split or {}).get("split_by") or split_by or "subject"
    groups = splits.group_keys(how, subjects, trials)
    if stored_split is not None:
        parts = splits.parts_from_record(stored_split, groups, "the run")
        seed = int(stored_split.get("seed", split_seed))
    else:
        parts, seed = splits.assign_parts(groups, y, split_seed), split_seed
    record = splits.split_record(how, seed, groups, parts)
    mean, std = channel_moments(X[parts == 0])
    X = ((X - mean) / std).astype(np.float32)
    take = {p: parts == i for i, p in enumerate(splits.PARTS)}
    names = [recordings.label_names.get(value, value) for value in label_values]
    per_subject: dict[str, int] = {}
    for subject in recordings.subjects.tolist():
        per_subject[subject] = per_subject.get(subject, 0) + 1
    return GroupedData(
        name, X[take["train"]], y[take["train"]], X[take["test"]], y[take["test"]], names, source,
        X_valid=X[take["valid"]], y_valid=y[take["valid"]],
        ids={p: {"subject": subjects[m], "trial": trials[m]} for p, m in take.items()},
        split=record, window=window, stride=stride,
        recordings=dict(sorted(per_subject.items(), key=lambda kv: splits._natural(kv[0]))),
    )  # fmt: skip
