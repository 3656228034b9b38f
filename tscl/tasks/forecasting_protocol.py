"""Forecasting protocol of TS2Vec (Yue et al., AAAI 2022): a ridge head on frozen per-timestamp features.

The representation of timestamp t (computed causally elsewhere) predicts the next H target values; one ridge
regression per horizon, penalty chosen on the validation split, metrics on the test split. Everything here
works on precomputed numpy arrays, so it is independent of the encoder. The registered task that runs it on
a model, with its baselines and reports, is :class:`tscl.tasks.forecasting.ForecastingTask`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tscl.errors import ConfigError, DataError
from tscl.tasks.ridge import DEFAULT_ALPHAS, RidgeModel, fit_ridge_validated

__all__ = [
    "ForecastExamples",
    "ForecastingDataLike",
    "ForecastingEvaluation",
    "evaluate_forecasting",
    "fit_ridge_validated",
    "horizon_samples",
    "lag_features",
    "run_forecasting_protocol",
]

_METRICS = ("mse", "mae", "mse_raw", "mae_raw")
# Normalised-scale errors of the fitted head on the validation split (the split that picks alpha), so that
# settings can be compared without looking at the test split.
_VALID_METRICS = ("valid_mse", "valid_mae")


class ForecastingDataLike(Protocol):
    """The attributes of ``tscl.data.dataset.ForecastingData`` this module relies on."""

    name: str
    data: np.ndarray  # float32 [N_inst, T, n_covariates + n_targets], z-scored on train
    n_covariates: int
    train_slice: slice
    valid_slice: slice
    test_slice: slice
    horizons: tuple[int, ...]
    target_names: list[str]
    target_mean: np.ndarray  # [n_targets]
    target_std: np.ndarray  # [n_targets]
    univariate: bool


@dataclass(frozen=True)
class ForecastExamples:
    """A few test windows of one horizon on the raw scale, for plots (first instance only).

    Attributes:
        starts: Index t of each window's last observed step, relative to the start of the test slice, ``[W]``.
        history: Observed targets up to and including t, ``[W, L, K]``.
        truth: Targets at t+1 .. t+H, ``[W, H, K]``.
        pred: Ridge predictions of the same steps, ``[W, H, K]``.
    """

    starts: np.ndarray
    history: np.ndarray
    truth: np.ndarray
    pred: np.ndarray


@dataclass(frozen=True)
class ForecastingEvaluation:
    """Outcome of the forecasting protocol: a JSON-ready ``metrics`` dict plus arrays for plots."""

    metrics: dict[str, Any]
    examples: dict[int, ForecastExamples] = field(default_factory=dict)


def horizon_samples(
    features: np.ndarray, targets: np.ndarray, horizon: int, drop: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pair the features at t with the targets of steps t+1 .. t+H.

    Only t in [0, T-H-1] is used (the whole future must exist); then the first ``drop`` of those rows of
    every instance are dropped; instances are stacked in order.

    Args:
        features: Per-timestamp features ``[N, T, D]``.
        targets: Targets ``[N, T, K]`` aligned with ``features``.
        horizon: H >= 1.
        drop: Leading rows removed per instance (the training split's padding).

    Returns:
        ``(X [M, D], Y [M, H*K])`` with M = N * max(0, T - H - drop); a row of Y is time-major
        (step 1 all K channels, then step 2 ...).
    """
    if horizon < 1 or drop < 0:
        raise ConfigError(f"`horizon` must be >= 1 and `drop` >= 0 but got horizon={horizon}, drop={drop}")
    if features.ndim != 3 or targets.ndim != 3 or features.shape[:2] != targets.shape[:2]:
        raise DataError(
            f"`features` [N, T, D] and `targets` [N, T, K] must share N and T "
            f"but got {features.shape} and {targets.shape}"
        )
    n, length, dim = features.shape
    k = targets.shape[2]
    rows = max(0, length - horizon - drop)
    if rows == 0:
        return features[:, :0].reshape(0, dim), targets[:, :0].reshape(0, horizon * k)
    # windows[:, t] holds targets[:, t+1 : t+1+H] as [K, H]; transposed to time-major [H, K].
    windows = sliding_window_view(targets[:, 1:], horizon, axis=1)[:, drop : drop + rows]
    Y = windows.transpose(0, 1, 3, 2).reshape(n * rows, horizon * k)
    X = features[:, drop : drop + rows].reshape(n * rows, dim)
    return X, Y


