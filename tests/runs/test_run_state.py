"""Run state from the run's lock: running, dead (killed with SIGKILL), finished; the rules of ``--resume``.

The training process is real (``python -m tscl pretrain``), killed for real; nothing of the behaviour under
test is mocked.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.robustness.helpers import TINY, assert_one_line_error, run_cli, run_module, snapshot, subprocess_env
from tscl.config import load_config


def _meta(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / "meta.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _status(run: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run_cli(["runs", "--runs-dir", str(run.parent), "--json"], capsys)
    assert code == 0, err
    return str(next(row["status"] for row in json.loads(out) if row["run_dir"] == str(run)))


def _mtimes(run: Path) -> dict[str, int]:
    return {str(path): path.stat().st_mtime_ns for path in sorted(run.rglob("*"))}


def _wait_for_checkpoint(run: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while (_meta(run).get("step") or 0) < 2:
        if proc.poll() is not None:
            raise AssertionError(f"the training process ended: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the first checkpoint")
        time.sleep(0.05)


def test_live_then_killed_then_resumed_by_the_rules(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "runs" / "long"
    args = ["pretrain", "--iters", "100000", *TINY, "--checkpoint-every", "2", "--run-dir", str(run)]
    proc = run_module(args, tmp_path, subprocess_env(tmp_path))
    try:
        _wait_for_checkpoint(run, proc)
        assert _status(run, capsys) == "running"
        code, _, err = run_cli(["pretrain", "--resume", str(run), "--iters", "200000"], capsys)
        assert_one_line_error(code, err, "is training it", f"process {proc.pid}")
        code, out, err = run_cli(["evaluate", str(run), "--no-baselines", "--no-plots", "--json"], capsys)
        assert code == 0, err
        step = json.loads(out)["provenance"]["checkpoint"]["step"]
        assert f"still training: evaluated its checkpoint at iteration {step}" in " ".join(err.split())
        assert json.loads(out)["provenance"]["run_status"] == "running" and step >= 2
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert _meta(run)["status"] == "running"  # as a kill leaves it: only the lock tells
    assert _status(run, capsys) == "dead"
    code, out, _ = run_cli(["runs", "--runs-dir", str(run.parent)], capsys)
    assert code == 0 and "dead" in out and "killed" in out

    before = snapshot(run)
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--seed", "3"], capsys)
    assert_one_line_error(code, err, "--resume must not change seed", "42 -> 3")
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--lr", "0.1", "--set", "encoder.depth=3"], capsys)
    assert_one_line_error(code, err, "--resume must not change lr, encoder.depth")
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--objective", "autotcl"], capsys)
    assert_one_line_error(code, err, "--resume must not change objective ")
    assert snapshot(run) == before  # refused: nothing written

    # Equal values are no change; the target, threads and checkpoint interval may change.
    step = _meta(run)["step"]
    resumed = ["pretrain", "--resume", str(run), "--iters", str(step + 3), "--seed", "42", "--checkpoint-every", "1"]
    code, _, err = run_cli(resumed, capsys)
    assert code == 0, err
    meta = _meta(run)
    assert meta["status"] == "finished" and meta["step"] == step + 3 and meta["resumed"] == 1
    assert meta["timings"]["total_s"] >= meta["timings"]["train_s"]
    config = load_config(run / "config.toml")
    assert config.iters == step + 3 and config.checkpoint_every == 1 and config.seed == 42
    assert _status(run, capsys) == "finished"

    # Finished, no larger target: nothing to do, and no file is written.
    before_times = _mtimes(run)
    time.sleep(0.01)
    for extra in ([], ["--iters", str(step + 3), "--device", "cpu"], ["--threads", "1"]):
        code, out, err = run_cli(["pretrain", "--resume", str(run), *extra], capsys)
        assert code == 0 and "nothing to do" in out, err
    code, out, _ = run_cli(["pretrain", "--resume", str(run), "--json"], capsys)
    assert code == 0 and json.loads(out)["status"] == "unchanged"
    assert _mtimes(run) == before_times


def test_resuming_applies_threads_and_counts_earlier_sessions_in_total_time(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    run = tmp_path / "run"
    assert run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)[0] == 0
    first = _meta(run)["timings"]
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--epochs", "2", "--threads", "2"], capsys)
    assert code == 0, err
    meta = _meta(run)
    assert meta["threads"] == 2 and meta["epoch"] == 2 and meta["target_epochs"] == 2
    assert meta["target_iters"] is None  # a new epochs target replaces the iterations one
    config = load_config(run / "config.toml")
    assert config.threads == 2 and config.epochs == 2 and config.iters is None
    timings = meta["timings"]
    assert timings["total_s"] >= timings["train_s"] > first["train_s"]
    assert timings["total_s"] > first["total_s"]
