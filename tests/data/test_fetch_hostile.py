"""fetch() against the failures a user meets outside a lab: a full disk, damaged archives, a --data-dir that
is no folder, error pages served as data, proxies and redirect loops. Served on 127.0.0.1 (tests/data/served.py)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data.served import Mirror, all_files, write_zip

_REPO = Path(__file__).resolve().parents[2]


def _cli_with_file_size_limit(args: list[str], limit_bytes: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``tscl ARGS`` in a child process that may write no file larger than ``limit_bytes`` (RLIMIT_FSIZE: a
    disk that fills up, without root). Python ignores SIGXFSZ, so such a write fails with EFBIG."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {**os.environ, "PYTHONPATH": str(_REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tscl", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=limit,
        timeout=120,
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
    assert all_files(root) == []
