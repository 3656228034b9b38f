"""Evaluations record what they were computed from; other datasets and protocols are stored beside the run's
own metrics; metrics of an earlier checkpoint are marked stale by ``tscl runs``, ``tscl report`` and
``tscl runs compare``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import tscl
from tests.cli_helpers import run_cli
from tscl.data.locate import locate

TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]
FAST = ["--no-baselines", "--no-plots", "--json"]
LEGACY = Path(__file__).parents[1] / "fixtures" / "legacy_runs"


@pytest.fixture
def run(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A finished 4-iteration GunPoint run in ``tmp_path/runs``."""
    run_dir = tmp_path / "runs" / "gunpoint"
    code, _, err = run_cli(["pretrain", "--iters", "4", *TINY, "--run-dir", str(run_dir)], capsys)
    assert code == 0, err
    return run_dir


def _evaluate(run: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run_cli(["evaluate", str(run), *args, *FAST], capsys)
    assert code == 0, err
    return json.loads(out)


def _listed(run: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run_cli(["runs", "--runs-dir", str(run.parent), "--json"], capsys)
    assert code == 0, err
    return next(row for row in json.loads(out) if row["run_dir"] == str(run))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_another_dataset_is_stored_beside_and_the_runs_own_metrics_stay(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = _evaluate(run, capsys)
    before = {name: (run / name).read_bytes() for name in ("metrics.json", "metrics.csv")}
    other = _evaluate(run, capsys, "--dataset", "ItalyPowerDemand")

    assert {name: (run / name).read_bytes() for name in before} == before  # untouched
    folder = run / "evaluations" / "ItalyPowerDemand-classification-svm"
    assert json.loads((folder / "metrics.json").read_text()) == other
    assert (folder / "metrics.csv").read_text().startswith("model,accuracy,auprc,cv_accuracy")
    row = _listed(run, capsys)
    assert row["headline_text"] == f"CV accuracy {own['cv_accuracy']:.3f} · acc {own['accuracy']:.3f}"  # still its own
    assert row["evaluations"] == [folder.name] and row["stale"] is False and row["status"] == "finished"
    code, out, _ = run_cli(["runs", "--runs-dir", str(run.parent)], capsys)
    assert code == 0 and f"{own['accuracy']:.3f}" in out and "evaluations of other datasets" in out

    # What each evaluation was computed from.
    checkpoint = run / "checkpoints" / "last.pt"
    digest = (run / "checkpoints" / "last.pt.sha256").read_text().strip()
    files = {path.name: _sha256(path) for path in locate("ItalyPowerDemand").paths}
    provenance = other["provenance"]
    assert provenance["checkpoint"] == {"step": 4, "sha256": digest} and digest == _sha256(checkpoint)
    assert provenance["dataset"] == {"name": "ItalyPowerDemand", "files": files}
    assert provenance["task"] == "classification" and provenance["protocol"] == "classification-svm"
    assert provenance["settings"] == {"head": "svm", "head_options": {}}
    assert (provenance["seed"], provenance["run_seed"], provenance["tscl"]) == (0, 42, tscl.__version__)
    assert provenance["run_status"] == "finished"
    assert provenance["file"] == "evaluations/ItalyPowerDemand-classification-svm/metrics.json"
    assert own["provenance"]["file"] == "metrics.json" and own["provenance"]["dataset"]["name"] == "GunPoint"

    # Another protocol on the run's own dataset is stored beside too; the report reads either folder.
    knn = _evaluate(run, capsys, "--head", "knn")
    assert knn["provenance"]["protocol"] == "classification-knn"
    assert (run / "evaluations" / "GunPoint-classification-knn" / "metrics.json").is_file()
    assert {name: (run / name).read_bytes() for name in before} == before
    code, out, _ = run_cli(["report", str(folder)], capsys)
    assert code == 0 and "ItalyPowerDemand" in out and "stale" not in out
    code, out, _ = run_cli(["report", str(run)], capsys)
    assert code == 0 and "GunPoint-classification-knn" in out and "ItalyPowerDemand-classification-svm" in out


def test_extending_a_run_makes_its_metrics_stale_until_evaluated_again(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _evaluate(run, capsys)
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--iters", "6"], capsys)
    assert code == 0, err

    row = _listed(run, capsys)
    assert row["stale"] is True and row["step"] == 6 and "step 4" in row["stale_reason"]
    code, out, _ = run_cli(["runs", "--runs-dir", str(run.parent)], capsys)
    assert code == 0 and "stale" in out and "earlier checkpoint" in out  # the column and its footnote
    code, out, _ = run_cli(["report", str(run)], capsys)
    assert code == 0 and "stale: computed at step 4, the latest checkpoint is step 6" in " ".join(out.split())
    code, out, _ = run_cli(["report", str(run), "--json"], capsys)
    assert json.loads(out)["stale"] is True
    code, out, _ = run_cli(["runs", "compare", str(run), "--json"], capsys)
    assert code == 0 and json.loads(out)["runs"][0]["stale"] is True
    code, out, _ = run_cli(["runs", "compare", str(run)], capsys)
    assert code == 0 and "stale" in out

    assert _evaluate(run, capsys)["provenance"]["checkpoint"]["step"] == 6
    assert _listed(run, capsys)["stale"] is False


def test_runs_of_older_versions_are_listed_and_their_metrics_judged_by_time(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "runs" / "legacy"
    shutil.copytree(LEGACY / "ts2vec", run)
    metrics = {"task": "classification", "accuracy": 0.5, "auprc": 0.5, "head": "svm"}  # no provenance
    (run / "metrics.json").write_text(json.dumps(metrics))
    checkpoint = (run / "checkpoints" / "last.pt").stat().st_mtime
    os.utime(run / "metrics.json", (checkpoint + 10, checkpoint + 10))
    row = _listed(run, capsys)
    assert row["status"] == "finished" and row["stale"] is False and row["headline_text"] == "acc 0.500"
    os.utime(run / "metrics.json", (checkpoint - 10, checkpoint - 10))
    assert _listed(run, capsys)["stale"] is True

    # Evaluated now: the same protocol replaces metrics.json; the hash of the bytes loaded is recorded.
    metrics = _evaluate(run, capsys)
    assert metrics["provenance"]["checkpoint"] == {"step": 4, "sha256": _sha256(run / "checkpoints" / "last.pt")}
    assert json.loads((run / "metrics.json").read_text()) == metrics and not (run / "evaluations").exists()
    assert _listed(run, capsys)["stale"] is False


def test_an_evaluation_stored_beside_says_which_evaluation_the_run_keeps_as_its_own(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first evaluation of a run's own data (here by the knn head) stays its own metrics.json; a later one by
    the default head goes beside, and the message says so rather than calling it another dataset."""
    _evaluate(run, capsys, "--head", "knn")
    code, out, err = run_cli(["evaluate", str(run), "--no-baselines", "--no-plots"], capsys)
    assert code == 0, err
    text = " ".join(out.split())
    assert "which keeps its first evaluation on its own data, by classification-knn" in text
    assert "this one is GunPoint-classification-svm" in text and "not the run's own dataset" not in text
    assert (run / "evaluations" / "GunPoint-classification-svm" / "metrics.json").exists()
