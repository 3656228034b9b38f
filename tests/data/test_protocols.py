"""Protocol pieces on hand-computed cases: covariates, splits, train-only scalers, horizons, UCR/UEA rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tscl.data import ClassificationData, ForecastingData, load_dataset
from tscl.data.protocols import (
    Standardizer,
    calendar_covariates,
    default_target,
    forecasting_horizons,
    forecasting_splits,
)


def _write_csv(path: Path, n_rows: int, columns: dict[str, np.ndarray], freq: str = "h") -> Path:
    import pandas as pd

    frame = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=n_rows, freq=freq), **columns})
    frame.to_csv(path, index=False)
    return path


def test_calendar_covariates_hand_computed() -> None:
    stamps = np.array(["2021-01-03T23:45", "2021-01-04T00:00", "2020-12-31T12:30"], dtype="datetime64[ns]")
    expected = [
        [45, 23, 6, 3, 3, 1, 53],  # Sunday 3 Jan 2021 is in ISO week 53 of 2020
        [0, 0, 0, 4, 4, 1, 1],
        [30, 12, 3, 31, 366, 12, 53],
    ]
    np.testing.assert_array_equal(calendar_covariates(stamps), expected)


def test_standardizer_matches_sklearn_and_keeps_constant_columns() -> None:
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(3, 2, 50), np.full(50, 7.0)])
    ours = Standardizer.fit(values)
    theirs = StandardScaler().fit(values)
    np.testing.assert_allclose(ours.transform(values), theirs.transform(values))
    assert ours.std[1] == 1.0
    np.testing.assert_allclose(ours.inverse(ours.transform(values)), values)


def test_standardizer_ignores_nan() -> None:
    scaler = Standardizer.fit(np.array([[1.0], [np.nan], [3.0]]))
    assert scaler.mean[0] == 2.0 and scaler.std[0] == 1.0


@pytest.mark.parametrize(
    ("name", "n", "bounds"),
    [
        ("ETTh1", 17420, (8640, 11520, 14400)),
        ("ETTh2", 17420, (8640, 11520, 14400)),
        ("ETTm1", 69680, (34560, 46080, 57600)),
        ("exchange_rate", 7588, (4552, 6070, 7588)),
        ("custom", 11, (6, 8, 11)),
    ],
)
def test_forecasting_splits(name: str, n: int, bounds: tuple[int, int, int]) -> None:
    train, valid, test = forecasting_splits(name, n)
    assert (train.start, train.stop, valid.stop, test.stop) == (0, *bounds)
    assert valid.start == train.stop and test.start == valid.stop


def test_horizons_and_default_targets() -> None:
    assert forecasting_horizons("ETTm1") == (24, 48, 96, 288, 672)
    assert forecasting_horizons("ETTh1") == forecasting_horizons("electricity") == (24, 48, 168, 336, 720)
    assert default_target("ETTh1", ["HUFL", "OT"]) == "OT"
    assert default_target("electricity", ["MT_001", "MT_002"]) == "MT_001"
    assert default_target("weather", ["a", "b"]) == "b"


def test_ett_h1_split_lengths(shared_datasets: Path) -> None:
    data = load_dataset("ETTh1", shared_datasets)
    assert isinstance(data, ForecastingData)
    assert [s.stop - s.start for s in (data.train_slice, data.valid_slice, data.test_slice)] == [
        8640,
        2880,
        2880,
    ]
    assert data.data.shape == (1, 17420, 14) and data.n_covariates == 7
    assert data.pretrain_array().shape == (1, 8640, 14)


def test_ett_h1_matches_a_sklearn_reimplementation(shared_datasets: Path) -> None:
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv(shared_datasets / "ETT" / "ETTh1.csv", index_col="date", parse_dates=True)
    raw_covariates = calendar_covariates(frame.index.to_numpy())
    covariates = StandardScaler().fit(raw_covariates[:8640]).transform(raw_covariates)
    targets = StandardScaler().fit(frame[["OT"]].to_numpy()[:8640]).transform(frame[["OT"]].to_numpy())
    data = load_dataset("ETTh1", shared_datasets, univariate=True)
    np.testing.assert_allclose(data.data[0], np.hstack([covariates, targets]), atol=1e-5)
    np.testing.assert_allclose(data.to_raw(data.data[0, :, 7:]), frame[["OT"]].to_numpy(), atol=1e-4)


def test_scalers_fit_on_train_split_only(tmp_path: Path) -> None:
    n = 20  # 60/20/20 -> train rows 0..11
    base = np.arange(n, dtype=float)
    first = load_dataset(_write_csv(tmp_path / "a.csv", n, {"x": base, "y": base * 2}))
    changed = base.copy()
    changed[12:] *= 1000  # valid and test rows only
    second = load_dataset(_write_csv(tmp_path / "b.csv", n, {"x": changed, "y": base * 2}))
    assert isinstance(first, ForecastingData) and isinstance(second, ForecastingData)
    np.testing.assert_allclose(first.data[0, :12], second.data[0, :12])
    np.testing.assert_allclose(first.target_mean, [5.5, 11.0])
    np.testing.assert_allclose(first.target_std, [np.std(base[:12]), np.std(base[:12] * 2)])
    train_covariates = first.data[0, first.train_slice, :7]
    hour = train_covariates[:, 1]
    assert abs(hour.mean()) < 1e-6 and abs(hour.std() - 1) < 1e-6
    np.testing.assert_array_equal(train_covariates[:, 0], 0)  # minute is constant -> (x - mean) / 1


def test_univariate_and_explicit_target(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "w.csv", 10, {"a": np.arange(10.0), "b": np.ones(10)})
    assert load_dataset(path, univariate=True).target_names == ["b"]
    data = load_dataset(path, univariate=True, target="a")
    assert data.target_names == ["a"] and data.data.shape == (1, 10, 8)
    assert data.info()["variables"] == 2


def test_electricity_variables_become_instances(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    columns = {f"MT_00{i}": rng.normal(i, 1, 30) for i in (1, 2, 3)}
    path = _write_csv(tmp_path / "electricity.csv", 30, columns)
    multi = load_dataset(path)
    assert isinstance(multi, ForecastingData)
    assert multi.data.shape == (3, 30, 8)
    np.testing.assert_allclose(multi.data[0, :, :7], multi.data[2, :, :7])
    raw = multi.to_raw(multi.data[:, :, 7:])
    np.testing.assert_allclose(raw[1, :, 0], columns["MT_002"], rtol=1e-5)
    uni = load_dataset(path, univariate=True)
    assert uni.data.shape == (1, 30, 8) and uni.target_names == ["MT_001"]


def _write_ucr(root: Path, name: str, train: np.ndarray, test: np.ndarray) -> None:
    folder = root / "UCR" / name
    folder.mkdir(parents=True)
    for part, values in (("TRAIN", train), ("TEST", test)):
        lines = [f"{i % 2 + 1}\t" + "\t".join(str(v) for v in row) for i, row in enumerate(values)]
        (folder / f"{name}_{part}.tsv").write_text("\n".join(lines) + "\n")


def test_ucr_rule_normalises_only_the_listed_sets(tmp_path: Path, isolated_data_env: Path) -> None:
    train = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    test = np.array([[7.0, 8.0, 9.0], [0.0, 1.0, 2.0]])
    _write_ucr(tmp_path, "Chinatown", train, test)  # listed: the archive did not normalise it
    _write_ucr(tmp_path, "Beef", train, test)  # not listed: passed through unchanged
    listed = load_dataset("Chinatown", tmp_path)
    assert isinstance(listed, ClassificationData)
    mean, std = train.mean(), train.std()
    np.testing.assert_allclose(listed.X_train[..., 0], (train - mean) / std, rtol=1e-6)
    np.testing.assert_allclose(listed.X_test[..., 0], (test - mean) / std, rtol=1e-6)
    passed = load_dataset("Beef", tmp_path)
    np.testing.assert_allclose(passed.X_train[..., 0], train)


def test_uea_per_channel_scaler_fit_on_train(tmp_path: Path, isolated_data_env: Path) -> None:
    folder = tmp_path / "UEA" / "Tiny"
    folder.mkdir(parents=True)
    header = "@problemName Tiny\n@classLabel true x y\n@data\n"
    (folder / "Tiny_TRAIN.ts").write_text(header + "1,2,3:10,20,?:x\n3,4,5:30,40,50:y\n")
    (folder / "Tiny_TEST.ts").write_text(header + "100,2,3:10,20,30:y\n")
    data = load_dataset("Tiny", tmp_path)
    assert isinstance(data, ClassificationData) and data.X_train.shape == (2, 3, 2)
    channel0 = np.array([1, 2, 3, 3, 4, 5.0])
    channel1 = np.array([10, 20, 30, 40, 50.0])
    np.testing.assert_allclose(
        data.X_train[1, :, 0], (np.array([3, 4, 5]) - channel0.mean()) / channel0.std(), rtol=1e-6
    )
    np.testing.assert_allclose(data.X_test[0, 0, 1], (10 - channel1.mean()) / channel1.std(), rtol=1e-6)
    assert np.isnan(data.X_train[0, 2, 1]) and data.info()["missing"] == 1
    assert data.class_names == ["x", "y"] and data.y_test.tolist() == [1]
