"""Resumed downloads (tscl/data/transfer.py) against a real HTTP server on 127.0.0.1 that drops connections,
serves ranges, ignores them, or changes the file between attempts (tests/data/served.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.filesize import decimal

from tests.cli_helpers import run_cli
from tests.data.served import Mirror, all_files, etag_of
from tscl.data import fetch
from tscl.errors import DownloadError

ETTH1_SHA256 = "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"
MANIFEST = [".tscl-manifest.json", ".tscl-manifest.lock"]
INSTALLED = [*MANIFEST, "ETT", "ETT/ETTh1.csv"]
KEPT = 1_000_000  # bytes the first answer sends before the connection drops


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _part(root: Path, name: str = "ETTh1.csv") -> Path:
    return root / ".tscl-partial" / name / f"{name}.part"


def _interrupted_once(mirror: Mirror, root: Path, name: str = "ETTh1") -> None:
    """A first fetch whose connection drops after KEPT bytes: a one-line error saying how to resume."""
    file_name = f"{name}.csv"
    mirror.drop_after[file_name] = KEPT
    with pytest.raises(DownloadError) as info:
        fetch(name, data_dir=root)
    assert info.value.message.endswith("but got: the connection closed before the whole file arrived")
    total = (mirror.folder / file_name).stat().st_size
    assert (info.value.hint or "").startswith(
        f"run the same command again to resume (1.0 MB of {total / 1e6:.1f} MB of {file_name} kept); "
    )
    assert _part(root, file_name).read_bytes() == (mirror.folder / file_name).read_bytes()[:KEPT]


@pytest.fixture
def etth1(mirror: Mirror, shared_datasets: Path) -> Path:
    """The real ETTh1.csv (its sha256 pinned by the catalog) on the mirror."""
    return Path(shutil.copy(shared_datasets / "ETT" / "ETTh1.csv", mirror.folder / "ETTh1.csv"))


def test_an_interrupted_download_resumes_where_it_stopped(
    etth1: Path, mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tscl.data import download

    root = tmp_path / "root"
    mirror.drop_after["ETTh1.csv"] = KEPT
    code, _, err = run_cli(["data", "fetch", "ETTh1", "--data-dir", str(root)], capsys)
    size = etth1.stat().st_size
    assert code == 1 and err.splitlines()[1].startswith(
        f"hint: run the same command again to resume (1.0 MB of {size / 1e6:.1f} MB of ETTh1.csv kept)"
    )
    starts: list[tuple[int | None, int]] = []

    class RecordingBar(download._DownloadBar):
        def start(self, total: int | None, completed: int) -> None:
            starts.append((total, completed))
            super().start(total, completed)

    monkeypatch.setattr(download, "_on_terminal", lambda: True)
    monkeypatch.setattr(download, "_DownloadBar", RecordingBar)
    code, _, err = run_cli(["data", "fetch", "ETTh1", "--data-dir", str(root)], capsys)
    assert code == 0 and f"resuming ETTh1.csv at 1.0 MB of {size / 1e6:.1f} MB\n" in err
    first, second = mirror.answers
    assert (first.range, first.status, first.sent) == (None, 200, KEPT)
    assert (second.range, second.if_range) == (f"bytes={KEPT}-", etag_of(etth1.read_bytes()))
    assert (second.status, second.sent) == (206, size - KEPT)  # only the rest crossed the network
    assert starts == [(size, KEPT)]  # the bar starts at the bytes kept
    assert _sha256(root / "ETT" / "ETTh1.csv") == ETTH1_SHA256
    assert all_files(root) == INSTALLED  # the partial file became the installed one


def test_a_server_that_ignores_ranges_gives_the_whole_file_again(
    etth1: Path, mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    _interrupted_once(mirror, root)
    mirror.ignore_range.add("ETTh1.csv")
    capsys.readouterr()
    fetch("ETTh1", data_dir=root)
    second = mirror.answers[1]
    assert (second.range, second.status, second.sent) == (f"bytes={KEPT}-", 200, etth1.stat().st_size)
    assert _sha256(root / "ETT" / "ETTh1.csv") == ETTH1_SHA256  # the 200's body replaced the kept bytes
    assert all_files(root) == INSTALLED and "resuming" not in capsys.readouterr().err


def test_a_file_changed_upstream_is_downloaded_from_zero(mirror: Mirror, tmp_path: Path) -> None:
    """ETTm2 has no pinned sha256: only If-Range keeps old bytes from being glued to the new file's end."""
    start = datetime(2016, 7, 1)
    rows = (f"{start + timedelta(minutes=15 * i):%Y-%m-%d %H:%M:%S},1.0\n" for i in range(60_000))
    old = ("date,OT\n" + "".join(rows)).encode()
    new = old.replace(b",1.0\n", b",2.0\n")
    (mirror.folder / "ETTm2.csv").write_bytes(old)
    root = tmp_path / "root"
    _interrupted_once(mirror, root, "ETTm2")
    (mirror.folder / "ETTm2.csv").write_bytes(new)
    fetch("ETTm2", data_dir=root)
    second = mirror.answers[1]
    assert (second.range, second.if_range) == (f"bytes={KEPT}-", etag_of(old))
    assert (second.status, second.sent) == (200, len(new))
    assert (root / "ETT" / "ETTm2.csv").read_bytes() == new
    assert ".tscl-partial" not in all_files(root)


