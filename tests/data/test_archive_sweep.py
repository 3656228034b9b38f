"""A sweep over a whole archive (``datasets = "UEA:all"``): missing datasets are fetched first, those that
cannot be fetched fail alone, and the summary reports the archive average and how many datasets are done."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.data.served import Mirror, write_zip
from tscl.sweep import run_sweep

TINY = {"iters": 2, "repr_dims": 8, "hidden_dims": 8, "depth": 1, "batch_size": 4, "max_train_length": 64,
        "device": "cpu", "threads": 1, "plots": False, "baselines": False}  # fmt: skip


def _serve_uea(mirror: Mirror, name: str, seed: int) -> None:
    """A small two-class, two-channel UEA-layout zip."""
    rng = np.random.default_rng(seed)
    files = {}
    for part, cases in (("TRAIN", 12), ("TEST", 8)):
        lines = ["@problemName x", "@dimensions 2", "@equalLength true", "@seriesLength 20", "@classLabel true a b"]
        lines.append("@data")
        for case in range(cases):
            values = rng.normal(loc=case % 2, size=(2, 20)).round(3)
            lines.append(":".join(",".join(map(str, row)) for row in values) + f":{'ab'[case % 2]}")
        files[f"{name}_{part}.ts"] = ("\n".join(lines) + "\n").encode()
    write_zip(mirror.folder / f"{name}.zip", files)


@pytest.mark.usefixtures("one_thread")
def test_sweep_over_an_archive(mirror: Mirror, tmp_path: Path, isolated_data_env: Path) -> None:
    _serve_uea(mirror, "Libras", 0)
    _serve_uea(mirror, "Epilepsy", 1)  # no pinned sums (ERing has)
    grid = {"datasets": "UEA:all", "seeds": [0], "output": str(tmp_path / "sweep"), "base": TINY}
    events: list[str] = []
    result = run_sweep(grid, on_event=lambda e: events.append(e.message) if e.kind == "fetch" else None)
    assert len(result.trials) == 30
    finished = sorted(t.dataset for t in result.trials if t.status == "finished")
    assert finished == ["BasicMotions", "Epilepsy", "JapaneseVowels", "Libras"]  # fetched, or bundled with aeon
    cricket = next(t for t in result.trials if t.dataset == "Cricket")
    assert cricket.status == "failed" and cricket.error.startswith("fetching Cricket failed: download of ")
    assert "HTTP 404" in cricket.error and "Libras: fetched" in events and len(events) == 28
    (archive,) = result.archives
    assert (archive["archive"], archive["datasets"], archive["done"]) == ("UEA", 30, 4)
    accuracies = [row["metrics"]["accuracy"]["mean"] for row in result.rows if row["n"]]
    assert archive["metrics"]["accuracy"] == pytest.approx(sum(accuracies) / 4)
    summary = json.loads((tmp_path / "sweep" / "summary.json").read_text())
    assert summary["archives"] == result.archives
    assert 'datasets = [\n    "UEA:all",\n]' in (tmp_path / "sweep" / "grid.toml").read_text()
    served = len(mirror.requests)
    again = run_sweep(grid)  # fetched sets are cached and done; the missing ones are tried again
    assert again.archives[0]["done"] == 4 and len(mirror.requests) == served + 26
    assert "/Libras.zip" not in mirror.requests[served:]
