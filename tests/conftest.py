"""Shared pytest fixtures: the real files in ``shared/datasets`` and an isolated data environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
_DEFAULT_SHARED = Path(__file__).parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """Root of the shared real datasets (``$TSCL_SHARED_DATASETS`` overrides); skips the test when absent."""
    root = Path(os.environ.get("TSCL_SHARED_DATASETS") or _DEFAULT_SHARED)
    if not root.is_dir():
        pytest.skip(f"shared datasets not found at {root} (set TSCL_SHARED_DATASETS)")
    return root


@pytest.fixture
def fixtures_dir() -> Path:
    """Folder of tiny hand-written (mostly malformed) data files."""
    return FIXTURES


@pytest.fixture
def isolated_data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty cwd and cache, no data-dir or mirror variables: only explicit roots and aeon's copies are seen.

    Returns:
        The temporary cache root (``$TSCL_CACHE_DIR``).
    """
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for variable in ("TSCL_DATA_DIR", "TSCL_DATA_MIRROR"):
        monkeypatch.delenv(variable, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TSCL_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models on one torch thread: two OpenMP threads stall on barriers when the CPU is busy."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
