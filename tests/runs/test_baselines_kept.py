"""``tscl evaluate --no-baselines`` over an evaluation that measured the baselines keeps them (they do not depend
on the pretrained weights), as long as they were measured with the same protocol, data and seeds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli

TINY = ["--iters", "1", "--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--device", "cpu",
        "--threads", "1"]  # fmt: skip
QUICK = ["--threads", "1", "--no-plots", "--json"]
BASELINES = {"random init", "raw input"}


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--dataset", "GunPoint", *TINY, "--run-dir", str(folder)], capsys)
    assert code == 0, err
    return folder


def _evaluate(folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run_cli(["evaluate", str(folder), *QUICK, *args], capsys)
    assert code == 0, err
    return json.loads(out)


def test_no_baselines_keeps_the_stored_baselines_of_a_classification_evaluation(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _evaluate(run, capsys)
    assert set(first["baselines"]) == BASELINES
    again = _evaluate(run, capsys, "--no-baselines")
    stored = json.loads((run / "metrics.json").read_text())
    assert stored["baselines"] == again["baselines"] == first["baselines"]
    assert stored["provenance"]["baselines_evaluated"] == first["provenance"]["evaluated"]
    with (run / "metrics.csv").open() as file:
        assert {row["model"] for row in csv.DictReader(file)} == {"tscl", *BASELINES}
    # measured with another head seed: not the baselines of this evaluation, so none is kept
    other = _evaluate(run, capsys, "--no-baselines", "--seed", "1")
    assert other["baselines"] == {} and "baselines_evaluated" not in other["provenance"]


def test_no_baselines_keeps_the_stored_baselines_of_a_label_efficiency_evaluation(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--label-fraction", "1,0.5", "--seeds", "1", "--protocols", "linear"]
    first = _evaluate(run, capsys, *args)
    again = _evaluate(run, capsys, *args, "--no-baselines")
    for fraction in ("1", "0.5"):
        assert set(again["results"][fraction]["linear"]) == {"tscl", *BASELINES}
        for name in BASELINES:
            assert again["results"][fraction]["linear"][name] == first["results"][fraction]["linear"][name]
    stored = json.loads((run / again["provenance"]["file"]).read_text())
    assert stored["results"] == again["results"]
