"""Tests of the forecasting task on small synthetic arrays (unit tests, not benchmarks): its protocol, its dataset
hooks, baselines, CSV rows, report tables and headline."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from tscl.errors import ConfigError, DataError
from tscl.tasks import create_task
from tscl.tasks.forecasting_protocol import (
    evaluate_forecasting,
    fit_ridge_validated,
    horizon_samples,
    lag_features,
    run_forecasting_protocol,
)


@dataclass
class FakeForecastingData:
    """Stand-in satisfying the ForecastingData contract."""

    data: np.ndarray
    n_covariates: int = 2
    train_slice: slice = field(default_factory=lambda: slice(0, 240))
    valid_slice: slice = field(default_factory=lambda: slice(240, 320))
    test_slice: slice = field(default_factory=lambda: slice(320, 400))
    horizons: tuple[int, ...] = (2, 5)
    name: str = "synthetic"
    target_names: list[str] = field(default_factory=lambda: ["a", "b"])
    target_mean: np.ndarray = field(default_factory=lambda: np.array([10.0, -3.0]))
    target_std: np.ndarray = field(default_factory=lambda: np.array([2.0, 0.5]))
    univariate: bool = False


def _synthetic(seed: int = 0) -> tuple[np.ndarray, FakeForecastingData]:
    rng = np.random.default_rng(seed)
    t = np.arange(400)
    covariates = np.stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 24)], axis=-1)
    targets = np.stack([np.sin(2 * np.pi * t / 24 + 0.3), np.cos(2 * np.pi * t / 50)], axis=-1)
    targets = targets + 0.3 * rng.normal(size=targets.shape)
    data = np.concatenate([covariates, targets], axis=-1)[None].astype(np.float32)
    reprs = np.concatenate([data, rng.normal(size=(1, 400, 3)).astype(np.float32)], axis=-1)
    return reprs, FakeForecastingData(data=data)


def test_horizon_samples_hand_computed() -> None:
    features = np.arange(6, dtype=float).reshape(1, 6, 1) * 10  # feature at t = 10 t
    targets = np.stack([np.arange(6), 100 + np.arange(6)], axis=-1).reshape(1, 6, 2).astype(float)
    X, Y = horizon_samples(features, targets, horizon=2)
    # t in [0, T-H-1] = [0, 3]; row t = targets[t+1], targets[t+2], time-major over the 2 channels.
    np.testing.assert_array_equal(X[:, 0], [0, 10, 20, 30])
    expected = [[1, 101, 2, 102], [2, 102, 3, 103], [3, 103, 4, 104], [4, 104, 5, 105]]
    np.testing.assert_array_equal(Y, expected)
    X_drop, Y_drop = horizon_samples(features, targets, horizon=2, drop=1)
    np.testing.assert_array_equal(X_drop[:, 0], [10, 20, 30])
    np.testing.assert_array_equal(Y_drop, expected[1:])


def test_horizon_samples_stacks_instances_and_drops_per_instance() -> None:
    features = np.arange(2 * 5 * 1, dtype=float).reshape(2, 5, 1)
    targets = features + 0.5
    X, Y = horizon_samples(features, targets, horizon=1, drop=2)
    # per instance t in [0, 3] minus the first 2 -> t = 2, 3
    np.testing.assert_array_equal(X[:, 0], [2, 3, 7, 8])
    np.testing.assert_array_equal(Y[:, 0], [3.5, 4.5, 8.5, 9.5])


def test_horizon_samples_too_short_is_empty_and_bad_arguments_raise() -> None:
    X, Y = horizon_samples(np.zeros((1, 4, 3)), np.zeros((1, 4, 2)), horizon=4)
    assert X.shape == (0, 3) and Y.shape == (0, 8)
    with pytest.raises(ConfigError):
        horizon_samples(np.zeros((1, 4, 3)), np.zeros((1, 4, 2)), horizon=0)
    with pytest.raises(DataError):
        horizon_samples(np.zeros((1, 4, 3)), np.zeros((1, 5, 2)), horizon=1)


def test_lag_features_are_causal_zero_padded_windows() -> None:
    data = np.arange(1 * 5 * 2, dtype=np.float32).reshape(1, 5, 2)
    data[0, 1, 0] = np.nan
    lags = lag_features(FakeForecastingData(data=data, n_covariates=0), window=3)
    assert lags.shape == (1, 5, 6) and lags.dtype == np.float32
    np.testing.assert_array_equal(lags[0, 0], [0, 0, 0, 0, 0, 1])  # two padded steps, then t = 0
    np.testing.assert_array_equal(lags[0, 2], [0, 1, 0, 3, 4, 5])  # t = 0..2, NaN -> 0
    np.testing.assert_array_equal(lags[0, 4], [4, 5, 6, 7, 8, 9])


def test_lag_features_leave_out_covariates_unless_asked() -> None:
    data = np.arange(1 * 4 * 3, dtype=np.float32).reshape(1, 4, 3)  # one covariate, two targets
    fake = FakeForecastingData(data=data, n_covariates=1)
    targets_only = lag_features(fake, window=2)
    assert targets_only.shape == (1, 4, 4)
    np.testing.assert_array_equal(targets_only[0, 1], [1, 2, 4, 5])
    assert lag_features(fake, window=2, include_covariates=True).shape == (1, 4, 6)


def test_evaluate_forecasting_result_layout_is_json_ready() -> None:
    reprs, data = _synthetic()
    result = evaluate_forecasting(reprs, data, padding=10)
    assert result["task"] == "forecasting"
    assert set(result["horizons"]) == {"2", "5"}
    for entry in result["horizons"].values():
        assert set(entry) == {"mse", "mae", "mse_raw", "mae_raw", "valid_mse", "valid_mae", "alpha"}
        assert all(np.isfinite(v) for v in entry.values())
    for key in ("mse", "mae", "mse_raw", "mae_raw", "valid_mse", "valid_mae"):
        assert result["mean"][key] == pytest.approx(np.mean([e[key] for e in result["horizons"].values()]))
    json.dumps(result)  # no arrays inside


def test_metrics_match_a_manual_protocol_with_inverse_scaling() -> None:
    reprs, data = _synthetic()
    result = evaluate_forecasting(reprs, data, padding=10)
    targets = data.data[..., 2:]
    for horizon in data.horizons:
        Xtr, Ytr = horizon_samples(reprs[:, :240], targets[:, :240], horizon, drop=10)
        Xva, Yva = horizon_samples(reprs[:, 240:320], targets[:, 240:320], horizon)
        Xte, Yte = horizon_samples(reprs[:, 320:], targets[:, 320:], horizon)
        model, alpha, _ = fit_ridge_validated(Xtr, Ytr, Xva, Yva)
        pred = model.predict(Xte).reshape(-1, horizon, 2)
        truth = Yte.reshape(-1, horizon, 2)
        pred_raw = pred * data.target_std + data.target_mean
        truth_raw = truth * data.target_std + data.target_mean
        entry = result["horizons"][str(horizon)]
        assert entry["alpha"] == alpha
        assert entry["mse"] == pytest.approx(np.mean((pred - truth) ** 2), rel=1e-6)
        assert entry["mae"] == pytest.approx(np.mean(np.abs(pred - truth)), rel=1e-6)
        assert entry["mse_raw"] == pytest.approx(np.mean((pred_raw - truth_raw) ** 2), rel=1e-6)
        assert entry["mae_raw"] == pytest.approx(np.mean(np.abs(pred_raw - truth_raw)), rel=1e-6)
        # The same head (fitted on train, alpha chosen on validation) scored on the validation split.
        valid_error = model.predict(Xva) - Yva
        assert entry["valid_mse"] == pytest.approx(np.mean(valid_error**2), rel=1e-6)
        assert entry["valid_mae"] == pytest.approx(np.mean(np.abs(valid_error)), rel=1e-6)


def test_test_split_never_influences_alpha_selection() -> None:
    reprs, data = _synthetic()
    baseline = evaluate_forecasting(reprs, data, padding=10)
    rng = np.random.default_rng(9)
    perturbed_data = data.data.copy()
    perturbed_data[:, 320:, 2:] += rng.normal(scale=5.0, size=perturbed_data[:, 320:, 2:].shape)
    perturbed_reprs = reprs.copy()
    perturbed_reprs[:, 320:] += rng.normal(scale=5.0, size=perturbed_reprs[:, 320:].shape)
    perturbed = evaluate_forecasting(perturbed_reprs, dataclasses.replace(data, data=perturbed_data), 10)
    for horizon, entry in baseline["horizons"].items():
        assert perturbed["horizons"][horizon]["alpha"] == entry["alpha"]
        assert perturbed["horizons"][horizon]["mse"] != pytest.approx(entry["mse"])
        # Validation errors (what defaults are tuned on) do not see the test split either.
        assert perturbed["horizons"][horizon]["valid_mse"] == pytest.approx(entry["valid_mse"], rel=1e-9)


def test_validation_split_does_drive_alpha_selection() -> None:
    reprs, data = _synthetic()
    flat = data.data.copy()
    flat[:, 240:320, 2:] = 0.0  # validation targets at the mean: maximal shrinkage wins
    result = evaluate_forecasting(reprs, dataclasses.replace(data, data=flat), padding=10)
    assert {e["alpha"] for e in result["horizons"].values()} == {1000.0}


def test_examples_hold_raw_scale_windows_for_plots() -> None:
    reprs, data = _synthetic()
    evaluation = run_forecasting_protocol(reprs, data, padding=10, n_examples=3)
    example = evaluation.examples[5]
    assert example.truth.shape == (3, 5, 2) and example.pred.shape == (3, 5, 2)
    assert example.history.shape == (3, 5, 2)
    start = int(example.starts[0])
    expected = data.data[0, 320 + start + 1 : 320 + start + 6, 2:] * data.target_std + data.target_mean
    np.testing.assert_allclose(example.truth[0], expected, rtol=1e-6)


def test_inputs_are_validated() -> None:
    reprs, data = _synthetic()
    with pytest.raises(DataError, match="reprs"):
        evaluate_forecasting(reprs[:, :100], data)
    bad = reprs.copy()
    bad[0, 3, 0] = np.nan
    with pytest.raises(DataError, match="finite"):
        evaluate_forecasting(bad, data, padding=10)
    with pytest.raises(DataError, match="train split"):
        evaluate_forecasting(reprs, data, padding=239)


def test_missing_targets_drop_only_the_windows_that_need_them() -> None:
    """A gap in a target column (NaN, as the CSV reader gives missing cells) removes the windows whose future
    crosses it; every other window is fitted and scored as before, and the metrics stay finite."""
    reprs, data = _synthetic()
    gappy = dataclasses.replace(data, data=data.data.copy())
    gappy.data[0, 100:110, 3] = np.nan  # train
    gappy.data[0, 360, 2] = np.nan  # test
    result = evaluate_forecasting(reprs, gappy, padding=10)
    targets = gappy.data[..., 2:]
    for horizon in gappy.horizons:
        split = {}
        for name, part, drop in (
            ("train", slice(0, 240), 10),
            ("valid", slice(240, 320), 0),
            ("test", slice(320, 400), 0),
        ):
            X, Y = horizon_samples(reprs[:, part], targets[:, part], horizon, drop)
            keep = ~np.isnan(Y).any(axis=1)
            split[name] = (X[keep], Y[keep])
        model, alpha, _ = fit_ridge_validated(*split["train"], *split["valid"])
        Xte, Yte = split["test"]
        entry = result["horizons"][str(horizon)]
        assert entry["alpha"] == alpha
        assert entry["mse"] == pytest.approx(np.mean((model.predict(Xte) - Yte) ** 2), rel=1e-6)
        assert all(np.isfinite(v) for v in entry.values())


def test_targets_missing_in_every_window_are_refused_by_split() -> None:
    reprs, data = _synthetic()
    sparse = dataclasses.replace(data, data=data.data.copy())
    sparse.data[0, 320::3, 2] = np.nan  # every test window of 5 steps misses one
    with pytest.raises(DataError, match="test split of `synthetic` must have at least one window of 5 steps") as info:
        evaluate_forecasting(reprs, sparse, padding=10)
    assert "interpolate" in (info.value.hint or "")


def test_variables_as_instances_use_a_per_instance_scaler() -> None:
    reprs, data = _synthetic()
    # Multivariate electricity layout: one target variable per instance, one scaler entry per instance.
    stacked = np.concatenate([data.data[..., [0, 1, 2]], data.data[..., [0, 1, 3]]], axis=0)
    both = np.concatenate([reprs, reprs[..., ::-1]], axis=0)
    per_instance = FakeForecastingData(data=stacked, target_names=["a", "b"])
    result = evaluate_forecasting(both, per_instance, padding=10)
    targets = stacked[..., 2:]
    for horizon in data.horizons:
        Xtr, Ytr = horizon_samples(both[:, :240], targets[:, :240], horizon, drop=10)
        Xva, Yva = horizon_samples(both[:, 240:320], targets[:, 240:320], horizon)
        Xte, Yte = horizon_samples(both[:, 320:], targets[:, 320:], horizon)
        model, _, _ = fit_ridge_validated(Xtr, Ytr, Xva, Yva)
        error = (model.predict(Xte) - Yte).reshape(2, -1)  # instance-major rows
        raw_error = error * per_instance.target_std[:, None]
        entry = result["horizons"][str(horizon)]
        assert entry["mse_raw"] == pytest.approx(np.mean(raw_error**2), rel=1e-6)
        assert entry["mae_raw"] == pytest.approx(np.mean(np.abs(raw_error)), rel=1e-6)
    with pytest.raises(DataError, match="per instance"):
        evaluate_forecasting(both, dataclasses.replace(per_instance, target_std=np.ones(3)), padding=10)


class StoredEncoder:
    """Stand-in encoder returning fixed per-timestamp representations (plus an offset)."""

    def __init__(self, reprs: np.ndarray, offset: float = 0.0) -> None:
        self.reprs, self.offset = reprs, offset
        self.calls: list[tuple[str, int | None]] = []

    def encode(self, X: np.ndarray, mode: str = "instance", causal_window: int | None = None) -> np.ndarray:
        self.calls.append((mode, causal_window))
        return self.reprs + self.offset


def test_the_task_evaluates_causal_representations_beside_both_baselines() -> None:
    reprs, data = _synthetic(seed=7)
    model, random = StoredEncoder(reprs), StoredEncoder(reprs, offset=1.0)
    timings: dict[str, float] = {}
    metrics, extras = create_task("forecasting").evaluate(
        model, data, baseline=random, objective="ts2vec", seed=3, timings=timings
    )
    assert model.calls == random.calls == [("timestamp", 201)]  # step t sees x[t-200 .. t] only
    expected = run_forecasting_protocol(reprs, data)
    assert list(metrics) == [
        "task", "horizons", "mean", "univariate", "baselines", "paper", "protocol", "features", "targets", "split",
    ]  # fmt: skip
    assert (metrics["protocol"], metrics["features"], metrics["targets"]) == ("ts2vec", "M", None)
    assert metrics["split"] == {"rule": "", "train": [0, 240], "valid": [240, 320], "test": [320, 400]}
    assert {k: metrics[k] for k in expected.metrics} == expected.metrics
    assert metrics["univariate"] is False and metrics["paper"] is None
    assert metrics["baselines"] == {
        "random init": evaluate_forecasting(reprs + 1.0, data),
        "raw input": evaluate_forecasting(lag_features(data), data),
    }
    assert set(timings) == {"encode_s", "head_s", "baseline_s"}
    assert sorted(extras["examples"]) == [2, 5]
    json.dumps(metrics)


def test_without_a_baseline_encoder_the_baselines_are_empty_and_untimed() -> None:
    reprs, data = _synthetic()
    timings: dict[str, float] = {}
    metrics, _ = create_task("forecasting").evaluate(
        StoredEncoder(reprs), data, baseline=None, objective="ts2vec", seed=0, timings=timings
    )
    assert metrics["baselines"] == {} and "baseline_s" not in timings


def test_published_numbers_of_the_runs_objective_go_into_the_metrics() -> None:
    reprs, data = _synthetic()
    etth1 = dataclasses.replace(data, name="etth1", univariate=True)
    task = create_task("forecasting")
    metrics, _ = task.evaluate(StoredEncoder(reprs), etth1, baseline=None, objective="autotcl", seed=0, timings={})
    assert metrics["univariate"] is True
    assert metrics["paper"] == task.published("autotcl", "ETTh1", univariate=True)
    assert metrics["paper"]["mean"] == {"mse": 0.076, "mae": 0.207}


def test_dataset_hooks() -> None:
    _, data = _synthetic()
    task = create_task("forecasting")
    assert task.channels(data) == 4 and task.covariate_channels(data) == 2
    assert task.split_array(data, "all") is data.data  # the whole series: the protocol splits by time
    for split in ("train", "valid", "test", "bogus"):
        with pytest.raises(
            ConfigError, match=rf"split \(--split\) must be all for forecasting data .* but got '{split}'"
        ):
            task.split_array(data, split)
    windows, source = task.held_out_windows(data, 30)
    assert windows.shape == (2, 30, 4) and "validation split" in source
    np.testing.assert_array_equal(windows[1], data.data[0, 270:300])
    task.check_channels(data, 4, "ETTh1")
    with pytest.raises(DataError, match="synthetic must have 2 channels like ETTh1") as raised:
        task.check_channels(data, 2, "ETTh1")
    assert raised.value.hint is not None and "same --univariate/--multivariate setting" in raised.value.hint


def _stored() -> dict[str, Any]:
    def result(mse: float, mae: float) -> dict[str, Any]:
        entry = {"mse": mse, "mae": mae, "mse_raw": mse * 10, "mae_raw": mae * 10, "valid_mse": mse / 2,
                 "valid_mae": mae / 2, "alpha": 1.0}  # fmt: skip
        return {"task": "forecasting", "horizons": {"24": entry, "48": entry}, "mean": entry}

    return {**result(0.0412, 0.1556), "univariate": True, "baselines": {"raw input": result(0.0873, 0.2211)},
            "paper": {"horizons": {"24": {"mse": 0.039, "mae": 0.152}}, "mean": {"mse": 0.11, "mae": 0.252}},
            "dataset": "ETTh1", "objective": "ts2vec"}  # fmt: skip


def test_metric_rows_hold_every_horizon_and_the_mean_of_each_model() -> None:
    rows = create_task("forecasting").metric_rows(_stored())
    assert [(r["model"], r["horizon"]) for r in rows] == [
        ("tscl", "24"), ("tscl", "48"), ("tscl", "mean"), ("raw input", "24"), ("raw input", "48"),
        ("raw input", "mean"),
    ]  # fmt: skip
    assert list(rows[0]) == ["model", "horizon", "mse", "mae", "mse_raw", "mae_raw", "valid_mse", "valid_mae"]
    assert rows[2]["mse"] == 0.0412 and rows[5]["valid_mae"] == pytest.approx(0.11055)


def test_tables_and_headline_of_stored_metrics() -> None:
    task, metrics = create_task("forecasting"), _stored()
    titles = [str(table.title) for table in task.tables(metrics)]
    assert titles == [
        "ETTh1 · ts2vec · univariate (normalised)", "ETTh1 · ts2vec · univariate (raw scale)",
        "ETTh1 · ts2vec · univariate (validation split, normalised)",
    ]  # fmt: skip
    console = Console(record=True, width=200)
    console.print(task.tables(metrics)[0])
    text = console.export_text()
    assert "paper MSE" in text and "0.252" in text
    old = {**metrics, "mean": {"mse": 0.0412, "mae": 0.1556}, "univariate": False}  # before validation errors
    assert [str(t.title) for t in task.tables(old)][-1] == "ETTh1 · ts2vec · multivariate (raw scale)"
    assert task.headline(metrics) == {"mse": 0.0412, "mae": 0.1556}
    assert task.headline_text(metrics) == "MSE 0.041 / MAE 0.156"


def test_plots_are_the_forecasts_and_the_error_by_horizon(tmp_path: Path) -> None:
    reprs, data = _synthetic()
    task = create_task("forecasting")
    metrics, extras = task.evaluate(StoredEncoder(reprs), data, baseline=None, objective="ts2vec", seed=0, timings={})
    task.plots(tmp_path / "plots", metrics, extras, data)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["forecasts.png", "mse_by_horizon.png"]
