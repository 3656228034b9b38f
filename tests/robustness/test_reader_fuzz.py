"""Fuzzing the file readers: random bytes and mutated real files raise project errors or load per contract.

Seeds are aeon's bundled ``.ts``/``.tsv``/``.arff`` files (cut to a few cases so examples stay small) and small
hand-made CSVs. Whatever the bytes, a reader either returns data that meets the data contract (float32
``[N, T, C]``, finite or NaN, labels as strings) or raises a :class:`~tscl.errors.TsclError`; anything else —
``IndexError``, ``StopIteration``, a warning on stderr — is a bug.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tscl.data import load_dataset
from tscl.data.csv_reader import read_forecast_csv
from tscl.data.locate import bundled_dir
from tscl.data.readers import LabeledSeries, read_npy, read_npz, read_ucr_tsv
from tscl.data.ts_readers import read_arff, read_ts
from tscl.errors import TsclError

# TSCL_FUZZ_EXAMPLES=5000 fuzzes harder, with fresh random inputs; by default the examples are fixed (derandomised)
# so that the suite gives the same answer on every run.
_EXAMPLES = os.environ.get("TSCL_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_EXAMPLES or 80),
    derandomize=_EXAMPLES is None,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOKENS = [
    b":", b",", b"\t", b"\n", b"\r\n", b" ", b"?", b"NaN", b"nan", b"inf", b"-inf", b"1e39", b"1e999", b"-0",
    b"@data\n", b"@dimensions 0\n", b"@dimensions \xc2\xb2\n", b"@seriesLength 1\n", b"@equalLength true\n",
    b"@classLabel true\n", b"@classLabel false\n", b"@classLabel true a b\n", b"@timeStamps true\n",
    b"@attribute x relational\n", b"@attribute y numeric\n", b"@attribute class {a,b}\n", b"@end x\n",
    b"@relation r\n", b"{", b"}", b"'", b'"', b"%", b"#", b"\x00", b"\xff\xfe", b"\xc3\xa9", b"date", b"OT",
    b"2020-13-45 25:61:00", b"2016-07-01 00:00:00", b"1_0", b"0x10", b"True", b"1e308", b"-1e308",
]  # fmt: skip
READERS: dict[str, Callable[[Path], Any]] = {
    ".ts": read_ts, ".tsv": read_ucr_tsv, ".arff": read_arff, ".csv": read_forecast_csv,
}  # fmt: skip


def _head(path: Path, cases: int) -> bytes:
    """The header and the first ``cases`` data lines of a series file."""
    lines = path.read_bytes().splitlines(keepends=True)
    out, seen = [], 0
    for line in lines:
        is_data = line.strip() and not line.lstrip().startswith((b"@", b"#", b"%"))
        if is_data:
            if seen == cases:
                break
            seen += 1
        out.append(line)
    return b"".join(out)


def _seed_files() -> dict[str, list[bytes]]:
    seeds: dict[str, list[bytes]] = {suffix: [] for suffix in READERS}
    for name in ("GunPoint", "ArrowHead", "BasicMotions", "JapaneseVowels", "ItalyPowerDemand"):
        folder = bundled_dir(name)
        if folder is None:
            continue
        for suffix in (".ts", ".tsv", ".arff"):
            path = folder / f"{name}_TRAIN{suffix}"
            if path.is_file():
                seeds[suffix].append(_head(path, 3))
    hours = [f"2016-07-01 {h:02d}:00:00,{h * 0.5:.1f},{(h % 5) - 2},{h % 3}" for h in range(12)]
    seeds[".csv"] += [
        ("date,HUFL,load,OT\n" + "\n".join(hours) + "\n").encode(),
        b"time,a\n1990/1/1 0:00,1\n1990/1/1 1:00,\n1990/1/1 2:00,3.5\n1990/1/1 3:00,4\n1990/1/1 4:00,2\n",
        b"x,when,y\n1,2021-03-04T05:06:07Z,2\n3,2021-03-04T06:06:07Z,4\n",
    ]
    return seeds


SEEDS = _seed_files()


@st.composite
def mutated(draw: st.DrawFn, suffix: str) -> bytes:
    """A seed file of ``suffix`` with a few insertions, deletions, overwrites, truncations or duplications."""
    data = bytearray(draw(st.sampled_from(SEEDS[suffix])))
    payload = st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=6))
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["insert", "delete", "overwrite", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "insert":
            data[at:at] = draw(payload)
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "overwrite":
            chunk = draw(payload)
            data[at : at + len(chunk)] = chunk
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = data[draw(st.integers(0, max(len(data) - 1, 0))) :][: draw(st.integers(1, 200))]
    return bytes(data)


def _check_series(series: LabeledSeries) -> None:
    X = series.X
    assert X.dtype == np.float32 and X.ndim == 3 and min(X.shape) >= 1
    assert not np.isinf(X).any()
    if series.labels is not None:
        assert len(series.labels) == len(X) and all(isinstance(label, str) for label in series.labels)


def _read(suffix: str, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would reach the user's terminal as noise
        try:
            result = READERS[suffix](path)
        except TsclError as exc:
            assert exc.message and "\n" not in exc.message
            return
    if suffix == ".csv":
        assert result.values.ndim == 2 and len(result.timestamps) == len(result.values) >= 1
        assert not np.isinf(result.values).any() and not np.isnan(result.values).all(axis=0).any()
    else:
        _check_series(result)


@pytest.mark.parametrize("suffix", list(READERS))
@FUZZ
@given(data=st.data())
def test_mutated_real_files(suffix: str, data: st.DataObject, tmp_path: Path) -> None:
    if not SEEDS[suffix]:
        pytest.skip(f"no seed files for {suffix}")
    _read(suffix, tmp_path / f"Fuzz_TRAIN{suffix}", data.draw(mutated(suffix)))


@pytest.mark.parametrize("suffix", list(READERS))
@settings(FUZZ, max_examples=int(_EXAMPLES or 40))
@given(raw=st.binary(max_size=600))
def test_random_bytes(suffix: str, raw: bytes, tmp_path: Path) -> None:
    _read(suffix, tmp_path / f"Fuzz_TRAIN{suffix}", raw)


@FUZZ
@given(train=mutated(".tsv"))
def test_mutated_pairs_through_load_dataset(train: bytes, tmp_path: Path) -> None:
    """A mutated train file beside an intact test file: labels, lengths and normalisation on top of reading."""
    folder = tmp_path / "UCR" / "Fuzz"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Fuzz_TRAIN.tsv").write_bytes(train)
    (folder / "Fuzz_TEST.tsv").write_bytes(SEEDS[".tsv"][0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            dataset = load_dataset(folder / "Fuzz_TRAIN.tsv")
        except TsclError:
            return
    assert dataset.X_train.dtype == np.float32 and not np.isinf(dataset.X_train).any()
    assert dataset.X_train.shape[1:] == dataset.X_test.shape[1:]
    assert dataset.y_test is not None and dataset.y_test.max() < len(dataset.class_names)


ARRAYS = hnp.arrays(
    dtype=st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.boolean_dtypes(), hnp.complex_number_dtypes(),
                    hnp.unicode_string_dtypes(max_len=3), hnp.datetime64_dtypes()),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
)  # fmt: skip


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@FUZZ
@given(array=ARRAYS, cut=st.none() | st.integers(0, 200), flips=st.lists(st.integers(0, 300), max_size=4))
def test_npy_arrays_of_any_kind_and_damage(
    array: np.ndarray, cut: int | None, flips: list[int], tmp_path: Path
) -> None:
    data = bytearray(_npy_bytes(array))
    for at in flips:
        if at < len(data):
            data[at] ^= 0x5A
    path = tmp_path / "fuzz.npy"
    path.write_bytes(bytes(data[:cut] if cut is not None else data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            series = read_npy(path)
        except TsclError:
            return
    _check_series(series)


@FUZZ
@given(
    parts=st.dictionaries(st.sampled_from(["X", "y", "X_train", "y_train", "X_test", "y_test", "Z"]), ARRAYS,
                          max_size=4),
    cut=st.none() | st.integers(0, 400),
)  # fmt: skip
def test_npz_archives(parts: dict[str, np.ndarray], cut: int | None, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **parts)
    data = buffer.getvalue()
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data[:cut] if cut is not None else data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            train, test = read_npz(path)
        except TsclError:
            return
    for series in (train, test):
        if series is not None:
            _check_series(series)
