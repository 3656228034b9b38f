"""Fetching from upstream archives, served on 127.0.0.1 in the upstream layout: ``<Name>.zip`` holding
``<Name>_TRAIN.ts`` and ``<Name>_TEST.ts``; fetch, unpack, verify, load, tampering, interrupted downloads."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import run_cli
from tests.data.served import Mirror, all_files, write_zip
from tscl.data import fetch, load_dataset
from tscl.data.fetch import verify
from tscl.data.manifest import MANIFEST_NAME, read_manifest
from tscl.errors import DataError, DownloadError

MANIFEST = [".tscl-manifest.json", ".tscl-manifest.lock"]
_HEADER = "# a comment line  \n@problemName {name}\n@timeStamps false\n@missing true\n@univariate {uni}\n"
_HEADER += "@equalLength false\n@classLabel true a b\n@data\n"


def _ts(name: str, cases: list[tuple[list[str], str]]) -> str:
    """A labelled .ts file: each case is (channels as comma-separated text, label)."""
    text = _HEADER.format(name=name, uni="true" if len(cases[0][0]) == 1 else "false")
    return text + "".join(":".join(channels) + f":{label}\n" for channels, label in cases)


_TRAIN = [(["1.0,2.0,3.0,4.0"], "a"), (["5.0,?,7.0"], "b"), (["1.5,2.5"], "a"), (["0.5,NaN,1.0,2.0"], "b")]
_RAW = np.array([1, 2, 3, 4, 5, 7, 1.5, 2.5, 0.5, 1, 2])  # PLAID is z-scored with the train mean/std
_TEST = [(["2.0,3.0,4.0"], "a"), (["4.0,3.0,2.0,1.0,0.5"], "b")]


def _serve_plaid(mirror: Mirror) -> None:
    """PLAID (an unequal-length UCR set) with missing values, plus the extra files the real zips carry."""
    write_zip(
        mirror.folder / "PLAID.zip",
        {
            "PLAID_TRAIN.ts": _ts("PLAID", _TRAIN).encode(),
            "PLAID_TEST.ts": _ts("PLAID", _TEST).encode(),
            "PLAID_TRAIN.arff": b"@relation x\n",
            "PLAID_eq_TRAIN.ts": b"not used\n",
        },
    )


def test_zip_is_fetched_unpacked_recorded_and_loaded(mirror: Mirror, tmp_path: Path) -> None:
    _serve_plaid(mirror)
    root = tmp_path / "root"
    paths = fetch("PLAID", data_dir=root)
    assert paths == [root / "UCR/PLAID/PLAID_TRAIN.ts", root / "UCR/PLAID/PLAID_TEST.ts"]
    assert all_files(root) == [*MANIFEST, "UCR", "UCR/PLAID", "UCR/PLAID/PLAID_TEST.ts", "UCR/PLAID/PLAID_TRAIN.ts"]
    records = read_manifest(root)
    assert set(records) == {"UCR/PLAID/PLAID_TRAIN.ts", "UCR/PLAID/PLAID_TEST.ts"}
    source = f"{mirror.url}/PLAID.zip"
    assert all(r.dataset == "PLAID" and not r.pinned and r.source == source for r in records.values())
    data = load_dataset("PLAID", root)
    assert data.X_train.dtype == np.float32 and data.X_train.shape == (4, 5, 1) and data.X_test.shape == (2, 5, 1)
    expected = (np.array([5.0, np.nan, 7.0, np.nan, np.nan]) - _RAW.mean()) / _RAW.std()
    np.testing.assert_allclose(data.X_train[1, :, 0], expected, rtol=1e-6)  # missing value, then padding
    assert np.isnan(data.X_train[2, 2:]).all() and data.info()["missing"] == 2
    assert data.y_train.tolist() == [0, 1, 0, 1] and data.class_names == ["a", "b"]
    assert [check.status for check in verify(data_dir=root)] == ["ok", "ok"]
    assert fetch("PLAID", data_dir=root) == paths and mirror.requests == ["/PLAID.zip"]  # current: not again
    assert all((root / f).stat().st_mode & 0o777 == 0o644 for f in (*records, MANIFEST_NAME))


def test_tampered_file_is_refused_with_one_line(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _serve_plaid(mirror)
    root = tmp_path / "root"
    fetch("PLAID", data_dir=root)
    train = root / "UCR/PLAID/PLAID_TRAIN.ts"
    train.write_text(train.read_text().replace("1.0,2.0,3.0,4.0", "1.0,2.0,3.0,9.0"))
    with pytest.raises(DataError) as info:
        load_dataset("PLAID", root)
    assert info.value.message.startswith(f"sha256 of {train} must be ")
    assert "recorded when it was fetched" in info.value.message and "tscl data fetch PLAID --force" in info.value.hint
    code, out, err = run_cli(["data", "info", "PLAID", "--data-dir", str(root), "--json"], capsys)
    assert code == 1 and out == "" and err.startswith("error: sha256 of") and len(err.strip().splitlines()) == 2
    code, out, err = run_cli(["data", "verify", "PLAID", "--data-dir", str(root), "--json"], capsys)
    assert code == 1 and {row["status"] for row in json.loads(out)} == {"ok", "changed"}
    assert err.startswith("error: every fetched file must match its recorded sha256 but 1 does not")
    fetch("PLAID", data_dir=root)  # not current any more: downloaded again
    restored = load_dataset("PLAID", root).X_train[0, 3, 0]
    assert len(mirror.requests) == 2 and restored == pytest.approx((4.0 - _RAW.mean()) / _RAW.std(), rel=1e-6)
    code, _, _ = run_cli(["data", "verify", "--data-dir", str(root)], capsys)
    assert code == 0


def test_interrupted_download_leaves_nothing(mirror: Mirror, tmp_path: Path) -> None:
    _serve_plaid(mirror)
    mirror.cut_short.add("PLAID.zip")
    with pytest.raises(DownloadError) as info:
        fetch("PLAID", data_dir=tmp_path / "fresh")
    assert "closed before the whole file arrived" in info.value.message and "\n" not in info.value.message
    assert "TSCL_DATA_MIRROR" in (info.value.hint or "")
    assert not (tmp_path / "fresh").exists()  # neither the file, a temporary copy, nor the folders made for it
    root = tmp_path / "root"
    mirror.cut_short.clear()
    fetch("PLAID", data_dir=root)
    before = all_files(root)
    manifest = (root / MANIFEST_NAME).read_text()
    mirror.cut_short.add("PLAID.zip")
    with pytest.raises(DownloadError):
        fetch("PLAID", data_dir=root, force=True)
    assert all_files(root) == before and (root / MANIFEST_NAME).read_text() == manifest


def test_damaged_archive_and_missing_member(mirror: Mirror, tmp_path: Path) -> None:
    (mirror.folder / "Libras.zip").write_bytes(b"<html>not found</html>")
    with pytest.raises(DownloadError, match="Libras.zip must be a zip archive but it cannot be unpacked"):
        fetch("Libras", data_dir=tmp_path / "root")
    write_zip(mirror.folder / "Libras.zip", {"Libras_TRAIN.ts": _ts("Libras", _TRAIN)})
    with pytest.raises(DownloadError, match="Libras.zip must hold Libras_TEST.ts but it holds Libras_TRAIN.ts"):
        fetch("Libras", data_dir=tmp_path / "root")
    assert all_files(tmp_path / "root") == []


def test_pinned_checksum_of_a_member(mirror: Mirror, tmp_path: Path) -> None:
    name = "AtrialFibrillation"  # its files have sha256 sums in the catalog (shared/datasets/SOURCES.md)
    write_zip(mirror.folder / f"{name}.zip", {f"{name}_{p}.ts": _ts(name, _TRAIN) for p in ("TRAIN", "TEST")})
    with pytest.raises(DownloadError) as info:
        fetch(name, data_dir=tmp_path / "root")
    assert info.value.message.startswith(f"sha256 of {name}_TRAIN.ts must be 1037b09c03dfc9d9")
    assert all_files(tmp_path / "root") == []


def test_existing_folder_keeps_other_files(mirror: Mirror, tmp_path: Path) -> None:
    _serve_plaid(mirror)
    folder = tmp_path / "root" / "UCR" / "PLAID"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    fetch("PLAID", data_dir=tmp_path / "root")
    assert sorted(p.name for p in folder.iterdir()) == ["PLAID_TEST.ts", "PLAID_TRAIN.ts", "notes.txt"]


def test_damaged_manifest_is_one_line(mirror: Mirror, tmp_path: Path) -> None:
    _serve_plaid(mirror)
    root = tmp_path / "root"
    fetch("PLAID", data_dir=root)
    (root / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DataError, match="must be a tscl manifest"):
        load_dataset("PLAID", root)


def test_several_names_and_archive_selectors(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _serve_plaid(mirror)
    root = str(tmp_path / "root")
    code, out, err = run_cli(["data", "fetch", "PLAID", "Libras", "--data-dir", root], capsys)
    assert code == 1 and "ok PLAID" in out and "failed Libras" in out and "HTTP 404" in out
    assert err.startswith("error: every dataset must be fetched but 1 of 2 failed: Libras")
    code, out, _ = run_cli(["data", "list", "--cached", "--data-dir", root, "--json"], capsys)
    assert code == 0 and [row["name"] for row in json.loads(out) if row["cached"]] == ["PLAID"]
    code, _, err = run_cli(["data", "fetch", "UCX:all", "--data-dir", root], capsys)
    assert code == 1 and "archive must be one of UCR, UEA, forecasting but got 'UCX'" in err


def test_progress_bar_follows_pooch(mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tscl.data import download

    bars: list[object] = []
    real = download._DownloadBar

    def recording(label: str) -> object:
        bars.append(real(label))
        return bars[-1]

    monkeypatch.setattr(download, "_on_terminal", lambda: True)
    monkeypatch.setattr(download, "_DownloadBar", recording)
    _serve_plaid(mirror)
    fetch("PLAID", data_dir=tmp_path / "root")
    assert len(bars) == 1 and bars[0].total == (mirror.folder / "PLAID.zip").stat().st_size  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "sizes"), [("Libras", (180, 180, 2, 15, 45)), ("AtrialFibrillation", (15, 15, 2, 3, 640))]
)
def test_cli_fetch_from_mirror_of_real_files(
    name: str,
    sizes: tuple[int, ...],
    mirror: Mirror,
    shared_datasets: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`TSCL_DATA_MIRROR=... tscl data fetch NAME --data-dir D` with a zip made from the real .ts files."""
    found = {p.name: p for p in shared_datasets.rglob(f"{name}_T*.ts")}
    if {f"{name}_TRAIN.ts", f"{name}_TEST.ts"} - set(found):
        pytest.skip(f"the real {name} .ts files are not in {shared_datasets}")
    write_zip(mirror.folder / f"{name}.zip", {file: found[file] for file in (f"{name}_TRAIN.ts", f"{name}_TEST.ts")})
    root = str(tmp_path / "D")
    code, _, err = run_cli(["data", "fetch", name, "--data-dir", root], capsys)
    assert code == 0, err
    code, out, _ = run_cli(["data", "info", name, "--data-dir", root, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and (info["n_train"], info["n_test"], info["channels"], info["n_classes"], info["length"]) == sizes
    assert info["missing"] == 0 and f"UEA/{name}/{name}_TRAIN.ts" in info["source"]


def test_list_json_holds_every_archive(isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["data", "list", "--json"], capsys)
    rows = json.loads(out)
    by_archive = {archive: [r for r in rows if r["archive"] == archive] for archive in ("UCR", "UEA", "forecasting")}
    assert code == 0 and [len(v) for v in by_archive.values()] == [128, 30, 10] and len(rows) == 168
    assert all(r["task"] == "classification" for r in by_archive["UCR"] + by_archive["UEA"])
    assert {r["name"] for r in by_archive["forecasting"]} == {
        "ETTh1", "ETTh2", "ETTm1", "ETTm2", "electricity", "traffic", "weather", "WTH", "exchange_rate",
        "national_illness"}  # fmt: skip
    _, out, _ = run_cli(["data", "list", "--archive", "uea", "--task", "classification", "--json"], capsys)
    libras = next(r for r in json.loads(out) if r["name"] == "Libras")
    assert (libras["n_train"], libras["channels"], libras["equal_length"], libras["cached"]) == (180, 2, True, False)


def test_staging_of_a_killed_fetch_is_removed_by_the_next(mirror: Mirror, tmp_path: Path) -> None:
    import subprocess
    import sys

    _serve_plaid(mirror)
    root = tmp_path / "root"
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()  # a pid that no longer runs
    abandoned = root / f".tscl-fetch-{process.pid}-{socket.gethostname()}-abc"
    (abandoned / "download-0").mkdir(parents=True)
    (abandoned / "download-0" / "PLAID.zip").write_bytes(b"half a file")
    fetch("PLAID", data_dir=root)
    assert not abandoned.exists() and all_files(root)[0] == ".tscl-manifest.json"
