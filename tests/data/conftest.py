"""Fixtures of the data tests: a local mirror of the upstreams on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.data.served import Mirror, serve


@pytest.fixture
def mirror(tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """A folder served over HTTP on 127.0.0.1; TSCL_DATA_MIRROR points at it."""
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    folder = tmp_path / "served"
    folder.mkdir()
    with serve(folder) as served:
        monkeypatch.setenv("TSCL_DATA_MIRROR", served.url)
        yield served
