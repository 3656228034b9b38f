"""The runs package's files: atomic writes leave nothing partial, one metrics reader, listing, stored metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tscl.errors import CheckpointError
from tscl.runs import list_runs
from tscl.runs.evaluation import stored_metrics
from tscl.runs.files import read_json, read_json_or_none, write_csv, write_json
from tscl.runs.layout import CONFIG, META, METRICS, check_run_dir
from tscl.runs.metrics import headline_metrics, headline_text, read_metrics

FORECAST = {"task": "forecasting", "mean": {"mse": 0.1234, "mae": 0.25}, "horizons": {}}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    write_json(path, {"step": 1})
    circular: dict = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular"):
        write_json(path, circular)
    assert json.loads(path.read_text()) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]


def test_csv_rows_from_sequences_and_mappings(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", ["x", "y"], [[1, 2], {"y": 4, "x": 3}, {"x": 5}])
    assert (tmp_path / "a.csv").read_text().splitlines() == ["x,y", "1,2", "3,4", "5,"]


def test_strict_and_lenient_json_readers(tmp_path: Path) -> None:
    good, broken, listing = tmp_path / "good.json", tmp_path / "broken.json", tmp_path / "list.json"
    good.write_text('{"a": 1}')
    broken.write_text("{not json")
    listing.write_text("[1, 2]")
    assert read_json(good, "x") == read_json_or_none(good) == {"a": 1}
    with pytest.raises(CheckpointError, match="run metadata .*broken.json is corrupted"):
        read_json(broken, "run metadata")
    with pytest.raises(CheckpointError, match="must hold a JSON object"):
        read_json(listing, "metrics")
    with pytest.raises(CheckpointError, match="does not exist"):
        read_json(tmp_path / "none.json", "metrics")
    assert read_json_or_none(broken) is None and read_json_or_none(listing) is None
    assert read_json_or_none(tmp_path / "none.json") is None


def _run(root: Path, name: str, created: str, metrics: dict | None = None, meta: str | None = None) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / CONFIG).write_text('dataset = "GunPoint"\n')
    (run / META).write_text(meta or json.dumps({"dataset": "GunPoint", "objective": "ts2vec", "status": "finished",
                                                "step": 5, "created": created}))  # fmt: skip
    if metrics is not None:
        (run / METRICS).write_text(json.dumps(metrics))
    return run


def test_listing_reads_every_run_through_the_metrics_reader(tmp_path: Path) -> None:
    _run(tmp_path, "old", "2026-01-01T00:00:00", FORECAST)
    _run(tmp_path, "new", "2026-02-01T00:00:00")
    _run(tmp_path / "sweep" / "trials", "deep", "2025-12-01T00:00:00", {"task": "classification", "accuracy": 0.9,
                                                                          "auprc": 0.8})  # fmt: skip
    _run(tmp_path, "bad", "x", meta="{oops")
    rows = list_runs(tmp_path)
    assert [Path(r["run_dir"]).name for r in rows] == ["new", "old", "deep", "bad"]
    assert rows[0]["headline_text"] == "-" and rows[1]["headline_text"] == "MSE 0.123 / MAE 0.250"
    assert rows[0]["headline"] == {} and rows[1]["headline"] == {"mse": 0.1234, "mae": 0.25}
    assert rows[3]["status"] == "unreadable"
    assert list_runs(tmp_path / "nowhere") == []
    assert headline_metrics(FORECAST) == {"mse": 0.1234, "mae": 0.25}
    assert headline_metrics(None) == {} and headline_text({"task": "unknown-task"}) == "-"


def test_stored_metrics_explains_what_is_missing(tmp_path: Path) -> None:
    run = _run(tmp_path, "r", "2026-01-01T00:00:00")
    with pytest.raises(CheckpointError, match="has no metrics.json yet"):
        stored_metrics(run)
    (run / METRICS).write_text("[]")
    with pytest.raises(CheckpointError, match="is corrupted"):
        stored_metrics(run)
    (run / METRICS).write_text(json.dumps(FORECAST))
    assert stored_metrics(run) == read_metrics(run) == FORECAST
    with pytest.raises(CheckpointError, match="is not a tscl run directory"):
        check_run_dir(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        stored_metrics(tmp_path / "missing")


def test_written_files_get_the_mode_of_the_umask_not_private_temporaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_data_env: Path
) -> None:
    import os
    import stat

    from tests.cli_helpers import run_cli

    run = tmp_path / "run"
    previous = os.umask(0o027)
    try:
        tiny = ["--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1"]
        code, _, err = run_cli(["pretrain", "--iters", "2", "--run-dir", str(run), *tiny], capsys)
        assert code == 0, err
        code, _, err = run_cli(["evaluate", str(run), "--threads", "1"], capsys)
        assert code == 0, err
    finally:
        os.umask(previous)
    files = [path for path in run.rglob("*") if path.is_file()]
    assert any(path.suffix == ".png" for path in files) and any(path.suffix == ".pt" for path in files)
    modes = {path.relative_to(run).as_posix(): stat.S_IMODE(path.stat().st_mode) for path in files}
    assert modes == dict.fromkeys(modes, 0o640)  # as open() makes them: readable by the group, never 0600
