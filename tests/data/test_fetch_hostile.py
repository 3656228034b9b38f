"""fetch() against the failures a user meets outside a lab: a full disk, damaged archives, a --data-dir that
is no folder, error pages served as data, proxies and redirect loops. Served on 127.0.0.1 (tests/data/served.py)."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli_helpers import one_line_error, run_cli
from tests.data.served import Mirror, all_files, write_zip
from tscl.data import fetch
from tscl.errors import DownloadError, TsclError

_REPO = Path(__file__).resolve().parents[2]
MANIFEST = [".tscl-manifest.json", ".tscl-manifest.lock"]


def _cli_with_file_size_limit(args: list[str], limit_bytes: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``tscl ARGS`` in a child process that may write no file larger than ``limit_bytes`` (RLIMIT_FSIZE: a
    disk that fills up, without root). Python ignores SIGXFSZ, so such a write fails with EFBIG."""
    code = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes})); "
        f"sys.argv = ['tscl', *{args!r}]; "
        "runpy.run_module('tscl', run_name='__main__')"
    )
    env = {**os.environ, "PYTHONPATH": str(_REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


@pytest.mark.parametrize("where", ["download", "unpack"])
def test_a_full_disk_is_reported_as_a_write_failure(where: str, mirror: Mirror, tmp_path: Path) -> None:
    big = b"0.5," * 100_000  # 400 kB: over the limit below, whether downloaded as is or unpacked from a zip
    if where == "download":
        (mirror.folder / "ETTm2.csv").write_bytes(big)
        name = "ETTm2"
    else:
        write_zip(mirror.folder / "PLAID.zip", {"PLAID_TRAIN.ts": big, "PLAID_TEST.ts": b"@data\n"})
        name = "PLAID"
    root = tmp_path / "root"
    done = _cli_with_file_size_limit(["data", "fetch", name, "--data-dir", str(root)], 100_000, tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0] == f"error: {root} must take the files of {name} but writing failed: File too large"
    assert "disk space" in lines[1] and "network" not in done.stderr and "damaged" not in done.stderr
    if where == "download":  # the bytes that fitted are kept: once there is room, the same command resumes
        assert lines[1].startswith("hint: run the same command again to resume (100.0 kB of 400.0 kB of ETTm2.csv")
        parked = [".tscl-partial", *(f".tscl-partial/ETTm2.csv/ETTm2.csv.part{e}" for e in ("", ".json"))]
        assert all_files(root) == [".tscl-partial", ".tscl-partial/ETTm2.csv", *parked[1:]]
    else:
        assert all_files(root) == []


def _damaged_deflate(path: Path) -> None:
    """A zip whose directory is intact but whose compressed data is not (zipfile notices only when reading)."""
    write_zip(path, {"PLAID_TRAIN.ts": bytes(range(256)) * 400, "PLAID_TEST.ts": b"@data\n"})
    data = bytearray(path.read_bytes())
    for offset in range(80, 140):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _deflate64(path: Path) -> None:
    """A zip whose members say Deflate64 (method 9), which zipfile cannot read."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in ("PLAID_TRAIN.ts", "PLAID_TEST.ts"):  # a fixed date: the same bytes every run
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), b"@data\n")
    # version needed 2.0, no flags, then the method: in each local header and each central directory entry
    data = path.read_bytes().replace(b"\x14\x00\x00\x00\x00\x00", b"\x14\x00\x00\x00\x09\x00")
    path.write_bytes(data)


@pytest.mark.parametrize("damage", [_damaged_deflate, _deflate64])
def test_an_archive_zipfile_cannot_read_is_one_line(
    damage: Callable[[Path], None], mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage(mirror.folder / "PLAID.zip")
    root = tmp_path / "root"
    code, _, err = run_cli(["data", "fetch", "PLAID", "--data-dir", str(root)], capsys)
    one_line_error(code, err, "PLAID.zip must be a zip archive but it cannot be unpacked")
    assert all_files(root) == []


def test_a_damaged_gzip_is_one_line(mirror: Mirror, tmp_path: Path) -> None:
    data = bytearray(gzip.compress(bytes(range(256)) * 400))
    for offset in range(30, 90):
        data[offset] ^= 0xFF
    (mirror.folder / "traffic.txt.gz").write_bytes(bytes(data))
    with pytest.raises(DownloadError, match=r"^traffic.txt.gz must be a gzip archive but it cannot be unpacked"):
        fetch("traffic", data_dir=tmp_path / "root")
    assert all_files(tmp_path / "root") == []


@pytest.mark.parametrize("below", [False, True])
def test_a_data_dir_that_is_a_file_fails_once(
    below: bool, mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    root = a_file / "data" if below else a_file
    code, out, err = run_cli(["data", "fetch", "PLAID", "Libras", "--data-dir", str(root)], capsys)
    found = f"{a_file}, a folder above {root}, is a file" if below else f"{a_file} is a file"
    one_line_error(code, err, f"data directory must be a folder but {found}")
    assert "network" not in err and "failed" not in out and mirror.requests == []
    assert a_file.read_text() == "mine\n"


_LOGIN_PAGE = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body>Log in first</body></html>\n"


@pytest.mark.parametrize(
    ("served", "reason"),
    [(_LOGIN_PAGE, "must be the ETTm2 table but it is not"), ("date,HUFL\n2016-07-01 00:00:00,1.0\n", "'OT'")],
)
def test_an_unpinned_csv_that_is_no_table_is_refused(
    served: str, reason: str, mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (mirror.folder / "ETTm2.csv").write_text(served)  # ETTm2 has no pinned sha256
    root = tmp_path / "root"
    code, _, err = run_cli(["data", "fetch", "ETTm2", "--data-dir", str(root)], capsys)
    one_line_error(code, err, "ETTm2.csv from http://127.0.0.1", reason)
    assert all_files(root) == []  # not installed, no sum recorded: the next fetch downloads it again


@pytest.mark.parametrize("command", [["verify"], ["verify", "ETTh1"], ["list"], ["list", "--cached"]])
def test_a_data_dir_that_does_not_exist_is_refused(
    command: list[str], tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "datsets"
    code, out, err = run_cli(["data", *command, "--data-dir", str(typo)], capsys)
    one_line_error(code, err, f"data directory must exist but got {typo}")
    assert out == "" and not typo.exists()


def _closed_port() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = int(server.server_address[1])
    server.server_close()  # nothing listens on it any more
    return port


def test_network_failures_say_what_failed(mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failure() -> str:
        with pytest.raises(DownloadError) as info:
            fetch("ETTh1", data_dir=tmp_path / "root")
        assert info.value.message.startswith("download of ") and "\n" not in info.value.message
        assert all_files(tmp_path / "root") == []
        return info.value.message

    mirror.redirect_loop.add("ETTh1.csv")
    assert failure().endswith("but got: the server redirected too many times (a redirect loop)")
    monkeypatch.setenv("TSCL_DATA_MIRROR", mirror.url.replace("http://", "https://"))  # a plain-HTTP server
    assert "but got: the TLS (https) handshake failed: " in failure()
    monkeypatch.setenv("TSCL_DATA_MIRROR", mirror.url)
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    proxy = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("http_proxy", proxy)
    assert f"but got: cannot connect through {proxy} (set by http_proxy/https_proxy" in failure()


@pytest.mark.parametrize(
    ("name", "by_hand"),
    [
        ("ETTh1", "download {upstream}/ETT-small/ETTh1.csv elsewhere and put ETTh1.csv in {root}/ETT"),
        ("Libras", "download {upstream}/Libras.zip elsewhere and put Libras_TRAIN.ts, Libras_TEST.ts "
                   "(from the zip) in {root}/UEA/Libras"),
        ("traffic", "serve the folder holding traffic.txt.gz with `python -m http.server 8000` and set "
                    "TSCL_DATA_MIRROR="),
    ],
)  # fmt: skip
def test_offline_hint_says_where_the_files_go(
    name: str, by_hand: str, tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tscl.data.catalog import get_entry

    monkeypatch.setenv("TSCL_DATA_MIRROR", f"http://127.0.0.1:{_closed_port()}")
    root = tmp_path / "root"
    with pytest.raises(DownloadError) as info:
        fetch(name, data_dir=root)
    upstream = get_entry(name).downloads[0].url.rsplit("/", 2 if name == "ETTh1" else 1)[0]
    assert "cannot connect" in info.value.message
    assert by_hand.format(upstream=upstream, root=root) in (info.value.hint or "")


@pytest.mark.parametrize(("command", "name"), [("fetch", "gunpont"), ("fetch", "./mine.csv"), ("verify", "Lbras")])
def test_fetch_and_verify_ask_for_a_catalog_name(
    command: str, name: str, tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["data", command, name, "--data-dir", str(tmp_path)], capsys)
    one_line_error(code, err, f"dataset must be a catalog name but got {name!r}")
    assert "file path" not in err and "pass a path to a" not in err  # neither command takes a file


def test_a_fetch_that_loses_the_race_to_another_still_succeeds(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes fetch one dataset: the other installs the folder between this one's check and rename."""
    write_zip(mirror.folder / "Libras.zip", {"Libras_TRAIN.ts": b"train\n", "Libras_TEST.ts": b"test\n"})
    root = tmp_path / "root"
    real_rename = os.rename
    raced: list[bool] = []

    def rename_after_the_other(source: str | Path, target: str | Path) -> None:
        if Path(target) == root / "UEA" / "Libras" and not raced:  # the dataset's folder moving into place
            raced.append(True)
            fetch("Libras", data_dir=root)  # the other process, start to end
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", rename_after_the_other)
    paths = fetch("Libras", data_dir=root)
    assert raced and [p.read_text() for p in paths] == ["train\n", "test\n"]
    assert all_files(root) == [
        *MANIFEST,
        "UEA",
        "UEA/Libras",
        "UEA/Libras/Libras_TEST.ts",
        "UEA/Libras/Libras_TRAIN.ts",
    ]


def test_a_server_that_stops_sending_midway_is_no_connection_failure(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tscl.data import download

    monkeypatch.setattr(download, "TIMEOUT_SECONDS", 0.3)  # the reason names the limit; nothing is timed
    (mirror.folder / "ETTm2.csv").write_bytes(b"date,OT\n" + b"2016-07-01 00:00:00,1.0\n" * 20_000)
    mirror.stall.add("ETTm2.csv")
    with pytest.raises(DownloadError) as info:
        fetch("ETTm2", data_dir=tmp_path / "root")
    assert info.value.message.endswith("but got: the server stopped sending for 0.3 s before the whole file arrived")
    assert all_files(tmp_path / "root") == []


def test_staging_of_a_fetch_on_another_machine_is_left_alone(mirror: Mirror, tmp_path: Path) -> None:
    """A root shared between machines: a process id that does not run here may run there."""
    write_zip(mirror.folder / "Libras.zip", {"Libras_TRAIN.ts": b"train\n", "Libras_TEST.ts": b"test\n"})
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()  # a pid that runs on no machine here
    root = tmp_path / "root"
    elsewhere = root / f".tscl-fetch-{process.pid}-{socket.gethostname()}x-abc"
    (elsewhere / "download-0").mkdir(parents=True)
    (elsewhere / "download-0" / "tmpfile").write_bytes(b"half a file")
    fetch("Libras", data_dir=root)
    assert (elsewhere / "download-0" / "tmpfile").read_bytes() == b"half a file"


def test_a_cache_dir_that_is_a_file_names_its_variable(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "cache.txt"
    a_file.write_text("")
    monkeypatch.setenv("TSCL_CACHE_DIR", str(a_file))
    code, _, err = run_cli(["data", "fetch", "ETTh1"], capsys)
    one_line_error(code, err, f"data directory must be a folder but {a_file}, a folder above")
    assert "TSCL_CACHE_DIR" in err.splitlines()[1]


@pytest.mark.parametrize("bad", ["http://", "http://exa mple:80", "http://127.0.0.1:99999", "http://[::1"])
def test_a_mirror_url_requests_cannot_parse_fails_once(
    bad: str,
    tmp_path: Path,
    isolated_data_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TSCL_DATA_MIRROR", bad)
    root = tmp_path / "root"
    code, out, err = run_cli(["data", "fetch", "ETTh1", "Libras", "--data-dir", str(root)], capsys)
    one_line_error(code, err, f"TSCL_DATA_MIRROR must be an http:// or https:// URL but got {bad!r} (")
    assert "failed" not in out and not root.exists()


@pytest.mark.parametrize("command", [["list"], ["verify"], ["info", "GunPoint"]])
def test_a_data_dir_that_is_a_file_is_called_a_file(
    command: list[str], tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "GunPoint_TRAIN.ts"
    a_file.write_text("")
    code, _, err = run_cli(["data", *command, "--data-dir", str(a_file)], capsys)
    one_line_error(code, err, f"data directory must be a folder but {a_file} is a file")


def test_printed_paths_are_whole_and_literal(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Square brackets in a path are no rich markup, and a long line is not cut where a pipe's 80 columns end."""
    write_zip(mirror.folder / "Libras.zip", {"Libras_TRAIN.ts": b"train\n", "Libras_TEST.ts": b"test\n"})
    root = tmp_path / "[red]runs" / ("a-long-folder-name-" * 5)
    code, out, _ = run_cli(["data", "fetch", "Libras", "--data-dir", str(root)], capsys)
    files = f"{root}/UEA/Libras/Libras_TRAIN.ts, {root}/UEA/Libras/Libras_TEST.ts"
    assert code == 0 and out.splitlines() == [f"ok Libras: {files}"]
    (root / "UEA" / "Libras" / "Libras_TEST.ts").write_text("changed\n")
    monkeypatch.setenv("COLUMNS", "1000")  # the tables fold long cells at the terminal's width
    code, out, _ = run_cli(["data", "verify", "--data-dir", str(root)], capsys)
    assert code == 1 and f"{root}/UEA/Libras/Libras_TEST.ts" in out
    code, out, _ = run_cli(["data", "list", "--archive", "UEA", "--cached", "--data-dir", str(root)], capsys)
    assert code == 0 and f"{root}/UEA/Libras" in out


def test_fetch_missing_downloads_nothing_for_a_data_dir_that_is_no_folder(mirror: Mirror, tmp_path: Path) -> None:
    from tscl.data.fetch import fetch_missing

    (mirror.folder / "ETTh1.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")
    assert fetch_missing(["ETTh1"], tmp_path / "typo") == []
    assert mirror.requests == []  # the sweep's trials fail on the data directory, not after a download


@pytest.mark.parametrize(
    ("name", "selectors"), [("UCR", "UCR:all"), ("uea", "UEA:all"), ("all", "UCR:all UEA:all forecasting:all")]
)
def test_an_archive_named_alone_says_how_to_fetch_it(
    name: str, selectors: str, tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["data", "fetch", name, "--data-dir", str(tmp_path / "root")], capsys)
    one_line_error(code, err, f"dataset must be a catalog name but got {name!r}; a whole archive is {selectors}")
    assert "did you mean" not in err


@pytest.mark.parametrize("in_the_way", ["UEA/Libras", "UEA/Libras/Libras_TRAIN.ts/"])
def test_a_file_in_the_way_is_named(in_the_way: str, mirror: Mirror, tmp_path: Path) -> None:
    write_zip(mirror.folder / "Libras.zip", {"Libras_TRAIN.ts": b"train\n", "Libras_TEST.ts": b"test\n"})
    root = tmp_path / "root"
    blocker = root / in_the_way.rstrip("/")
    if in_the_way.endswith("/"):
        blocker.mkdir(parents=True)  # a folder where a file goes
    else:
        blocker.parent.mkdir(parents=True)
        blocker.write_text("mine\n")  # a file where a folder goes
    with pytest.raises(DownloadError) as info:
        fetch("Libras", data_dir=root)
    assert info.value.message.startswith(f"{root} must take the files of Libras but writing failed: ")
    assert info.value.message.endswith(f" (at {blocker})") and "in the way" in (info.value.hint or "")


@pytest.mark.parametrize("command", [["fetch", "ETTh1"], ["list"], ["info", "GunPoint"]])
def test_an_empty_data_dir_is_refused(
    command: list[str],
    mirror: Mirror,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--data-dir "$UNSET"`: not the current folder, where a fetch would leave its files and manifest."""
    (mirror.folder / "ETTh1.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, _, err = run_cli(["data", *command, "--data-dir", ""], capsys)
    one_line_error(code, err, "--data-dir", "must be a folder but got an empty value")
    assert all_files(work) == [] and mirror.requests == []


def _python_entry_points() -> dict[str, Callable[[str], object]]:
    import tscl
    from tscl.data.fetch import fetch_many, verify
    from tscl.sweep.grid import load_grid

    return {
        "fetch": lambda d: fetch("ETTh1", data_dir=d),
        "fetch_many": lambda d: fetch_many(["ETTh1"], data_dir=d),
        "verify": lambda d: verify(data_dir=d),
        "load_dataset": lambda d: tscl.load_dataset("GunPoint", data_dir=d),
        "RunConfig": lambda d: tscl.RunConfig(data_dir=d),
        "pretrain": lambda d: tscl.pretrain({"dataset": "GunPoint", "data_dir": d}),
        "resume": lambda d: tscl.resume("no-run", data_dir=d),
        "evaluate_run": lambda d: tscl.evaluate_run("no-run", data_dir=d),
        "encode_dataset": lambda d: tscl.encode_dataset("no-run", data_dir=d),
        "run_sweep grid": lambda d: tscl.run_sweep({"datasets": ["GunPoint"], "data_dir": d}),
        "run_sweep argument": lambda d: tscl.run_sweep(load_grid({"datasets": ["GunPoint"]}), data_dir=d),
    }


@pytest.mark.parametrize("entry", list(_python_entry_points()))
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_data_dir_is_refused_from_python(
    entry: str, empty: str, mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`data_dir=os.environ.get("DATA", "")` is refused as `--data-dir ""` is, not read as the current folder."""
    (mirror.folder / "ETTh1.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(TsclError) as caught:
        _python_entry_points()[entry](empty)
    assert "data_dir" in caught.value.message and "must be a folder" in caught.value.message, caught.value.message
    assert "empty value" in caught.value.message
    assert all_files(work) == [] and mirror.requests == []


def test_fetch_help_says_where_it_writes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(["data", "fetch", "--help"], capsys)
    assert code == 0 and "Where to write the files (default: $TSCL_DATA_DIR, else the user cache" in out
    assert "./datasets" not in out  # searched when loading, never written by fetch
