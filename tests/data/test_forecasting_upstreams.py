"""Forecasting sets built from their upstream files, served on 127.0.0.1: electricity from an
``LD2011_2014.txt``-layout file (TS2Vec's preprocessing), traffic from a gzipped matrix, weather from two zips."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.served import Mirror, all_files, write_zip
from tscl.data import ForecastingData, fetch, load_dataset
from tscl.errors import DownloadError

_DAYS = 374  # 2011-01-01 .. 2012-01-09: past hourly row 8920 (2012-01-07 16:00) and into 2012
_HOURS_2011 = 365 * 24


def _ld2011(values: np.ndarray) -> str:
    """The UCI file's layout: ';' separated, ',' decimals, quoted header and timestamps every 15 minutes from
    2011-01-01 00:15."""
    stamps = pd.date_range("2011-01-01 00:15:00", periods=len(values), freq="15min").strftime("%Y-%m-%d %H:%M:%S")
    header = '"";' + ";".join(f'"MT_{i + 1:03d}"' for i in range(values.shape[1]))
    cells = [";".join(f"{v:g}".replace(".", ",") for v in row) for row in values]
    rows = [f'"{stamp}";{line}' for stamp, line in zip(stamps, cells, strict=True)]
    return "\n".join([header, *rows]) + "\n"


def _clients(rng: np.random.Generator) -> np.ndarray:
    """Quarter-hour readings of four clients: from the start, from June 2011, from 2012-01-09 (after row 8920,
    so dropped), and never (dropped)."""
    quarters = _DAYS * 96
    values = rng.integers(1, 40, size=(quarters, 4)) / 4.0
    values[: 151 * 96, 1] = 0.0
    values[: 373 * 96, 2] = 0.0
    values[:, 3] = 0.0
    return values


def test_electricity_is_built_like_ts2vec(mirror: Mirror, tmp_path: Path) -> None:
    values = _clients(np.random.default_rng(0))
    write_zip(mirror.folder / "electricityloaddiagrams20112014.zip", {"LD2011_2014.txt": _ld2011(values).encode()})
    root = tmp_path / "root"
    (csv,) = fetch("electricity", data_dir=root)
    assert csv == root / "forecasting" / "electricity.csv"
    table = pd.read_csv(csv)
    hourly = values.reshape(-1, 4, values.shape[1]).sum(axis=1)  # (hh:15, hh:30, hh:45, hh+1:00] -> hh:00
    assert list(table.columns) == ["date", "MT_001", "MT_002"]
    assert table["date"].iloc[0] == "2012-01-01 00:00:00" and len(table) == _DAYS * 24 - _HOURS_2011
    np.testing.assert_allclose(table[["MT_001", "MT_002"]].to_numpy(), hourly[_HOURS_2011:, :2])
    data = load_dataset("electricity", root)
    assert isinstance(data, ForecastingData) and data.data.shape == (2, len(table), 8)  # one instance per client
    assert load_dataset("electricity", root, univariate=True).target_names == ["MT_001"]


def test_electricity_of_another_layout_fails_cleanly(mirror: Mirror, tmp_path: Path) -> None:
    short = _ld2011(np.ones((96, 2)))  # one day: no hourly row 8920
    write_zip(mirror.folder / "electricityloaddiagrams20112014.zip", {"LD2011_2014.txt": short.encode()})
    with pytest.raises(DownloadError) as info:
        fetch("electricity", data_dir=tmp_path / "root")
    assert info.value.message.startswith("LD2011_2014.txt must be in the upstream layout of electricity")
    assert all_files(tmp_path / "root") == []


def test_traffic_gets_autoformer_dates_and_names(mirror: Mirror, tmp_path: Path) -> None:
    matrix = np.random.default_rng(1).random((30, 4)).round(4)
    text = "\n".join(",".join(f"{v:g}" for v in row) for row in matrix) + "\n"
    (mirror.folder / "traffic.txt.gz").write_bytes(gzip.compress(text.encode()))
    (csv,) = fetch("traffic", data_dir=tmp_path)
    table = pd.read_csv(csv)
    assert list(table.columns) == ["date", "0", "1", "2", "OT"] and len(table) == 30
    assert table["date"].iloc[0] == "2016-07-01 02:00:00" and table["date"].iloc[1] == "2016-07-01 03:00:00"
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(), matrix)
    assert load_dataset("traffic", tmp_path).info()["variables"] == 4


def test_weather_halves_are_joined(mirror: Mirror, tmp_path: Path) -> None:
    header = '"Date Time","p (mbar)","T (degC)","CO2 (ppm)"\n'
    first = header + "01.01.2020 00:10:00,1008.89,0.71,428.1\n02.01.2020 00:20:00,1008.76,0.75,428.0\n"
    second = header + "01.07.2020 00:10:00,990.1,18.2,410.5\n"
    for half, text in (("a", first), ("b", second)):
        write_zip(mirror.folder / f"mpi_roof_2020{half}.zip", {f"mpi_roof_2020{half}.csv": text.encode("latin-1")})
    (csv,) = fetch("weather", data_dir=tmp_path)
    table = pd.read_csv(csv)
    assert list(table.columns) == ["date", "p (mbar)", "T (degC)", "OT"]
    assert table["date"].tolist() == ["2020-01-01 00:10:00", "2020-01-02 00:20:00", "2020-07-01 00:10:00"]
    assert table["OT"].tolist() == [428.1, 428.0, 410.5]