def lag_features(data: ForecastingDataLike, window: int = 48, include_covariates: bool = False) -> np.ndarray:
    """Raw-input baseline: the last ``window`` steps of the input channels, flattened per timestamp.

    Row t holds ``data.data[:, t-window+1 .. t, :]`` (oldest step first) of the target channels, and of the
    calendar covariates too with ``include_covariates``, so it is causal like the learned representation.
    Covariates are left out by default: z-scored on a 12-month training split, day-of-year, month and week
    take values on the test split that a linear head extrapolates wildly (ETTh1 univariate, 48 lags: mean
    test MSE 8.8 with covariates, 0.093 without). Steps before the series start and NaN are zero (the
    neutral value of z-scored inputs). Why 48 and not the encoder's 201-step window: 201 * C features on up
    to 100 000 rows would make the ridge baseline slower than the encoder itself while adding mostly stale
    lags; 48 steps cover two days of hourly data (12 hours of 15-minute data) and keep the head tractable.

    Args:
        data: A forecasting dataset.
        window: Number of past steps, >= 1.
        include_covariates: Also lag the leading calendar covariate channels.

    Returns:
        float32 ``[N_inst, T, window * C]``.
    """
    if window < 1:
        raise ConfigError(f"`window` must be >= 1 but got {window}")
    x = np.asarray(data.data, dtype=np.float32)
    if not include_covariates:
        x = x[..., data.n_covariates :]
    x = np.nan_to_num(x, nan=0.0)
    n, length, channels = x.shape
    padded = np.concatenate([np.zeros((n, window - 1, channels), np.float32), x], axis=1)
    windows = sliding_window_view(padded, window, axis=1)  # [N, T, C, window]
    return np.ascontiguousarray(windows.transpose(0, 1, 3, 2)).reshape(n, length, window * channels)


def run_forecasting_protocol(
    reprs: np.ndarray,
    data: ForecastingDataLike,
    padding: int = 200,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    max_samples: int = 100_000,
    n_examples: int = 4,
) -> ForecastingEvaluation:
    """Run the forecasting protocol and keep a few test windows for plots.

    Args:
        reprs: Per-timestamp representations ``[N_inst, T, D]`` of ``data.data``.
        data: The dataset (targets are the channels after the ``n_covariates`` covariates).
        padding: Leading training rows dropped (their representation saw a NaN-padded window).
        alphas: Ridge penalties searched on the validation split.
        max_samples: Row cap for train and for validation.
        n_examples: Test windows kept per horizon in the result's ``examples``.

    Returns:
        The evaluation; ``metrics`` is ``{"task": "forecasting", "horizons": {"24": {"mse", "mae",
        "mse_raw", "mae_raw", "alpha"}, ...}, "mean": {...}}`` with metrics averaged over horizons.
    """
    targets = _check_inputs(reprs, data)
    mean, std = _target_scaler(data, *targets.shape[::2])
    per_horizon: dict[str, dict[str, float]] = {}
    examples: dict[int, ForecastExamples] = {}
    for horizon in data.horizons:
        samples = {}
        for split, part, drop in (
            ("train", data.train_slice, padding),
            ("valid", data.valid_slice, 0),
            ("test", data.test_slice, 0),
        ):
            X, Y = horizon_samples(reprs[:, part], targets[:, part], horizon, drop)
            if X.shape[0] == 0:
                raise DataError(
                    f"the {split} split of `{data.name}` must be longer than horizon {horizon}"
                    f"{' + padding' if split == 'train' else ''} but it yields no samples",
                    hint="use shorter horizons or a longer series",
                )
            samples[split] = _complete_windows(X, Y, targets.shape[0], split, data, horizon)
        (Xtr, Ytr, _), (Xva, Yva, va_inst), (Xte, Yte, te_inst) = samples["train"], samples["valid"], samples["test"]
        model, alpha, _ = fit_ridge_validated(Xtr, Ytr, Xva, Yva, alphas=alphas, max_samples=max_samples)
        valid = _test_metrics(model, Xva, Yva, std, horizon, va_inst)
        per_horizon[str(horizon)] = {
            **_test_metrics(model, Xte, Yte, std, horizon, te_inst),
            "valid_mse": valid["mse"], "valid_mae": valid["mae"], "alpha": alpha,
        }  # fmt: skip
        if n_examples > 0:
            test_reprs, test_targets = reprs[0, data.test_slice], targets[0, data.test_slice]
            examples[horizon] = _examples(model, test_reprs, test_targets, (mean[0], std[0]), horizon, n_examples)
    average = {name: float(np.mean([m[name] for m in per_horizon.values()])) for name in _METRICS + _VALID_METRICS}
    return ForecastingEvaluation({"task": "forecasting", "horizons": per_horizon, "mean": average}, examples)


def evaluate_forecasting(reprs: np.ndarray, data: ForecastingDataLike, padding: int = 200) -> dict[str, Any]:
    """The forecasting protocol's metrics dict (see :func:`run_forecasting_protocol`)."""
    return run_forecasting_protocol(reprs, data, padding=padding, n_examples=0).metrics