@pytest.mark.parametrize("kept", ["complete", "larger"])
def test_a_range_past_the_end_starts_over(kept: str, etth1: Path, mirror: Mirror, tmp_path: Path) -> None:
    """A 416: the kept bytes are the whole file (killed before the rename) or more than it."""
    root = tmp_path / "root"
    _interrupted_once(mirror, root)
    body = etth1.read_bytes()
    _part(root).write_bytes(body + (b"junk" if kept == "larger" else b""))
    fetch("ETTh1", data_dir=root)
    offset = len(body) + (4 if kept == "larger" else 0)
    assert [(a.range, a.status, a.sent) for a in mirror.answers[1:]] == [
        (f"bytes={offset}-", 416, 0),
        (None, 200, len(body)),
    ]
    assert _sha256(root / "ETT" / "ETTh1.csv") == ETTH1_SHA256 and all_files(root) == INSTALLED


def test_a_checksum_mismatch_after_resuming_removes_the_partial_file(
    etth1: Path, mirror: Mirror, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    _interrupted_once(mirror, root)
    damaged = bytearray(_part(root).read_bytes())
    damaged[10] ^= 0xFF  # e.g. a disk error in the kept bytes: the server's validator still matches
    _part(root).write_bytes(bytes(damaged))
    with pytest.raises(DownloadError, match=rf"^sha256 of ETTh1.csv must be {ETTH1_SHA256} but got "):
        fetch("ETTh1", data_dir=root)
    assert mirror.answers[1].status == 206 and all_files(root) == []  # nothing kept: a retry starts fresh
    fetch("ETTh1", data_dir=root)
    assert (mirror.answers[2].range, mirror.answers[2].status) == (None, 200)
    assert _sha256(root / "ETT" / "ETTh1.csv") == ETTH1_SHA256


def test_ctrl_c_keeps_the_bytes_and_says_how_to_resume(
    etth1: Path, mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tscl.data import download

    class CtrlC(download._DownloadBar):
        def update(self, advance: int) -> None:
            raise KeyboardInterrupt  # the first chunk is written before the bar hears of it

    monkeypatch.setattr(download, "_on_terminal", lambda: True)
    monkeypatch.setattr(download, "_DownloadBar", CtrlC)
    root = tmp_path / "root"
    code, _, err = run_cli(["data", "fetch", "ETTh1", "Libras", "--data-dir", str(root)], capsys)
    kept = _part(root).stat().st_size
    size = etth1.stat().st_size
    assert code == 130 and 0 < kept < size, err
    assert err.strip().splitlines() == [  # (the transient progress bar leaves an empty line)
        f"error: interrupted: the download of ETTh1.csv stopped at {decimal(kept)} of {decimal(size)}",
        "hint: run the same command again to resume it",
    ]
    assert mirror.requests == ["/ETTh1.csv"]  # Ctrl-C stops every dataset, not only the one downloading
    monkeypatch.setattr(download, "_on_terminal", lambda: False)  # no bar: no Ctrl-C
    fetch("ETTh1", data_dir=root)
    assert (mirror.answers[1].range, mirror.answers[1].sent) == (f"bytes={kept}-", size - kept)
    assert _sha256(root / "ETT" / "ETTh1.csv") == ETTH1_SHA256


def test_the_bytes_of_a_killed_fetch_are_resumed(etth1: Path, mirror: Mirror, tmp_path: Path) -> None:
    """A fetch killed mid-download (no chance to park its partial file): the next fetch finds it in the staging
    folder of the dead process and resumes it."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    root = tmp_path / "root"
    work = root / f".tscl-fetch-{process.pid}-{socket.gethostname()}-abc" / "download-0" / "ETTh1.csv.partial"
    work.mkdir(parents=True)
    body = etth1.read_bytes()
    (work / "ETTh1.csv.part").write_bytes(body[:KEPT])
    sidecar = {"url": f"{mirror.url}/ETTh1.csv", "validator": etag_of(body), "total": len(body)}
    (work / "ETTh1.csv.part.json").write_text(json.dumps(sidecar))
    fetch("ETTh1", data_dir=root)
    assert [(a.range, a.status, a.sent) for a in mirror.answers] == [(f"bytes={KEPT}-", 206, len(body) - KEPT)]
    assert _sha256(root / "ETT" / "ETTh1.csv") == ETTH1_SHA256 and all_files(root) == INSTALLED


def test_a_partial_file_from_another_url_is_not_resumed(etth1: Path, mirror: Mirror, tmp_path: Path) -> None:
    root = tmp_path / "root"
    _interrupted_once(mirror, root)
    sidecar = _part(root).with_name("ETTh1.csv.part.json")
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "url": "http://elsewhere/ETTh1.csv"}))
    fetch("ETTh1", data_dir=root)
    assert (mirror.answers[1].range, mirror.answers[1].status) == (None, 200)
    assert _sha256(root / "ETT" / "ETTh1.csv") == ETTH1_SHA256 and all_files(root) == INSTALLED
    assert not os.path.exists(root / ".tscl-partial")
