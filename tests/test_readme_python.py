"""The README's Python API example runs as written (in a temporary folder) and gives what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_the_python_api_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = next(b for b in _python_blocks() if "tscl.TS2Vec(seed=42)" in b)
    monkeypatch.chdir(tmp_path)  # it writes gunpoint.pt and runs/api where it runs
    scope: dict[str, object] = {}
    exec(compile(block, "README.md (Python API)", "exec"), scope)
    assert scope["train_repr"].shape == (50, 320)  # type: ignore[attr-defined]
    assert (tmp_path / "gunpoint.pt").is_file()
    assert scope["result"].steps == 50  # type: ignore[attr-defined]
    assert [row["run_dir"] for row in scope["rows"]] == [str(Path("runs/api"))]  # type: ignore[attr-defined]
    assert scope["rows"][0]["step"] == 100  # type: ignore[index]
    assert scope["reprs"].shape[0] == 150  # GunPoint's test set  # type: ignore[attr-defined]
    assert "accuracy" in str(scope["metrics"])