def _check_inputs(reprs: np.ndarray, data: ForecastingDataLike) -> np.ndarray:
    """Validate shapes and finiteness; return the target channels ``[N_inst, T, K]``."""
    if reprs.ndim != 3 or reprs.shape[:2] != data.data.shape[:2]:
        raise DataError(f"`reprs` must be [N_inst, T, D] with N_inst, T = {data.data.shape[:2]} but got {reprs.shape}")
    targets = target_values(data)
    if not np.isfinite(reprs).all():
        raise DataError(
            "`reprs` must be finite for the ridge head but contains NaN or inf",
            hint="encode NaN-padded windows with the encoder's NaN handling",
        )
    if np.isinf(targets).any():
        raise DataError("`targets` must be finite or NaN (missing) but contains inf", hint="replace inf by NaN")
    return targets


def _complete_windows(
    X: np.ndarray, Y: np.ndarray, n_inst: int, split: str, data: ForecastingDataLike, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the samples whose H future target values are all present (missing targets can be neither fitted
    nor scored); return ``(X, Y, instance index of each row)``.

    Raises:
        DataError: no sample of ``split`` has a complete future (missing values too dense for the horizon).
    """
    instance = np.repeat(np.arange(n_inst), Y.shape[0] // n_inst)
    complete = ~np.isnan(Y).any(axis=1)
    if complete.all():
        return X, Y, instance
    if not complete.any():
        raise DataError(
            f"the {split} split of `{data.name}` must have at least one window of {horizon} steps with every target "
            f"value present but each of its {Y.shape[0]} windows misses some",
            hint="fill or interpolate the missing values of the target columns, or use shorter horizons",
        )
    return X[complete], Y[complete], instance[complete]


def target_values(data: ForecastingDataLike) -> np.ndarray:
    """The channels to predict, ``[N_inst, T, K]``: ``data.target_channels`` when the data says (feature mode
    ``MS``: every variable in, the target out), else every channel after the covariates."""
    channels = getattr(data, "target_channels", None)
    if channels is None:
        return data.data[..., data.n_covariates :]
    return data.data[..., list(channels)]


def _target_scaler(data: ForecastingDataLike, n_inst: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The train-split scaler as ``(mean, std)`` of shape ``[N_inst, K]``.

    Either one entry per target channel, or — when variables are stored as instances (multivariate
    electricity: ``[321, T, 7 + 1]``) — one entry per instance.
    """
    mean = np.asarray(data.target_mean, np.float64).reshape(-1)
    std = np.asarray(data.target_std, np.float64).reshape(-1)
    if len(mean) == len(std) == k:
        return np.broadcast_to(mean, (n_inst, k)), np.broadcast_to(std, (n_inst, k))
    if k == 1 and len(mean) == len(std) == n_inst:
        return mean[:, None], std[:, None]
    raise DataError(
        f"`target_mean`/`target_std` must have one entry per target channel ({k}) or, with one target "
        f"channel, per instance ({n_inst}) but got {len(mean)}/{len(std)}"
    )


def _test_metrics(
    model: RidgeModel, X: np.ndarray, Y: np.ndarray, std: np.ndarray, horizon: int, instances: np.ndarray
) -> dict[str, float]:
    """MSE and MAE on the normalised and the raw scale, computed in row chunks to bound memory.

    ``instances`` gives each row's instance (see :func:`horizon_samples`); ``std`` is ``[N_inst, K]``.
    """
    scale = np.tile(std, (1, horizon))  # [N_inst, H*K], time-major like the columns of Y
    sums = dict.fromkeys(_METRICS, 0.0)
    step = max(1, 4_000_000 // max(1, Y.shape[1]))
    for start in range(0, Y.shape[0], step):
        error = model.predict(X[start : start + step]) - Y[start : start + step]
        instance = instances[start : start + error.shape[0]]
        raw_error = error * scale[instance]  # the mean cancels in pred_raw - truth_raw
        sums["mse"] += float(np.square(error).sum())
        sums["mae"] += float(np.abs(error).sum())
        sums["mse_raw"] += float(np.square(raw_error).sum())
        sums["mae_raw"] += float(np.abs(raw_error).sum())
    return {name: total / Y.size for name, total in sums.items()}


def _examples(
    model: RidgeModel,
    features: np.ndarray,
    targets: np.ndarray,
    scaler: tuple[np.ndarray, np.ndarray],
    horizon: int,
    count: int,
) -> ForecastExamples:
    """Evenly spaced test windows of one instance (features ``[T, D]``, targets ``[T, K]``), raw scale.

    ``scaler`` is that instance's ``(mean, std)``, each ``[K]``.
    """
    n_rows = targets.shape[0] - horizon
    history = min(horizon, n_rows)
    starts = np.unique(np.linspace(history - 1, n_rows - 1, count).astype(int))
    mean, std = scaler
    k = targets.shape[1]
    pred = model.predict(features[starts]).reshape(len(starts), horizon, k) * std + mean
    truth = np.stack([targets[t + 1 : t + 1 + horizon] for t in starts]) * std + mean
    past = np.stack([targets[t + 1 - history : t + 1] for t in starts]) * std + mean
    return ForecastExamples(starts=starts, history=past, truth=truth, pred=pred)
