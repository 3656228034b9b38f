"""End-to-end CLI: pretrain -> resume -> encode -> evaluate -> report -> runs, on offline real data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli_helpers import run_cli

TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]
ROOT = Path(__file__).parents[2]


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    return {**state["net"], **{f"avg.{k}": v for k, v in state["averaged"].items()}}


@pytest.fixture
def gunpoint_run(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run = tmp_path / "run"
    code, out, err = run_cli(["pretrain", "--iters", "4", *TINY, "--run-dir", str(run), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["steps"] == 4
    return run


def test_pretrain_writes_a_complete_run_directory(gunpoint_run: Path) -> None:
    for name in ("config.toml", "meta.json", "losses.csv", "checkpoints/last.pt", "plots/loss.png"):
        assert (gunpoint_run / name).is_file(), name
    meta = json.loads((gunpoint_run / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == 4 and meta["dataset"] == "GunPoint"
    assert {"tscl", "torch", "python"} <= set(meta["versions"])
    assert {"load_data_s", "train_s", "checkpoints_s", "representation_s", "plots_s", "total_s"} <= set(meta["timings"])
    assert len((gunpoint_run / "losses.csv").read_text().strip().splitlines()) == 5


def test_resume_extends_and_matches_a_straight_run(
    gunpoint_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["pretrain", "--resume", str(gunpoint_run), "--iters", "7"], capsys)
    assert code == 0, err
    straight = tmp_path / "straight"
    code, _, err = run_cli(["pretrain", "--iters", "7", *TINY, "--run-dir", str(straight)], capsys)
    assert code == 0, err
    a, b = weights(gunpoint_run), weights(straight)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert json.loads((gunpoint_run / "meta.json").read_text())["step"] == 7


def test_config_file_reruns_the_same_training(
    gunpoint_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = tmp_path / "again"
    code, _, err = run_cli(["pretrain", "--config", str(gunpoint_run / "config.toml"), "--run-dir", str(again)], capsys)
    assert code == 0, err
    a, b = weights(gunpoint_run), weights(again)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_encode_and_evaluate_and_report(gunpoint_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reprs.npy"
    code, _, err = run_cli(["encode", str(gunpoint_run), "--out", str(out), "--split", "test"], capsys)
    assert code == 0, err
    assert np.load(out).shape == (150, 16)
    code, stdout, err = run_cli(["evaluate", str(gunpoint_run), "--json"], capsys)
    assert code == 0, err
    metrics = json.loads(stdout)
    assert metrics["task"] == "classification" and 0.0 <= metrics["accuracy"] <= 1.0
    assert set(metrics["baselines"]) == {"random init", "raw input"}
    assert metrics["paper"] == {"accuracy": 0.98}
    assert json.loads((gunpoint_run / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    assert (gunpoint_run / "metrics.csv").read_text().startswith("model,accuracy,auprc")
    for plot in ("embedding.png", "confusion.png"):
        assert (gunpoint_run / "plots" / plot).stat().st_size > 1000
    code, stdout, _ = run_cli(["report", str(gunpoint_run)], capsys)
    assert code == 0 and "accuracy" in stdout and f"{metrics['accuracy']:.3f}" in stdout
    code, stdout, _ = run_cli(["runs", "--runs-dir", str(gunpoint_run.parent), "--json"], capsys)
    assert code == 0 and any(r["run_dir"] == str(gunpoint_run) for r in json.loads(stdout))


def test_evaluate_without_baselines_keeps_the_encoders_numbers(
    gunpoint_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = run_cli(["evaluate", str(gunpoint_run), "--json", "--no-plots"], capsys)
    assert code == 0, err
    full = json.loads(stdout)
    code, stdout, err = run_cli(["evaluate", str(gunpoint_run), "--json", "--no-plots", "--no-baselines"], capsys)
    assert code == 0, err
    alone = json.loads(stdout)
    # the baselines measured before (same protocol, data and seeds) are kept; none were measured this time
    assert alone["baselines"] == full["baselines"] != {} and "baseline_s" not in alone["timings"]
    assert "baseline_s" in full["timings"]
    for key in ("accuracy", "auprc", "cv_accuracy", "paper"):
        assert alone.get(key) == full.get(key), key
    rows = (gunpoint_run / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 4 and rows[1].startswith("tscl,")  # with the kept baselines' rows
    code, stdout, err = run_cli(["report", str(gunpoint_run)], capsys)
    assert code == 0, err
    assert f"{alone['accuracy']:.3f}" in stdout and "random init" in stdout  # the kept baselines are reported


def test_cost_encoder_end_to_end(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "cost"
    code, _, err = run_cli(["pretrain", "--encoder", "cost", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)
    assert code == 0, err
    assert '[encoder]\nname = "cost"' in (run / "config.toml").read_text()
    code, stdout, err = run_cli(["evaluate", str(run), "--json", "--no-plots"], capsys)
    assert code == 0, err
    metrics = json.loads(stdout)
    assert 0.0 <= metrics["accuracy"] <= 1.0 and set(metrics["baselines"]) == {"random init", "raw input"}
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert any(k.startswith("season.") for k in state["net"]) and any(k.startswith("trend.") for k in state["net"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--iters", "0"], "iters must be greater than or equal to 1"),
        (["--iters", "-3"], "iters must be greater than or equal to 1"),
        (["--batch-size", "0"], "batch_size must be greater than or equal to 1"),
        (["--lr", "0"], "lr must be greater than 0"),
        (["--lr", "-1e-3"], "lr must be greater than 0"),
        (["--dataset", "GunPointt"], "GunPoint"),
        (["--dataset", "./missing.csv"], "missing.csv"),
        (["--device", "cuda:7"], "cuda"),
        (["--objective", "nope"], "objective must be one of"),
        (["--encoder", "resnet"], "encoder must be one of"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(
    args: list[str], message: str, tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "bad-run"
    code, out, err = run_cli(["pretrain", *TINY, "--iters", "2", *args, "--run-dir", str(run)], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and message in lines[0] and len(lines) <= 2
    assert "Traceback" not in err
    assert not run.exists()


def test_existing_run_directory_is_never_reused(gunpoint_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (gunpoint_run / "meta.json").read_text()
    code, _, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(gunpoint_run)], capsys)
    assert code == 1 and "already exists" in err and "--resume" in err
    assert (gunpoint_run / "meta.json").read_text() == before


def test_sigint_saves_a_checkpoint_and_resume_finishes(tmp_path: Path) -> None:
    run = tmp_path / "interrupted"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TSCL_CACHE_DIR": str(tmp_path / "cache")}
    args = [sys.executable, "-m", "tscl", "pretrain", "--iters", "100000", *TINY, "--run-dir", str(run)]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "checkpoints" / "last.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume with `tscl pretrain --resume" in err and "Traceback" not in err
    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    step = meta["step"]
    done = subprocess.run(
        [sys.executable, "-m", "tscl", "pretrain", "--resume", str(run), "--iters", str(step + 2), "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"] == step + 2


@pytest.mark.parametrize(
    ("parts", "refusal"),
    [
        ({"X": np.zeros((6, 12, 1)), "y": np.array([0, 1] * 3)}, "must have test series"),
        ({"X_train": np.zeros((6, 12, 1)), "X_test": np.zeros((4, 12, 1))}, "must be labelled"),
    ],
)
def test_pretraining_on_classification_data_the_evaluation_refuses_warns_as_it_ends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], parts: dict[str, np.ndarray], refusal: str
) -> None:
    """An .npz without a test part, or without labels, pretrains (an encoder for `tscl encode`) but `tscl
    evaluate` refuses it: the run says so as it ends and keeps it in meta.json (it said nothing until then)."""
    data = tmp_path / "mine.npz"
    rng = np.random.default_rng(0)
    np.savez(data, **{key: rng.normal(size=value.shape) if key.startswith("X") else value
                      for key, value in parts.items()})  # fmt: skip
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--dataset", str(data), "--iters", "2", "--batch-size", "2", *TINY,
                            "--run-dir", str(run)], capsys)  # fmt: skip
    assert code == 0, err
    said = " ".join(err.split())
    assert f"warning: tscl evaluate will refuse this data with its default settings: dataset mine {refusal}" in said
    meta = json.loads((run / "meta.json").read_text())
    assert any(refusal in text for text in meta["warnings"])
