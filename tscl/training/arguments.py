"""Checks of the Python API's call arguments, so a bad one fails by name instead of deep inside torch."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from tscl.errors import ConfigError, DataError


def check_count(name: str, value: Any, minimum: int = 1, hint: str | None = None) -> int | None:
    """``value`` when it is None or an integer >= ``minimum`` (numpy integers too); else a ConfigError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{name} must be {expected} or None but got {value!r}", hint=hint)
    return int(value)


# ContrastiveModel's own keyword arguments; the flat component options (tscl 0.1's names) come on top.
MODEL_ARGUMENTS = (
    "input_dims", "objective", "encoder", "loss", "views", "lr", "batch_size", "max_train_length", "seed",
    "device", "threads", "n_covariates", "task", "gather_negatives",
)  # fmt: skip


def check_model_options(layer: Mapping[str, Any]) -> None:
    """Refuse keys of a ContrastiveModel's nested flat options that no part of the model would use.

    The run configuration takes them (``iters``, ``dataset``, ...), so without this check they would pass
    its validation and then be ignored.
    """
    from tscl.config import SECTIONS, RunConfig
    from tscl.config_migration import LEGACY_PATHS
    from tscl.registry import unknown_option_error

    for key in layer:
        if key in SECTIONS:
            continue
        if key in ("iters", "epochs"):
            raise ConfigError(
                f"ContrastiveModel must not be given {key}: the training length is an argument of fit",
                hint=f"call fit(X, n_{key}=...) (the total, counting earlier fits)",
            )
        if key in RunConfig.model_fields:
            raise ConfigError(
                f"ContrastiveModel must not be given the run setting {key}: the model would ignore it",
                hint="leave it out, or put it in a tscl.RunConfig and call tscl.pretrain",
            )
        raise unknown_option_error("", key, "ContrastiveModel", dict.fromkeys([*MODEL_ARGUMENTS, *LEGACY_PATHS]))


def as_series_array(X: Any, what: str) -> np.ndarray:
    """``X`` (an array, nested lists or a torch tensor) as float32 ``[N, T, C]`` (``[N, T]``: one channel).

    Raises:
        DataError: Not numbers, complex numbers, inf, another shape, or no time step.
    """
    detach = getattr(X, "detach", None)
    if callable(detach):  # a torch tensor, perhaps requiring grad or on a GPU
        X = detach().cpu().numpy()
    try:
        raw = np.asarray(X)
        if raw.dtype.kind == "c":
            raise DataError(
                f"{what} must be real numbers but got {raw.dtype} values",
                hint="pass the real part (X.real) or the magnitude (np.abs(X))",
            )
        X = raw.astype(np.float32, copy=False)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"{what} must be an array [N, T, C] of numbers but got {type(X).__name__} that is not one ({exc})",
            hint="series of different lengths: pad them at the end with NaN",
        ) from None
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3:
        raise DataError(f"{what} must be an array [N, T, C] but got shape {X.shape}")
    if X.shape[1] == 0:
        raise DataError(f"{what} must have at least one time step but got shape {X.shape}")
    if np.isinf(X).any():
        raise DataError(f"{what} must not contain inf values", hint="replace them with NaN (missing)")
    return X


def check_model_arguments(flat: Mapping[str, Any], task: str | None, n_covariates: Any) -> int:
    """Check a ContrastiveModel's flat options, ``task`` and ``n_covariates``; the covariate count as an int."""
    check_model_options(flat)
    if task is not None:
        from tscl.tasks import TASKS

        if task not in TASKS:
            raise TASKS.unknown(task)
    return check_count("n_covariates", n_covariates, minimum=0) or 0


def check_covariates(n_covariates: int, input_dims: int) -> None:
    """The leading covariate channels must leave at least one channel of series."""
    if n_covariates >= input_dims:
        from tscl.text import plural

        raise DataError(
            f"the data must have more channels than n_covariates ({n_covariates}) but has "
            f"{plural(input_dims, 'channel')}",
            hint="n_covariates counts the leading calendar channels; the others are the series",
        )


def check_encode_arguments(mode: str, causal_window: Any, batch_size: Any) -> tuple[int | None, int | None]:
    """``causal_window`` and ``batch_size`` of ``ContrastiveModel.encode``, checked (with ``mode``)."""
    window = check_count("causal_window", causal_window, hint="the forecasting protocol uses 201")
    batch = check_count("batch_size", batch_size, hint="omit it for the default (64)")
    if mode not in ("instance", "timestamp"):
        raise ConfigError(f"mode must be 'instance' or 'timestamp' but got {mode!r}")
    if window is not None and mode != "timestamp":
        raise ConfigError("causal_window needs mode='timestamp'", hint="pass mode='timestamp'")
    return window, batch


def check_targets(n_iters: Any, n_epochs: Any) -> tuple[int | None, int | None]:
    """``fit``'s targets, each None or an integer >= 0 (totals, counting earlier fits)."""
    hint = "{} is the total, counting earlier fits"
    return (
        check_count("n_iters", n_iters, minimum=0, hint=hint.format("n_iters")),
        check_count("n_epochs", n_epochs, minimum=0, hint=hint.format("n_epochs")),
    )
