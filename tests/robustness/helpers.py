"""Helpers of the robustness suite: driving the CLI in-process and as ``python -m tscl``, folder snapshots."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli  # noqa: F401  (re-exported for the suite)

ROOT = Path(__file__).parents[2]
TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]
_ENV_VARIABLES = ("TSCL_DATA_DIR", "TSCL_DATA_MIRROR", "TSCL_RUNS_DIR", "TSCL_CACHE_DIR")


def run_module(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``python -m tscl ARGS`` (the real console entry point) without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "tscl", *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The current environment without tscl variables, a private cache, the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_VARIABLES}
    env.update({"PYTHONPATH": str(ROOT), "TSCL_CACHE_DIR": str(tmp_path / "cache"), **extra})
    return env


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    """Exit code 1, an ``error:`` line (and at most one ``hint:`` line), no traceback; returns the error line."""
    lines = err.strip().splitlines()
    assert code == 1, f"exit code {code}, stderr:\n{err}"
    assert "Traceback" not in err, err
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def snapshot(*roots: Path) -> dict[str, tuple[str, int, str]]:
    """Every file and folder under ``roots`` with its kind, size and content hash (to prove nothing changed)."""
    state: dict[str, tuple[str, int, str]] = {}
    for root in roots:
        if not root.exists():
            state[str(root)] = ("absent", 0, "")
            continue
        for path in [root, *sorted(root.rglob("*"))]:
            if path.is_dir():
                state[str(path)] = ("dir", 0, "")
            else:
                data = path.read_bytes()
                state[str(path)] = ("file", len(data), hashlib.sha256(data).hexdigest())
    return state


@contextlib.contextmanager
def isolated_env(work: Path) -> Iterator[Path]:
    """cwd ``work`` (so ``./runs`` is in it), a private cache, no other tscl variables (for session fixtures)."""
    with pytest.MonkeyPatch.context() as patch:
        work.mkdir(parents=True, exist_ok=True)
        patch.chdir(work)
        for variable in _ENV_VARIABLES:
            patch.delenv(variable, raising=False)
        patch.setenv("TSCL_CACHE_DIR", str(work / "cache"))
        yield work


def copy_run(source: Path, destination: Path) -> Path:
    """A private copy of a run directory that a test may damage."""
    shutil.copytree(source, destination)
    return destination
