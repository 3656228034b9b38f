"""``tscl runs compare``: headline metrics and differing settings of runs and sweep folders; ``tscl runs``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli as _cli
from tscl.runs import compare_runs
from tscl.sweep import run_sweep

TINY = {"iters": 2, "repr_dims": 8, "hidden_dims": 8, "depth": 1, "batch_size": 4, "max_train_length": 64,
        "device": "cpu", "threads": 1, "plots": False}  # fmt: skip


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-trial sweep on GunPoint (lr 0.001 and 0.01), from aeon's offline copy."""
    output = tmp_path_factory.mktemp("compare") / "sweep"
    grid = {"datasets": ["GunPoint"], "seeds": [0], "output": str(output), "base": TINY,
            "grid": {"lr": [0.001, 0.01]}}  # fmt: skip
    assert run_sweep(grid).ok
    return output


def test_compare_json_shows_metrics_and_only_the_settings_that_differ(
    sweep_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = sorted((sweep_folder / "trials").iterdir())
    code, out, _ = _cli(["runs", "compare", *map(str, runs), "--json"], capsys)
    data = json.loads(out)
    # the validation metric first: the number to compare settings on
    assert code == 0 and data["differing"] == ["lr"] and data["metrics"] == ["cv_accuracy", "accuracy", "auprc"]
    for run, entry in zip(runs, data["runs"], strict=True):
        metrics = json.loads((run / "metrics.json").read_text())
        assert entry["run_dir"] == str(run) and entry["dataset"] == "GunPoint" and entry["stale"] is False
        assert list(entry["metrics"]) == ["cv_accuracy", "accuracy", "auprc"]
        assert entry["metrics"] == {key: metrics[key] for key in ("cv_accuracy", "accuracy", "auprc")}
        assert set(entry["settings"]) == {"lr"}
    assert sorted(e["settings"]["lr"] for e in data["runs"]) == [0.001, 0.01]


def test_a_sweep_folder_expands_to_its_runs_and_duplicates_are_dropped(sweep_folder: Path) -> None:
    one = next((sweep_folder / "trials").iterdir())
    comparison = compare_runs([sweep_folder, one])
    assert len(comparison.runs) == 2


def test_compare_table_and_errors(sweep_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["runs", "compare", str(sweep_folder)], capsys)
    assert code == 0 and "accuracy" in out and "lr" in out
    code, _, err = _cli(["runs", "compare", str(tmp_path / "nowhere")], capsys)
    assert code == 1 and err.startswith("error:") and "does not exist" in err
    (tmp_path / "empty").mkdir()
    code, _, err = _cli(["runs", "compare", str(tmp_path / "empty")], capsys)
    assert code == 1 and "holds no run directories" in err


def test_runs_still_lists_with_and_without_json(sweep_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["runs", "--runs-dir", str(sweep_folder), "--json"], capsys)
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2 and {r["status"] for r in rows} == {"finished"}
    code, out, _ = _cli(["runs", "--runs-dir", str(sweep_folder)], capsys)
    assert code == 0 and "GunPoint" in out


def test_compare_by_a_protocol_no_run_was_evaluated_by_names_the_protocols_they_have(
    sweep_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli_helpers import one_line_error

    code, out, err = _cli(["runs", "compare", str(sweep_folder), "--protocol", "bogus"], capsys)
    one_line_error(code, err, "--protocol", "'bogus'")
    assert "hint: their protocols: classification-svm" in err and not out
    code, out, err = _cli(["runs", "compare", str(sweep_folder), "--protocol", "classification-svm", "--json"], capsys)
    assert code == 0 and all(run["evaluated"] for run in json.loads(out)["runs"])
