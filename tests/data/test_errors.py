"""Every malformed input raises DataError naming the file, the line or case, and expected versus found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tscl.data import load_dataset
from tscl.data.csv_reader import read_forecast_csv
from tscl.data.readers import read_npy, read_ucr_tsv
from tscl.data.ts_readers import read_ts
from tscl.errors import DataError


def _error(call, *args) -> DataError:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError) as info:
        call(*args)
    error = info.value
    assert error.hint, "every data error carries a hint"
    assert "\n" not in error.message, "messages are one line"
    return error


def test_ts_label_outside_declared_classes(fixtures_dir: Path) -> None:
    error = _error(read_ts, fixtures_dir / "bad_label_TRAIN.ts")
    assert "bad_label_TRAIN.ts" in error.message
    assert "case 3 (line 8)" in error.message
    assert "'c'" in error.message and "a, b" in error.message


def test_ts_inconsistent_dimensions(fixtures_dir: Path) -> None:
    error = _error(read_ts, fixtures_dir / "inconsistent_dims_TRAIN.ts")
    assert "inconsistent_dims_TRAIN.ts case 3 (line 8) must have 2 dimensions but got 1" in error.message


def test_ts_dimensions_inferred_from_first_case(tmp_path: Path) -> None:
    path = tmp_path / "X_TRAIN.ts"
    path.write_text("@classLabel true 1 2\n@data\n1,2:3,4:1\n1,2:3,4:2\n1,2:2\n")
    assert "case 3 (line 5) must have 2 dimensions but got 1" in _error(read_ts, path).message


def test_ts_without_data_section(tmp_path: Path) -> None:
    path = tmp_path / "X_TRAIN.ts"
    path.write_text("@problemName X\n@classLabel true 1 2\n")
    assert "@data" in _error(read_ts, path).message


def test_tsv_text_value_names_line_and_column(fixtures_dir: Path) -> None:
    error = _error(read_ucr_tsv, fixtures_dir / "ragged_text_TRAIN.tsv")
    assert "ragged_text_TRAIN.tsv line 3, column 3 must be a number but got 'abc'" in error.message


def test_tsv_inf_value(fixtures_dir: Path) -> None:
    error = _error(read_ucr_tsv, fixtures_dir / "inf_TRAIN.tsv")
    assert "inf_TRAIN.tsv line 2, column 3 must be finite" in error.message


def test_csv_without_time_column(fixtures_dir: Path) -> None:
    error = _error(read_forecast_csv, fixtures_dir / "no_time.csv")
    assert "no_time.csv" in error.message and "time column" in error.message
    assert "--time-col" in error.hint


def test_csv_unknown_time_column(fixtures_dir: Path) -> None:
    error = _error(read_forecast_csv, fixtures_dir / "no_time.csv", "when")
    assert "'when'" in error.message and "a, b, c" in error.message


def test_csv_text_column(fixtures_dir: Path) -> None:
    error = _error(read_forecast_csv, fixtures_dir / "text_column.csv")
    assert "text_column.csv column 'site' must be numeric but got 'north' on line 2" in error.message


def test_csv_inf_value(fixtures_dir: Path) -> None:
    error = _error(read_forecast_csv, fixtures_dir / "inf.csv")
    assert "inf.csv column 'load' must be finite but got inf on line 3" in error.message


def test_csv_bad_date(fixtures_dir: Path) -> None:
    error = _error(read_forecast_csv, fixtures_dir / "bad_date.csv")
    assert "bad_date.csv line 3, column 'date' must be a date/time but got 'not a date'" in error.message


def test_csv_all_nan_column(fixtures_dir: Path) -> None:
    error = _error(read_forecast_csv, fixtures_dir / "all_nan_column.csv")
    assert "all_nan_column.csv column 'empty'" in error.message


@pytest.mark.parametrize("reader", [read_forecast_csv, read_ucr_tsv, read_ts])
def test_empty_file(reader, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
    error = _error(reader, fixtures_dir / "empty.csv")
    assert "empty.csv" in error.message and "empty" in error.message


def test_missing_file(tmp_path: Path) -> None:
    error = _error(load_dataset, tmp_path / "nothing.csv")
    assert "nothing.csv" in error.message


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    assert ".csv" in _error(load_dataset, path).message


def test_single_class(fixtures_dir: Path) -> None:
    error = _error(load_dataset, fixtures_dir / "one_class_TRAIN.tsv")
    assert "one_class_TRAIN.tsv must hold at least 2 classes but got 1 ('1')" in error.message


def test_test_label_unseen_in_train(fixtures_dir: Path) -> None:
    error = _error(load_dataset, fixtures_dir / "unseen_label_TEST.tsv")
    assert "unseen_label_TEST.tsv" in error.message and "'3'" in error.message


def test_series_file_without_test_partner(fixtures_dir: Path) -> None:
    error = _error(load_dataset, fixtures_dir / "lonely_TRAIN.tsv")
    assert "lonely_TEST.tsv" in error.message
    assert "_TEST" in error.hint


def test_series_file_not_named_train_or_test(tmp_path: Path) -> None:
    path = tmp_path / "series.tsv"
    path.write_text("1\t0.5\n")
    assert "_TRAIN.tsv or _TEST.tsv" in _error(load_dataset, path).message


def test_npy_with_inf_and_wrong_rank(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    bad = np.zeros((2, 3, 1))
    bad[1, 2, 0] = np.inf
    np.save(path, bad)
    assert "case 1, step 2" in _error(read_npy, path).message
    np.save(path, np.zeros((1, 2, 3, 4)))
    assert "[1, 2, 3, 4]" in _error(read_npy, path).message


def test_npy_object_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.array([[1], [1, 2]], dtype=object), allow_pickle=True)
    assert "x.npy" in _error(read_npy, path).message


def test_forecasting_csv_too_short_for_split(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("date,OT\n2020-01-01,1\n2020-01-02,2\n")
    assert "at least 5 rows" in _error(load_dataset, path).message


def test_truncated_ett_file(tmp_path: Path) -> None:
    path = tmp_path / "ETTh1.csv"
    path.write_text("date,OT\n2020-01-01 00:00:00,1\n2020-01-01 01:00:00,2\n")
    assert "ETTh1 must have at least 14400 rows" in _error(load_dataset, path).message


def test_unknown_target_column(fixtures_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    rows = "\n".join(f"2020-01-{day:02d},{day},{day * 2}" for day in range(1, 11))
    path.write_text("date,a,b\n" + rows + "\n")
    error = _error(lambda: load_dataset(path, univariate=True, target="zzz"))
    assert "'zzz'" in error.message and "a, b" in error.hint
