"""Dataset objects handed to training and evaluation (the by-name loader is :func:`tscl.data.load.load_dataset`).

Contract (other packages code against it): ``X`` arrays are float32 ``[N, T, C]`` normalised per protocol,
NaN for missing values and trailing NaN padding; labels are int64 in ``0..K-1``. Each kind of dataset names
its evaluation task in ``task`` (a class attribute); ``tscl.tasks.task_for`` looks the task object up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


def series_lengths(X: np.ndarray) -> np.ndarray:
    """Length of each series in ``[N, T, C]``: one past the last step where any channel has a value."""
    if X.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    observed = ~np.isnan(X).all(axis=2)  # [N, T]
    last = X.shape[1] - np.argmax(observed[:, ::-1], axis=1)
    return np.where(observed.any(axis=1), last, 0).astype(np.int64)


def count_missing(X: np.ndarray) -> int:
    """NaN values inside the series, not counting the trailing padding of unequal lengths."""
    if X.size == 0:
        return 0
    inside = np.arange(X.shape[1])[None, :] < series_lengths(X)[:, None]  # [N, T]
    return int((np.isnan(X) & inside[:, :, None]).sum())


@dataclass
class ClassificationData:
    """A classification dataset with its official train/test split.

    Unlabelled arrays (a ``.npy`` file, or an ``.npz`` without ``y``) load with ``y_train``/``y_test`` None
    and no class names; an ``.npz`` with a single ``X`` has an empty test set ``[0, T, C]``.

    Attributes:
        name: dataset name.
        X_train: float32 ``[N, T, C]``, normalised per protocol, NaN padded.
        y_train: int64 ``[N]`` in ``0..K-1`` (None when unlabelled).
        X_test: float32 ``[M, T, C]``.
        y_test: int64 ``[M]`` (None when unlabelled).
        class_names: ``K`` original labels as strings; ``y == i`` means ``class_names[i]``.
        source: file path(s) or ``"aeon (bundled)"``.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray | None
    class_names: list[str]
    source: str
    task: ClassVar[str] = "classification"

    def pretrain_array(self) -> np.ndarray:
        """The array self-supervised pre-training sees: ``X_train``."""
        return self.X_train

    def info(self) -> dict[str, Any]:
        """JSON-able summary: sizes, lengths, channels, classes with counts, missing values, source."""
        lengths = np.concatenate([series_lengths(self.X_train), series_lengths(self.X_test)])
        low, high = int(lengths.min()), int(lengths.max())
        classes = []
        for index, class_name in enumerate(self.class_names):
            train = int((self.y_train == index).sum()) if self.y_train is not None else 0
            test = int((self.y_test == index).sum()) if self.y_test is not None else 0
            classes.append({"name": class_name, "train": train, "test": test})
        return {
            "name": self.name,
            "task": self.task,
            "n_train": int(self.X_train.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "length": low if low == high else None,
            "length_min": low,
            "length_max": high,
            "channels": int(self.X_train.shape[2]),
            "n_classes": len(self.class_names),
            "classes": classes,
            "labelled": self.y_train is not None,
            "missing": count_missing(self.X_train) + count_missing(self.X_test),
            "source": self.source,
        }


@dataclass
class ForecastingData:
    """A forecasting dataset: one long series (or one per variable) with calendar covariates first.

    Attributes:
        name: dataset name.
        data: float32 ``[N_inst, T, n_covariates + n_targets]``; covariates first; all z-scored on the train
            split. Usually ``N_inst == 1``; multivariate electricity has one instance per variable
            (``[321, T, 8]``).
        n_covariates: number of leading calendar channels (7).
        train_slice, valid_slice, test_slice: row ranges along ``T``.
        horizons: prediction lengths of the protocol.
        target_names: names of the target variables (one per target channel, or per instance for electricity).
        target_mean, target_std: ``[n_targets]`` train-split scaler, to return to the raw scale.
        timestamps: datetime64[ns] ``[T]``.
        univariate: whether only the target column was kept.
        source: the CSV path.
        variables: numeric columns in the file (7 for ETTh1), whatever ``univariate`` is.
        protocol: the forecasting protocol that chose the split and horizons (``ts2vec``, ``ltsf``).
        split_label: how the split was chosen (``12/4/4 months``, ``60/20/20``).
        features: ``S`` (the target alone), ``M`` (all variables in and out) or ``MS`` (all in, target out).
        target_channels: indices along the last axis of ``data`` of the channels to predict (None: every
            channel after the covariates); ``target_names``, ``target_mean`` and ``target_std`` describe them.
    """

    name: str
    data: np.ndarray
    n_covariates: int
    train_slice: slice
    valid_slice: slice
    test_slice: slice
    horizons: tuple[int, ...]
    target_names: list[str]
    target_mean: np.ndarray
    target_std: np.ndarray
    timestamps: np.ndarray
    univariate: bool
    source: str
    task: ClassVar[str] = "forecasting"
    variables: int | None = None
    protocol: str = "ts2vec"
    split_label: str = ""
    features: str = ""
    target_channels: tuple[int, ...] | None = None

    @property
    def feature_mode(self) -> str:
        """``S``, ``M`` or ``MS`` (data made before feature modes: from ``univariate``)."""
        return self.features or ("S" if self.univariate else "M")

    def targets(self) -> np.ndarray:
        """The channels to predict, ``[N_inst, T, K]``."""
        if self.target_channels is None:
            return self.data[..., self.n_covariates :]
        return self.data[..., list(self.target_channels)]

    @property
    def variables_as_instances(self) -> bool:
        """True when each target variable is a separate instance (multivariate electricity)."""
        return self.data.shape[-1] - self.n_covariates == 1 and len(self.target_names) == self.data.shape[0] > 1

    def pretrain_array(self) -> np.ndarray:
        """The array self-supervised pre-training sees: ``data[:, train_slice]``."""
        return self.data[:, self.train_slice]

    def to_raw(self, values: np.ndarray) -> np.ndarray:
        """Inverse-scale normalised target values to the file's units.

        Args:
            values: array whose last axis holds the targets (``[..., n_targets]``). When variables are
                instances (electricity multivariate), the first axis is the instance and the last has size 1.
        """
        if self.variables_as_instances:
            shape = (-1,) + (1,) * (values.ndim - 1)
            return values * self.target_std.reshape(shape) + self.target_mean.reshape(shape)
        return values * self.target_std + self.target_mean

    def info(self) -> dict[str, Any]:
        """JSON-able summary: timestamps, variables, channels, splits, horizons, target, missing, source."""
        splits = {
            part: {"start": int(s.start), "end": int(s.stop)}
            for part, s in (
                ("train", self.train_slice),
                ("valid", self.valid_slice),
                ("test", self.test_slice),
            )
        }
        return {
            "name": self.name,
            "task": self.task,
            "timestamps": int(len(self.timestamps)),
            "first": str(self.timestamps[0])[:19],
            "last": str(self.timestamps[-1])[:19],
            "variables": self.variables if self.variables is not None else len(self.target_names),
            "instances": int(self.data.shape[0]),
            "channels": int(self.data.shape[-1]),
            "covariates": self.n_covariates,
            "univariate": self.univariate,
            "target": list(self.target_names),
            "splits": splits,
            "horizons": list(self.horizons),
            "protocol": self.protocol,
            "split": self.split_label,
            "features": self.feature_mode,
            "missing": int(np.isnan(self.data[..., self.n_covariates :]).sum()),
            "source": self.source,
        }
