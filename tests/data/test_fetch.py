"""fetch() of single-file upstreams against a local HTTP server on 127.0.0.1: verified, once, atomic,
one-line errors. (Zip archives, preprocessing and the manifest: test_archives.py.)"""

from __future__ import annotations

import hashlib
import shutil
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli_helpers import one_line_error, run_cli
from tests.data.served import Mirror, all_files
from tscl.data import fetch
from tscl.errors import DownloadError

ETTH1_SHA256 = "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"
MANIFEST = [".tscl-manifest.json", ".tscl-manifest.lock"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_downloads_once_into_layout(mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    shutil.copy(shared_datasets / "ETT" / "ETTh1.csv", mirror.folder / "ETTh1.csv")
    root = tmp_path / "root"
    paths = fetch("ETTh1", data_dir=root)
    assert paths == [root / "ETT" / "ETTh1.csv"]
    assert _sha256(paths[0]) == ETTH1_SHA256
    assert all_files(root) == [*MANIFEST, "ETT", "ETT/ETTh1.csv"]  # no temporary leftovers
    assert fetch("ETTh1", data_dir=root) == paths
    assert mirror.requests == ["/ETTh1.csv"]  # present with the right hash: not again
    fetch("ETTh1", data_dir=root, force=True)
    assert len(mirror.requests) == 2


def test_fetch_defaults_to_cache_dir(mirror: Mirror, shared_datasets: Path, isolated_data_env: Path) -> None:
    shutil.copy(shared_datasets / "ETT" / "ETTh1.csv", mirror.folder / "ETTh1.csv")
    assert fetch("etth1") == [isolated_data_env / "datasets" / "ETT" / "ETTh1.csv"]


def test_corrupt_local_copy_is_replaced(mirror: Mirror, shared_datasets: Path, tmp_path: Path) -> None:
    shutil.copy(shared_datasets / "ETT" / "ETTh1.csv", mirror.folder / "ETTh1.csv")
    target = tmp_path / "root" / "ETT" / "ETTh1.csv"
    target.parent.mkdir(parents=True)
    target.write_text("date,OT\n")
    fetch("ETTh1", data_dir=tmp_path / "root")
    assert _sha256(target) == ETTH1_SHA256


def test_checksum_mismatch_leaves_nothing(mirror: Mirror, tmp_path: Path) -> None:
    (mirror.folder / "ETTh1.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")
    root = tmp_path / "root"
    with pytest.raises(DownloadError) as info:
        fetch("ETTh1", data_dir=root)
    actual = _sha256(mirror.folder / "ETTh1.csv")
    assert info.value.message == f"sha256 of ETTh1.csv must be {ETTH1_SHA256} but got {actual}"
    assert info.value.hint
    assert all_files(root) in ([], ["ETT"])  # neither the file nor a temporary copy remains


def test_http_404_is_one_line(mirror: Mirror, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        fetch("ETTh1", data_dir=tmp_path / "root")
    assert "404" in info.value.message and "\n" not in info.value.message
    assert all_files(tmp_path / "root") in ([], ["ETT"])


def test_server_down(tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens on this port any more
    monkeypatch.setenv("TSCL_DATA_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError) as info:
        fetch("ETTh1", data_dir=tmp_path / "root")
    assert "cannot connect" in info.value.message and "\n" not in info.value.message
    assert "TSCL_DATA_MIRROR" in (info.value.hint or "") and str(tmp_path / "root" / "ETT") in (info.value.hint or "")
    assert all_files(tmp_path / "root") in ([], ["ETT"])


def test_unpinned_file_is_recorded_then_checked(mirror: Mirror, tmp_path: Path) -> None:
    (mirror.folder / "ETTm2.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")  # no pinned sum for ETTm2
    root = tmp_path / "root"
    fetch("ETTm2", data_dir=root)
    (mirror.folder / "ETTm2.csv").write_text("date,OT\n2016-07-01 00:00:00,2.0\n")
    fetch("ETTm2", data_dir=root)
    assert mirror.requests == ["/ETTm2.csv"]  # matches the recorded sum: not downloaded again
    (root / "ETT" / "ETTm2.csv").write_text("date,OT\n")  # damaged: differs from the recorded sum
    fetch("ETTm2", data_dir=root)
    assert len(mirror.requests) == 2 and "2.0" in (root / "ETT" / "ETTm2.csv").read_text()


def test_upstream_url_without_mirror(tmp_path: Path, isolated_data_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import requests

    asked: list[str] = []

    def refuse(url: str, **_: object) -> object:
        asked.append(url)
        raise requests.exceptions.ConnectionError("no network in tests")

    monkeypatch.setattr(requests, "get", refuse)
    with pytest.raises(DownloadError):
        fetch("Libras", data_dir=tmp_path / "root")
    assert asked == ["https://timeseriesclassification.com/aeon-toolkit/Libras.zip"]
    assert all_files(tmp_path / "root") == []


def test_a_mirror_that_is_no_url_is_one_readable_line(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TSCL_DATA_MIRROR", "notaurl")
    root = tmp_path / "root"
    code, _, err = run_cli(["data", "fetch", "Coffee", "ItalyPowerDemand", "--data-dir", str(root)], capsys)
    one_line_error(code, err, "TSCL_DATA_MIRROR must be an http:// or https:// URL but got 'notaurl'")
    assert "MissingSchema" not in err and not root.exists()


def test_many_failures_say_how_many_are_not_named(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["data", "fetch", "UCR:all", "--data-dir", str(tmp_path / "root"), "--json"], capsys)
    line = one_line_error(code, err, "128 of 128 failed")
    assert line.endswith(" and 118 more")
