"""Readers on real files: aeon's bundled copies (always there) and the shared files (skipped if absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tscl.data.csv_reader import read_forecast_csv
from tscl.data.locate import bundled_dir
from tscl.data.readers import encode_labels, read_npy, read_npz, read_ucr_tsv, sort_labels
from tscl.data.ts_readers import read_arff, read_ts


def _bundled(name: str) -> Path:
    folder = bundled_dir(name)
    assert folder is not None, "aeon must ship its example datasets"
    return folder


def test_bundled_gunpoint_ts_tsv_and_arff_agree() -> None:
    folder = _bundled("GunPoint")
    from_ts = read_ts(folder / "GunPoint_TRAIN.ts")
    from_tsv = read_ucr_tsv(folder / "GunPoint_TRAIN.tsv")
    from_arff = read_arff(folder / "GunPoint_TRAIN.arff")
    assert from_ts.X.shape == (50, 150, 1)
    assert from_ts.X.dtype == np.float32
    np.testing.assert_allclose(from_ts.X, from_tsv.X)
    np.testing.assert_allclose(from_ts.X, from_arff.X)
    assert list(from_ts.labels) == list(from_tsv.labels) == list(from_arff.labels)
    assert from_ts.class_names == ["1", "2"]


def test_bundled_basic_motions_multivariate_ts_and_arff() -> None:
    folder = _bundled("BasicMotions")
    from_ts = read_ts(folder / "BasicMotions_TRAIN.ts")
    from_arff = read_arff(folder / "BasicMotions_TRAIN.arff")
    assert from_ts.X.shape == (40, 100, 6)
    np.testing.assert_allclose(from_ts.X, from_arff.X, rtol=1e-6)
    assert from_ts.class_names == ["Badminton", "Running", "Standing", "Walking"]


def test_bundled_japanese_vowels_unequal_lengths_are_nan_padded() -> None:
    series = read_ts(_bundled("JapaneseVowels") / "JapaneseVowels_TRAIN.ts")
    assert series.X.shape[0] == 270 and series.X.shape[2] == 12
    observed = ~np.isnan(series.X).all(axis=2)
    lengths = observed.sum(axis=1)
    assert lengths.min() == 7
    # padding is trailing only: every observed step precedes every padded one
    assert all(observed[i, : lengths[i]].all() for i in range(len(lengths)))


def test_shared_ucr_tsv_keeps_negative_labels(shared_datasets: Path) -> None:
    series = read_ucr_tsv(shared_datasets / "UCR" / "ECG200" / "ECG200_TRAIN.tsv")
    assert series.X.shape == (100, 96, 1)
    assert series.class_names == ["-1", "1"]
    assert (series.labels == "-1").sum() == 31


def test_shared_uea_string_labels(shared_datasets: Path) -> None:
    series = read_ts(shared_datasets / "UEA" / "RacketSports" / "RacketSports_TRAIN.ts")
    assert series.X.shape == (151, 30, 6)
    assert series.class_names[0] == "Badminton_Clear"


def test_shared_forecasting_csv_both_date_formats(shared_datasets: Path) -> None:
    ett = read_forecast_csv(shared_datasets / "ETT" / "ETTh1.csv")
    assert ett.values.shape == (17420, 7) and ett.columns[-1] == "OT"
    assert ett.timestamps.dtype == np.dtype("datetime64[ns]")
    exchange = read_forecast_csv(shared_datasets / "forecasting" / "exchange_rate.csv")
    assert str(exchange.timestamps[0]).startswith("1990-01-01")
    assert str(exchange.timestamps[1]).startswith("1990-01-02")
    assert exchange.values.shape == (7588, 8)


def test_ragged_tsv_is_nan_padded(tmp_path: Path) -> None:
    path = tmp_path / "Ragged_TRAIN.tsv"
    path.write_text("b\t1\t2\t3\na\t4\t5\n")
    series = read_ucr_tsv(path)
    assert series.X.shape == (2, 3, 1)
    assert np.isnan(series.X[1, 2, 0]) and series.X[1, 1, 0] == 5
    assert series.class_names == ["a", "b"]


def test_tsv_missing_values_become_nan(tmp_path: Path) -> None:
    path = tmp_path / "Missing_TRAIN.tsv"
    path.write_text("1\t1.0\tNaN\t3.0\n2\t?\t\t6.0\n")
    X = read_ucr_tsv(path).X[:, :, 0]
    assert np.isnan(X).sum() == 3 and X[1, 2] == 6.0


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["2", "-1", "1", "1"], ["-1", "1", "2"]),
        (["10", "9", "1.5"], ["1.5", "9", "10"]),
        (["t", "n", "s"], ["n", "s", "t"]),
        (["b", "10", "2"], ["10", "2", "b"]),
    ],
)
def test_sort_labels_numeric_when_all_numbers(labels: list[str], expected: list[str]) -> None:
    assert sort_labels(labels) == expected


def test_encode_labels_uses_train_order(tmp_path: Path) -> None:
    train = np.array(["1", "-1", "1"], dtype=object)
    test = np.array(["-1", "-1"], dtype=object)
    y_train, y_test, names = encode_labels(train, test, tmp_path / "a", tmp_path / "b")
    assert names == ["-1", "1"]
    assert y_train.tolist() == [1, 0, 1] and y_test.tolist() == [0, 0]
    assert y_train.dtype == np.int64


def test_npy_shapes(tmp_path: Path) -> None:
    for shape, expected in (((4, 10, 3), (4, 10, 3)), ((4, 10), (4, 10, 1)), ((10,), (1, 10, 1))):
        path = tmp_path / "a.npy"
        np.save(path, np.ones(shape))
        series = read_npy(path)
        assert series.X.shape == expected and series.labels is None


def test_npz_train_test_keys(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X_train=rng.normal(size=(6, 5, 2)), y_train=np.array([0, 1, 0, 1, 2, 2]),
             X_test=rng.normal(size=(3, 5, 2)), y_test=np.array([2, 1, 0]))  # fmt: skip
    train, test = read_npz(path)
    assert train.X.shape == (6, 5, 2) and test is not None and test.X.shape == (3, 5, 2)
    assert train.class_names == ["0", "1", "2"]


def test_npz_single_x_without_labels(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((2, 7)))
    train, test = read_npz(path)
    assert train.X.shape == (2, 7, 1) and train.labels is None and test is None


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=6),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_tsv_round_trip_of_ragged_series(
    lengths: list[int], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rng = np.random.default_rng(seed)
    rows = [rng.normal(size=n).astype(np.float32) for n in lengths]
    path = tmp_path_factory.mktemp("tsv") / "Random_TRAIN.tsv"
    path.write_text("".join(f"{i % 3}\t" + "\t".join(repr(float(v)) for v in row) + "\n" for i, row in enumerate(rows)))
    X = read_ucr_tsv(path).X
    assert X.shape == (len(rows), max(lengths), 1)
    for i, row in enumerate(rows):
        np.testing.assert_array_equal(X[i, : len(row), 0], row)
        assert np.isnan(X[i, len(row) :, 0]).all()
