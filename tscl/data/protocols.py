"""Preprocessing protocol of the TS2Vec reference (Yue et al., AAAI 2022), as in ``spec/ts2vec.md``.

Forecasting: seven calendar covariates and the target columns are z-scored with statistics of the train
split only; fixed ETT splits, 60/20/20 otherwise; per-dataset horizons. Classification: UCR sets are
re-normalised with the global train mean/std only when the archive did not normalise them; UEA sets get a
per-channel scaler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tscl.errors import DataError
from tscl.forecasting_protocols import DEFAULT_PROTOCOL, ForecastingSetting, get_protocol

COVARIATE_NAMES = ("minute", "hour", "day_of_week", "day_of_month", "day_of_year", "month", "iso_week")

# UCR 2018 sets that the archive does not z-normalise; the reference normalises exactly these (global train
# mean/std) and passes every other UCR set through unchanged.
UCR_NOT_NORMALISED = frozenset(
    {
        "AllGestureWiimoteX", "AllGestureWiimoteY", "AllGestureWiimoteZ", "BME", "Chinatown", "Crop",
        "EOGHorizontalSignal", "EOGVerticalSignal", "Fungi", "GestureMidAirD1", "GestureMidAirD2",
        "GestureMidAirD3", "GesturePebbleZ1", "GesturePebbleZ2", "GunPointAgeSpan",
        "GunPointMaleVersusFemale", "GunPointOldVersusYoung", "HouseTwenty", "InsectEPGRegularTrain",
        "InsectEPGSmallTrain", "MelbournePedestrian", "PickupGestureWiimoteZ", "PigAirwayPressure",
        "PigArtPressure", "PigCVP", "PLAID", "PowerCons", "Rock", "SemgHandGenderCh2",
        "SemgHandMovementCh2", "SemgHandSubjectCh2", "ShakeGestureWiimoteZ", "SmoothSubspace", "UMD",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Standardizer:
    """Per-feature z-scoring like sklearn's ``StandardScaler``: NaN ignored, zero variance -> scale 1.

    Attributes:
        mean: ``[F]`` mean of each feature (last axis).
        std: ``[F]`` population standard deviation (ddof 0), 1 where it is 0.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, feature_names: list[str] | None = None) -> Standardizer:
        """Fit on ``values[..., F]``, reducing over every axis but the last.

        Raises:
            DataError: a feature has no value at all in ``values``.
        """
        flat = np.asarray(values, dtype=np.float64).reshape(-1, values.shape[-1])
        empty = np.isnan(flat).all(axis=0)
        if empty.any():
            index = int(np.flatnonzero(empty)[0])
            name = feature_names[index] if feature_names else f"channel {index}"
            raise DataError(
                f"{name} must have at least one value in the train split but all are missing",
                "drop that column/channel or fill the missing values",
            )
        mean = np.nanmean(flat, axis=0)
        std = np.nanstd(flat, axis=0)
        std = np.where(std == 0, 1.0, std)
        return cls(mean=mean, std=std)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Z-score ``values[..., F]``."""
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`."""
        return values * self.std + self.mean


def calendar_covariates(timestamps: np.ndarray) -> np.ndarray:
    """The seven raw calendar features of each timestamp: float64 ``[T, 7]`` in ``COVARIATE_NAMES`` order."""
    import pandas as pd  # imported where used: 0.2 s that only CSV data need

    index = pd.DatetimeIndex(timestamps)
    columns = [
        index.minute,
        index.hour,
        index.dayofweek,
        index.day,
        index.dayofyear,
        index.month,
        index.isocalendar().week,
    ]
    return np.stack([np.asarray(column, dtype=np.float64) for column in columns], axis=1)


def _ett_kind(name: str) -> str | None:
    match = re.fullmatch(r"ett([hm])\d*", name.lower())
    return match.group(1) if match else None


def forecasting_splits(name: str, n_rows: int) -> tuple[slice, slice, slice]:
    """Train/valid/test row ranges of the TS2Vec protocol: ETTh* 12/4/4 months of hours, ETTm* in quarter
    hours, else 60/20/20 (other protocols: :mod:`tscl.forecasting_protocols`).

    Raises:
        DataError: the series is too short for its split.
    """
    return ForecastingSetting().resolve(name, n_rows, univariate=False).splits


def forecasting_horizons(name: str) -> tuple[int, ...]:
    """Prediction lengths of the TS2Vec protocol: ETTm* {24, 48, 96, 288, 672}; others {24, 48, 168, 336, 720}."""
    return get_protocol(DEFAULT_PROTOCOL).horizons_for(name)


def default_target(name: str, columns: list[str]) -> str:
    """Univariate target: ``OT`` for ETT, ``MT_001`` for electricity, else the last numeric column."""
    if _ett_kind(name) is not None and "OT" in columns:
        return "OT"
    if name.lower() == "electricity" and "MT_001" in columns:
        return "MT_001"
    return columns[-1]


def variables_as_instances(name: str, univariate: bool) -> bool:
    """Whether each variable becomes its own instance (multivariate electricity, as the reference does)."""
    return name.lower() == "electricity" and not univariate


def normalise_ucr(name: str, X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference UCR rule: sets in :data:`UCR_NOT_NORMALISED` get global train nanmean/nanstd; others pass.

    Float32 arrays are scaled in place.
    """
    if name not in UCR_NOT_NORMALISED:
        return X_train, X_test
    mean, std = channel_moments(X_train.reshape(len(X_train), -1, 1))  # every value as one channel
    return _scaled(X_train, mean, std), _scaled(X_test, mean, std)


def normalise_uea(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference UEA rule: a per-channel scaler fit on the train series (NaN ignored).

    Float32 arrays are scaled in place, a block of cases at a time, so a large dataset needs no copy.

    Raises:
        DataError: a channel has no value at all in the train series.
    """
    mean, std = channel_moments(X_train)
    return _scaled(X_train, mean, std), _scaled(X_test, mean, std)


def _blocks(X: np.ndarray) -> range:
    """Start indices of blocks of cases of about 260 000 values each (2 MB in float64)."""
    step = max(1, (1 << 18) // max(1, X[0].size if len(X) else 1))
    return range(0, len(X), step)


def channel_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel NaN-ignoring mean and population std (1 where it is 0) of ``[N, T, C]``, in float64,
    computed a block of cases at a time (two passes, as ``np.nanmean``/``np.nanstd`` do).

    Raises:
        DataError: a channel has no value at all.
    """
    channels = X.shape[-1]
    count, total = np.zeros(channels), np.zeros(channels)
    step = _blocks(X).step
    for start in _blocks(X):
        block = X[start : start + step].reshape(-1, channels).astype(np.float64)
        count += (~np.isnan(block)).sum(axis=0)
        total += np.nansum(block, axis=0)
    if (count == 0).any():
        index = int(np.flatnonzero(count == 0)[0])
        raise DataError(
            f"channel {index} must have at least one value in the train split but all are missing",
            "drop that column/channel or fill the missing values",
        )
    mean = total / count
    squares = np.zeros(channels)
    for start in _blocks(X):
        block = X[start : start + step].reshape(-1, channels).astype(np.float64)
        squares += np.nansum((block - mean) ** 2, axis=0)
    std = np.sqrt(squares / count)
    return mean, np.where(std == 0, 1.0, std)


def _scaled(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(X - mean) / std`` computed in float64 a block at a time and stored in ``X`` (made float32 first)."""
    out = X if X.dtype == np.float32 else X.astype(np.float32)
    step = _blocks(out).step
    for start in _blocks(out):
        out[start : start + step] = (out[start : start + step] - mean) / std
    return out
