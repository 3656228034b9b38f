"""fetch() against a local HTTP server on 127.0.0.1: verified, once, atomic, one-line errors."""

from __future__ import annotations

import functools
import hashlib
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tscl.data import fetch
from tscl.errors import DownloadError

ETTH1_SHA256 = "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"


class _CountingHandler(SimpleHTTPRequestHandler):
    requests_served: list[str] = []

    def do_GET(self) -> None:  # noqa: N802  (http.server naming)
        type(self).requests_served.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output quiet."""


@pytest.fixture
def served_dir(tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder served over HTTP on 127.0.0.1; TSCL_DATA_MIRROR points at it."""
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    folder = tmp_path / "served"
    folder.mkdir()
    _CountingHandler.requests_served = []
    handler = functools.partial(_CountingHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("TSCL_DATA_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield folder
    finally:
        server.shutdown()
        server.server_close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_fetch_downloads_once_into_layout(served_dir: Path, shared_datasets: Path, tmp_path: Path) -> None:
    shutil.copy(shared_datasets / "ETT" / "ETTh1.csv", served_dir / "ETTh1.csv")
    root = tmp_path / "root"
    paths = fetch("ETTh1", data_dir=root)
    assert paths == [root / "ETT" / "ETTh1.csv"]
    assert _sha256(paths[0]) == ETTH1_SHA256
    assert _all_files(root) == ["ETT", "ETT/ETTh1.csv"]  # no temporary leftovers
    assert fetch("ETTh1", data_dir=root) == paths
    assert _CountingHandler.requests_served == ["/ETTh1.csv"]  # present with the right hash: not again
    fetch("ETTh1", data_dir=root, force=True)
    assert len(_CountingHandler.requests_served) == 2


def test_fetch_defaults_to_cache_dir(served_dir: Path, shared_datasets: Path, isolated_data_env: Path) -> None:
    shutil.copy(shared_datasets / "ETT" / "ETTh1.csv", served_dir / "ETTh1.csv")
    assert fetch("etth1") == [isolated_data_env / "datasets" / "ETT" / "ETTh1.csv"]


def test_corrupt_local_copy_is_replaced(served_dir: Path, shared_datasets: Path, tmp_path: Path) -> None:
    shutil.copy(shared_datasets / "ETT" / "ETTh1.csv", served_dir / "ETTh1.csv")
    target = tmp_path / "root" / "ETT" / "ETTh1.csv"
    target.parent.mkdir(parents=True)
    target.write_text("date,OT\n")
    fetch("ETTh1", data_dir=tmp_path / "root")
    assert _sha256(target) == ETTH1_SHA256


def test_checksum_mismatch_leaves_nothing(served_dir: Path, tmp_path: Path) -> None:
    (served_dir / "ETTh1.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")
    root = tmp_path / "root"
    with pytest.raises(DownloadError) as info:
        fetch("ETTh1", data_dir=root)
    actual = _sha256(served_dir / "ETTh1.csv")
    assert info.value.message == f"sha256 of ETTh1.csv must be {ETTH1_SHA256} but got {actual}"
    assert info.value.hint
    assert _all_files(root) in ([], ["ETT"])  # neither the file nor a temporary copy remains


def test_http_404_is_one_line(served_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        fetch("ETTh1", data_dir=tmp_path / "root")
    assert "404" in info.value.message and "\n" not in info.value.message
    assert _all_files(tmp_path / "root") in ([], ["ETT"])


def test_server_down(tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens on this port any more
    monkeypatch.setenv("TSCL_DATA_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError) as info:
        fetch("ETTh1", data_dir=tmp_path / "root")
    assert "cannot connect" in info.value.message and "\n" not in info.value.message
    assert "TSCL_DATA_MIRROR" in (info.value.hint or "") and "--data-dir" in (info.value.hint or "")
    assert _all_files(tmp_path / "root") in ([], ["ETT"])


def test_mirror_serves_classification_files(served_dir: Path, shared_datasets: Path, tmp_path: Path) -> None:
    for part in ("TRAIN", "TEST"):
        shutil.copy(shared_datasets / "UCR" / "Coffee" / f"Coffee_{part}.tsv", served_dir)
    paths = fetch("Coffee", data_dir=tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "UCR/Coffee/Coffee_TRAIN.tsv",
        "UCR/Coffee/Coffee_TEST.tsv",
    ]


def test_no_url_and_no_mirror(tmp_path: Path, isolated_data_env: Path) -> None:
    with pytest.raises(DownloadError) as info:
        fetch("electricity", data_dir=tmp_path)
    assert "electricity" in info.value.message
    assert "TSCL_DATA_MIRROR" in (info.value.hint or "")
