"""Readers on real files: aeon's bundled copies (always there) and the shared files (skipped if absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tscl.data import load_dataset
from tscl.data.csv_reader import read_forecast_csv
from tscl.data.locate import bundled_dir
from tscl.data.readers import encode_labels, read_npy, read_npz, read_ucr_tsv, sort_labels
from tscl.data.ts_readers import read_arff, read_ts
from tscl.errors import DataError


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


def _reference_ts(cases: list[tuple[list[list[str]], str]]) -> np.ndarray:
    """The obviously-correct reading of the cases below: float() per token, '?'/'NaN' missing, NaN padding."""
    length = max(len(channel) for channels, _ in cases for channel in channels)
    out = np.full((len(cases), length, len(cases[0][0])), np.nan)
    for i, (channels, _) in enumerate(cases):
        for c, channel in enumerate(channels):
            for t, token in enumerate(channel):
                out[i, t, c] = np.nan if token in ("?", "NaN", "") else float(token)
    return out.astype(np.float32)


def test_ts_reader_matches_a_token_by_token_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    cases = []
    for i in range(60):
        length = int(rng.integers(1, 12))
        lengths = [length, length if i % 5 else max(1, length - 1), length]  # every 5th case: ragged channels
        channels = [[f"{v:.5g}" for v in rng.normal(scale=1e3, size=n)] for n in lengths]
        if i % 4 == 0:
            channels[1][0] = rng.choice(["?", "NaN"])
        cases.append((channels, str(i % 3)))
    text = "@dimensions 3\n@equalLength false\n@classLabel true 0 1 2\n@data\n"
    text += "".join(":".join(",".join(ch) for ch in channels) + f":{label}\n" for channels, label in cases)
    (tmp_path / "mix_TRAIN.ts").write_text(text)
    series = read_ts(tmp_path / "mix_TRAIN.ts")
    np.testing.assert_array_equal(series.X, _reference_ts(cases))
    assert list(series.labels) == [label for _, label in cases]


def _write_big_ts(path: Path, cases: int, channels: int, length: int) -> None:
    """Every 10th case half as long, every 7th with a missing first value (benchmarks/bench_load.py's shape)."""
    rng = np.random.default_rng(0)
    lines = [f"@dimensions {channels}", "@equalLength false", "@classLabel true a b c", "@data"]
    for case in range(cases):
        values = rng.normal(size=(channels, length // (2 if case % 10 == 0 else 1))).round(4)
        rows = [",".join(map(str, row)) for row in values]
        if case % 7 == 0:
            rows[0] = "?," + rows[0].split(",", 1)[1]
        lines.append(":".join(rows) + f":{'abc'[case % 3]}")
    path.write_text("\n".join(lines) + "\n")


def test_large_uea_set_loads_within_twice_its_arrays(tmp_path: Path, isolated_data_env: Path) -> None:
    import tracemalloc

    folder = tmp_path / "UEA" / "Big"
    folder.mkdir(parents=True)
    for part in ("TRAIN", "TEST"):
        _write_big_ts(folder / f"Big_{part}.ts", cases=300, channels=30, length=200)
    tracemalloc.start()
    data = load_dataset("Big", tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert data.X_train.shape == (300, 200, 30) and data.X_train.dtype == np.float32
    assert np.isnan(data.X_train[0, 100:]).all() and np.isnan(data.X_train[0, 0, 0])  # padding, missing value
    assert peak <= 2 * (data.X_train.nbytes + data.X_test.nbytes)


@pytest.mark.parametrize(
    ("text", "separator"),
    [
        ("date;a;OT\n2020-01-01 00:00;1,5;-2\n2020-01-01 01:00;2,25;3\n", ";"),  # spreadsheet export, decimal comma
        ("date;a;OT\n2020-01-01 00:00;1.5;-2\n2020-01-01 01:00;2.25;3\n", ";"),
        ("date\ta\tOT\n2020-01-01 00:00\t1.5\t-2\n2020-01-01 01:00\t2.25\t3\n", "tab"),
        ("\ufeffdate,a,OT\n2020-01-01 00:00,1.5,-2\n2020-01-01 01:00,2.25,3\n", "comma after a BOM"),
    ],
)
def test_forecast_csv_with_semicolons_or_tabs_reads_like_commas(tmp_path: Path, text: str, separator: str) -> None:
    path = tmp_path / "load.csv"
    path.write_text(text, encoding="utf-8")
    table = read_forecast_csv(path)
    assert table.time_col == "date", separator
    assert table.columns == ["a", "OT"]
    np.testing.assert_array_equal(table.values, [[1.5, -2.0], [2.25, 3.0]])


def _exchange_rate_with(shared_datasets: Path, path: Path, edit: str) -> Path:
    """The real exchange_rate.csv with data line 1001 repeated (``"repeat"``) or moved above line 1000
    (``"swap"``)."""
    lines = (shared_datasets / "forecasting" / "exchange_rate.csv").read_text().splitlines(keepends=True)
    if edit == "repeat":
        lines.insert(1001, lines[1000])
    else:
        lines[999], lines[1000] = lines[1000], lines[999]
    path.write_text("".join(lines))
    return path


def test_forecast_csv_refuses_a_repeated_time_on_real_data(shared_datasets: Path, tmp_path: Path) -> None:
    path = _exchange_rate_with(shared_datasets, tmp_path / "rates.csv", "repeat")
    with pytest.raises(DataError) as caught:
        read_forecast_csv(path)
    message = caught.value.message
    assert str(path) in message and "must hold each time once" in message
    assert "line 1002 repeats 1992-09-26 00:00:00 of line 1001" in message, message
    assert caught.value.hint is not None and "remove the duplicate rows" in caught.value.hint
    assert read_forecast_csv(path, allow_repeated_times=True).values.shape == (7589, 8)


def test_forecast_csv_names_the_first_offending_row(tmp_path: Path) -> None:
    """A repeat above a step back is reported first: the message names the first row out of order."""
    path = tmp_path / "load.csv"
    path.write_text("date,OT\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n2020-01-04,4\n2020-01-03,5\n")
    with pytest.raises(DataError, match="line 4 repeats 2020-01-02"):
        read_forecast_csv(path)
    with pytest.raises(
        DataError, match=r"must be in time order but line 6 \(2020-01-03 00:00:00\) comes before line 5"
    ):
        read_forecast_csv(path, allow_repeated_times=True)


def test_load_dataset_refuses_repeated_times_in_a_file_of_ones_own(
    shared_datasets: Path, tmp_path: Path, isolated_data_env: Path
) -> None:
    """The Python API refuses what the command line refuses; a catalog benchmark is read as published."""
    own = _exchange_rate_with(shared_datasets, tmp_path / "rates.csv", "repeat")
    with pytest.raises(DataError, match="rates.csv column 'date' must hold each time once"):
        load_dataset(own)
    (tmp_path / "root" / "forecasting").mkdir(parents=True)
    benchmark = _exchange_rate_with(shared_datasets, tmp_path / "root" / "forecasting" / "exchange_rate.csv", "repeat")
    assert load_dataset("exchange_rate", data_dir=benchmark.parents[1]).timestamps.shape == (7589,)
    with pytest.raises(DataError, match="must be in time order but line 1001"):
        load_dataset(_exchange_rate_with(shared_datasets, benchmark, "swap"))
