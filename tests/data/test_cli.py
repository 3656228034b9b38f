"""``tscl data list|info|fetch``: JSON numbers, tables, and one-line errors with exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli as _run

REPO = Path(__file__).parents[2]


def test_info_json_etth1(shared_datasets: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["data", "info", "ETTh1", "--data-dir", str(shared_datasets), "--json"], capsys)
    info = json.loads(out)
    assert code == 0
    assert info["timestamps"] == 17420 and info["variables"] == 7 and info["channels"] == 14
    assert info["splits"]["valid"] == {"start": 8640, "end": 11520}


def test_info_json_etth1_univariate(
    shared_datasets: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(["data", "info", "ETTh1", "--data-dir", str(shared_datasets), "--univariate", "--json"], capsys)
    info = json.loads(out)
    assert info["variables"] == 7 and info["channels"] == 8 and info["target"] == ["OT"]


def test_info_json_gunpoint_offline(isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["data", "info", "GunPoint", "--json"], capsys)
    info = json.loads(out)
    assert code == 0
    assert (info["n_train"], info["n_test"], info["length"], info["n_classes"]) == (50, 150, 150, 2)
    assert info["source"] == "aeon (bundled)"


def test_info_json_japanese_vowels(isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["data", "info", "JapaneseVowels", "--json"], capsys)
    info = json.loads(out)
    assert (info["length_min"], info["length_max"], info["length"]) == (7, 29, None)
    assert info["channels"] == 12 and info["n_classes"] == 9


def test_info_table(isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["data", "info", "BasicMotions"], capsys)
    assert code == 0 and "BasicMotions" in out and "class Badminton: 10 train, 10 test" in out


def test_list_json_and_table(
    shared_datasets: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(["data", "list", "--data-dir", str(shared_datasets), "--json"], capsys)
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["ETTh1"]["found"].endswith("ETT") and rows["ETTm2"]["found"] is None
    assert rows["GunPoint"]["cached"] and not rows["ETTm2"]["cached"]
    code, out, _ = _run(["data", "list"], capsys)
    assert code == 0 and "GunPoint" in out and "bundled" in out


def test_list_cached_shows_every_dataset_usable_offline_and_where_it_comes_from(
    shared_datasets: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["data", "list", "--cached", "--json"], capsys)  # no data directory: aeon's copies only
    rows = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and {"GunPoint", "BasicMotions", "ArrowHead"} <= set(rows)
    assert all(row["offline"] and row["found"] == "aeon (bundled)" and not row["cached"] for row in rows.values())
    code, out, _ = _run(["data", "list", "--cached"], capsys)
    assert code == 0 and f"{len(rows)} listed, 0 cached, {len(rows)} bundled" in out and "GunPoint" in out
    code, out, _ = _run(["data", "list", "--cached", "--data-dir", str(shared_datasets), "--json"], capsys)
    found = {row["name"]: row["found"] for row in json.loads(out)}
    assert found["GunPoint"].endswith("GunPoint") and found["ETTh1"].endswith("ETT")  # a local copy comes first
    assert found["JapaneseVowels"].endswith("JapaneseVowels") and "Libras" not in found


def test_unknown_dataset_is_one_line_error(isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["data", "info", "GunPont"], capsys)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and "did you mean GunPoint" in lines[0]
    assert lines[1].startswith("hint: ") and len(lines) == 2


def test_fetch_without_source_fails_cleanly(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["data", "fetch", "weather", "--data-dir", str(tmp_path)], capsys)
    assert code == 1 and err.startswith("error: ") and "Traceback" not in err


def test_subprocess_no_such_set_exits_1(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TSCL_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("TSCL_DATA_DIR", None)
    result = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "data", "info", "NoSuchSet"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: dataset must be a known name or a file path but got 'NoSuchSet'")
    assert "Traceback" not in result.stderr and "tscl data list" in result.stderr
