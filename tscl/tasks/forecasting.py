"""The forecasting task: TS2Vec's protocol (Yue et al., AAAI 2022) on a run's encoder, with baselines and reports.

Step t of the series is represented by encoding only the window x[t-200 .. t] (causal, 201 steps); one ridge
head per horizon predicts the next H targets (:mod:`tscl.tasks.forecasting_protocol`). Baselines get the same
heads: a randomly initialised encoder of the same architecture, and the raw inputs (the last 48 target
values, :func:`~tscl.tasks.forecasting_protocol.lag_features`). Published numbers are the objective's
``paper["forecasting"][(dataset, univariate)]``: ``{horizon: (mse, mae), ..., "mean": (mse, mae)}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, model_validator
from rich.table import Table

from tscl.errors import ConfigError
from tscl.forecasting_protocols import DEFAULT_PROTOCOL, ForecastingSetting, list_protocols
from tscl.registry import Options
from tscl.tasks.base import RANDOM, RAW, Encoder, Task, report_columns, report_title, timed
from tscl.tasks.forecasting_checks import (
    comparable_paper,
    features_text,
    protocol_text,
    setting_record,
)
from tscl.tasks.report import best_cells, format_metric

__all__ = ["ENCODING_WINDOW", "ForecastingOptions", "ForecastingTask", "forecasting_table"]

ENCODING_WINDOW = 201  # steps the causal representation of one timestamp sees (the protocol's padding + 1)
_ERRORS = ("mse", "mae")
_ROW_KEYS = ("mse", "mae", "mse_raw", "mae_raw", "valid_mse", "valid_mae")


class ForecastingOptions(Options):
    """Options of the forecasting task: the protocol and what to change of it (defaults: TS2Vec's protocol)."""

    protocol: str = Field(DEFAULT_PROTOCOL, description=f"Forecasting protocol: {', '.join(list_protocols())}.")
    horizons: list[int] | None = Field(None, description="Prediction lengths (None: the protocol's).")
    split: list[float] | str | None = Field(
        None, description="Train/valid/test fractions, or a protocol whose split to use (None: the protocol's)."
    )
    features: str | None = Field(None, description="M, MS or S (None: S for univariate runs, else M).")

    @model_validator(mode="after")
    def _valid(self) -> ForecastingOptions:
        ForecastingSetting.from_options(self.protocol, self.horizons, self.split, self.features)
        return self


class ForecastingTask(Task):
    """Forecasting: ridge heads on causal per-timestamp representations; MSE and MAE per horizon.

    Args: the fields of :class:`ForecastingOptions` (they describe the data it is given, which
        :func:`tscl.data.load_dataset` prepares with the same setting).
    """

    Options = ForecastingOptions
    name = "forecasting"
    headline_names = _ERRORS
    validation_names = ("valid_mse",)
    metric_labels = {"valid_mse": "valid MSE"}
    validation_lower_is_better = True
    same_setting = " and the same --univariate/--multivariate setting"

    def __init__(
        self,
        protocol: str = DEFAULT_PROTOCOL,
        horizons: Sequence[int] | None = None,
        split: Sequence[float] | str | None = None,
        features: str | None = None,
    ) -> None:
        self.setting = ForecastingSetting.from_options(protocol, horizons, split, features)

    def protocol(self) -> str:
        """``forecasting``, or with what differs from the defaults: ``forecasting-ltsf-h24-36-MS``."""
        label = self.setting.label()
        return f"{self.name}-{label}" if label else self.name

    def protocol_settings(self) -> dict[str, Any]:
        return self.setting.to_dict()

    def check_data(self, data: Any, config: Any, own: bool) -> None:
        """The feature mode matches the run's inputs, every horizon fits every split, and (``own``: the run's
        dataset) the test split starts after the rows the encoder was pretrained on."""
        from tscl.tasks.forecasting_checks import check_features, check_forecasting_data

        check_features(self.setting.features, bool(config.univariate), str(config.dataset))
        check_forecasting_data(data, own)

    # -- the dataset hooks ----------------------------------------------------------------------------------
    def channels(self, data: Any) -> int:
        return int(data.data.shape[-1])

    def covariate_channels(self, data: Any) -> int:
        return int(data.n_covariates)

    def split_array(self, data: Any, split: str) -> np.ndarray:
        """The whole series, for ``split`` ``all`` only: the protocol represents every step, then splits by time,
        so the series has no part of its own to encode.

        Raises:
            ConfigError: ``split`` is another part (``train``, ``valid``, ``test``) or no part at all.
        """
        if split != "all":
            raise ConfigError(
                f"split (--split) must be all for forecasting data (the whole series is encoded; the protocol splits "
                f"its representations by time) but got {split!r}",
                hint="drop --split, or pass --split all",
            )
        return data.data

    def held_out_windows(self, data: Any, length: int) -> tuple[np.ndarray, str]:
        """Non-overlapping ``length``-step windows of the validation split."""
        series = data.data[:, data.valid_slice]
        count = series.shape[1] // length
        windows = series[:, : count * length].reshape(series.shape[0] * count, length, series.shape[2])
        return windows, f"validation split, {length}-step windows"

    # -- evaluating --------------------------------------------------------------------------------------
    def evaluate(
        self,
        model: Encoder,
        data: Any,
        *,
        baseline: Encoder | None,
        objective: str,
        seed: int,
        timings: dict[str, float],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """See :meth:`Task.evaluate`; ``seed`` is unused: the ridge subsample is the reference's (seed 0)."""
        from tscl.tasks.forecasting_protocol import run_forecasting_protocol

        del seed
        reprs = timed(timings, "encode_s", _causal, model, data)
        ours = timed(timings, "head_s", run_forecasting_protocol, reprs, data)
        metrics = dict(ours.metrics)
        metrics["univariate"] = bool(data.univariate)
        metrics["baselines"] = {} if baseline is None else _baselines(baseline, data, timings)
        paper = self._published_numbers(objective, data.name, bool(data.univariate))
        metrics["paper"] = comparable_paper(paper, data, self.setting)
        metrics.update(setting_record(data))
        return metrics, {"examples": ours.examples}

    def metric_rows(self, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One row per model and horizon, then its mean row."""
        rows: list[dict[str, Any]] = []
        for name, result in report_columns(metrics).items():
            for horizon, values in {**result["horizons"], "mean": result["mean"]}.items():
                rows.append({"model": name, "horizon": horizon, **{key: values.get(key) for key in _ROW_KEYS}})
        return rows

    def plots(self, folder: Path, metrics: Mapping[str, Any], extras: Mapping[str, Any], data: Any) -> None:
        """``forecasts.png`` (a few test windows per horizon) and ``mse_by_horizon.png``."""
        from tscl.tasks.plots import plot_forecasts, plot_metric_by_horizon

        examples = extras["examples"]
        if examples:
            plot_forecasts(
                {h: e.truth for h, e in examples.items()}, {h: e.pred for h, e in examples.items()},
                folder / "forecasts.png", history={h: e.history for h, e in examples.items()},
                title=f"{data.name}: forecast vs truth (test)",
            )  # fmt: skip
        columns = report_columns(metrics)
        if metrics.get("paper"):
            columns["paper"] = metrics["paper"]
        plot_metric_by_horizon(columns, folder / "mse_by_horizon.png", title=f"{data.name}: test MSE")

    # -- reporting ---------------------------------------------------------------------------------------
    def tables(self, metrics: Mapping[str, Any]) -> list[Table]:
        """Normalised errors beside the paper, raw-scale errors, and the validation split's errors."""
        columns = report_columns(metrics)
        name = f"{report_title(metrics)} · {features_text(metrics)}"
        tables = [
            forecasting_table(columns, metrics.get("paper"), title=f"{name} (normalised)"),
            forecasting_table(columns, None, raw=True, title=f"{name} (raw scale)"),
        ]
        if "valid_mse" in metrics.get("mean", {}):  # metrics.json written before validation errors existed
            tables.append(forecasting_table(columns, None, valid=True, title=f"{name} (validation split, normalised)"))
        tables[0].caption = protocol_text(metrics)  # once: the tables share the setting
        return tables

    def headline_source(self, metrics: Mapping[str, Any]) -> Mapping[str, Any]:
        """The errors averaged over horizons."""
        return metrics.get("mean", {})

    def headline_text(self, metrics: Mapping[str, Any]) -> str:
        mean = metrics.get("mean", {})
        text = f"MSE {mean.get('mse', float('nan')):.3f} / MAE {mean.get('mae', float('nan')):.3f}"
        protocol = str((metrics.get("provenance") or {}).get("protocol") or self.name)
        label = protocol.removeprefix(f"{self.name}-") if protocol != self.name else ""
        return f"{text} ({label})" if label else text

    def published(self, objective: str, dataset: str, univariate: bool = False) -> dict[str, Any] | None:
        """``{"horizons": {"24": {"mse", "mae"}, ...}, "mean": {"mse", "mae"}}`` of the paper, or None.

        ``horizons`` is empty when only the mean is published; the mean is the published one, else the
        average of the horizons (4 decimals). None unless this task runs the paper's protocol (TS2Vec's split,
        horizons and feature modes): numbers of another setting are not comparable.
        """
        if not self.setting.is_default:
            return None
        return self._published_numbers(objective, dataset, univariate)

    def _published_numbers(self, objective: str, dataset: str, univariate: bool) -> dict[str, Any] | None:
        table = {(name.lower(), setting): numbers for (name, setting), numbers in self.paper(objective).items()}
        numbers = table.get((dataset.lower(), univariate), {})
        per_horizon = sorted((h, values) for h, values in numbers.items() if isinstance(h, int))
        horizons = {str(h): dict(zip(_ERRORS, values, strict=True)) for h, values in per_horizon}
        if "mean" in numbers:
            mean = dict(zip(_ERRORS, numbers["mean"], strict=True))
        elif horizons:
            mean = {m: round(sum(v[m] for v in horizons.values()) / len(horizons), 4) for m in _ERRORS}
        else:
            return None
        return {"horizons": horizons, "mean": mean}


def _causal(model: Encoder, data: Any) -> np.ndarray:
    """Per-timestamp causal representations ``[N_inst, T, D]`` of the whole series."""
    return model.encode(data.data, mode="timestamp", causal_window=ENCODING_WINDOW)


def _baselines(baseline: Encoder, data: Any, timings: dict[str, float]) -> dict[str, Any]:
    """The protocol's metrics on a random-init encoder's representations and on lagged raw inputs."""
    from tscl.tasks.forecasting_protocol import lag_features, run_forecasting_protocol

    random_reprs = timed(timings, "baseline_s", _causal, baseline, data)
    random = timed(timings, "baseline_s", run_forecasting_protocol, random_reprs, data, n_examples=0)
    raw = timed(timings, "baseline_s", run_forecasting_protocol, lag_features(data), data, n_examples=0)
    return {RANDOM: random.metrics, RAW: raw.metrics}


def forecasting_table(
    results: Mapping[str, Mapping[str, Any]],
    paper: Mapping[str, Any] | None = None,
    raw: bool = False,
    title: str | None = None,
    digits: int = 3,
    valid: bool = False,
) -> Table:
    """Forecasting metrics: one row per horizon plus a mean row, MSE and MAE columns per result.

    Args:
        results: Column name -> the protocol's metrics dict.
        paper: Published numbers (normalised scale) shaped like a result, or None; shown unless ``raw``.
        raw: Show ``mse_raw`` / ``mae_raw`` instead of the normalised metrics.
        title: Table title.
        digits: Decimals shown.
        valid: Show the validation-split errors ``valid_mse`` / ``valid_mae`` (normalised; no paper column).

    Returns:
        The rich table; the best value of each row and metric among ``results`` is bold.
    """
    keys = ("valid_mse", "valid_mae") if valid else ("mse_raw", "mae_raw") if raw else _ERRORS
    columns: dict[str, Mapping[str, Any]] = dict(results)
    if paper is not None and not raw and not valid:
        columns["paper"] = paper
    scale = "validation split, normalised" if valid else "raw scale" if raw else "normalised scale"
    table = Table(title=title or f"Forecasting ({scale})")
    table.add_column("horizon", justify="right")
    for name in columns:
        for key in keys:
            table.add_column(f"{name} {key.removeprefix('valid_').split('_')[0].upper()}", justify="right")
    horizons = sorted({h for r in columns.values() for h in r.get("horizons", {})}, key=int)
    rows: list[tuple[str, list[Mapping[str, Any]]]] = [
        (h, [r.get("horizons", {}).get(h, {}) for r in columns.values()]) for h in horizons
    ]
    rows.append(("mean", [r.get("mean", {}) for r in columns.values()]))
    for index, (label, entries) in enumerate(rows):
        if index == len(rows) - 1:
            table.add_section()
        per_key = {
            key: best_cells([e.get(key) for e in entries[: len(results)]], digits, lower_is_better=True)
            + [format_metric(e.get(key), digits) for e in entries[len(results) :]]
            for key in keys
        }
        table.add_row(label, *[per_key[key][i] for i in range(len(entries)) for key in keys])
    return table
