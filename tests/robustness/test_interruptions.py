"""Interrupted pretraining: SIGINT/SIGTERM stop cleanly; kill -9 at random points loses nothing but time.

The kill -9 script: start ``python -m tscl pretrain --checkpoint-every 1``, SIGKILL it after a random (seeded)
delay, check that the last checkpoint is intact, ``--resume``, repeat; the final ``checkpoints/last.pt`` must
hold the same tensors as an uninterrupted run's.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.robustness.helpers import (
    TINY,
    assert_one_line_error,
    run_cli,
    run_module,
    snapshot,
    subprocess_env,
)
from tscl.training.checkpoint import load_checkpoint

ITERS = 30
KILLS = 3


def _read_meta(run: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run / "meta.json").read_text())
    except FileNotFoundError:
        return None


def _wait_for(condition: Any, proc: subprocess.Popen[str], timeout: float = 90) -> bool:
    """Poll ``condition()`` until true (True) or until the process ends (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("timed out waiting for the training process")


def _tensors(value: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor inside a (nested) checkpoint state, by path."""
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return {}
    found: dict[str, torch.Tensor] = {}
    for key, item in items:
        found.update(_tensors(item, f"{prefix}/{key}"))
    return found


def _assert_same_state(a: Path, b: Path) -> None:
    left, right = load_checkpoint(a), load_checkpoint(b)
    assert left["progress"]["step"] == right["progress"]["step"] == ITERS
    ta, tb = (
        _tensors({k: v for k, v in left.items() if k != "extra"}),
        _tensors({k: v for k, v in right.items() if k != "extra"}),
    )
    assert ta.keys() == tb.keys()
    assert any(key.startswith("/net/") for key in ta)
    for key in ta:
        x, y = ta[key], tb[key]
        if x.is_floating_point():
            assert torch.allclose(x, y, atol=1e-6, rtol=0), key
        else:
            assert torch.equal(x, y), key


@pytest.mark.parametrize("seed", [8])
def test_kill_9_at_random_points_then_resume_matches_a_straight_run(
    seed: int, tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--iters", str(ITERS), *TINY, "--checkpoint-every", "1"]
    straight = tmp_path / "straight"
    code, _, err = run_cli(["pretrain", *args, "--run-dir", str(straight)], capsys)
    assert code == 0, err

    rng = random.Random(seed)
    run = tmp_path / "killed"
    env = subprocess_env(tmp_path)
    kills = 0
    while kills < KILLS:
        meta = _read_meta(run)
        command = ["pretrain", "--resume", str(run)] if meta else ["pretrain", *args, "--run-dir", str(run)]
        target = (meta or {}).get("step", 0) + rng.randint(1, 6)  # kill a few iterations later...
        proc = run_module(command, tmp_path, env)
        if _wait_for(lambda: ((_read_meta(run) or {}).get("step") or 0) >= target, proc):  # noqa: B023
            time.sleep(rng.uniform(0.0, 0.06))  # ...at a random moment of an iteration or a checkpoint write
        if proc.poll() is not None:  # finished before the kill: nothing left to interrupt
            _, err = proc.communicate()
            assert proc.returncode == 0, err
            break
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        kills += 1
        state = load_checkpoint(run / "checkpoints" / "last.pt")  # the last complete checkpoint is intact
        assert state["progress"]["step"] >= 1
        assert _read_meta(run) is not None  # and the metadata is valid JSON
    assert kills >= 2, "the run finished before it could be killed twice: make it longer"

    proc = run_module(["pretrain", "--resume", str(run), "--json"], tmp_path, env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)["steps"] == ITERS
    meta = _read_meta(run)
    assert meta is not None and meta["status"] == "finished" and meta["step"] == ITERS
    assert len((run / "losses.csv").read_text().splitlines()) == ITERS + 1
    _assert_same_state(run / "checkpoints" / "last.pt", straight / "checkpoints" / "last.pt")


def test_sigint_and_sigterm_save_a_checkpoint_and_exit_cleanly(tmp_path: Path) -> None:
    """Both signals, in two processes at once: exit code 130, one error line and a hint, a resumable run."""
    env = subprocess_env(tmp_path)
    runs = {sig: tmp_path / sig.name for sig in (signal.SIGINT, signal.SIGTERM)}
    procs = {
        sig: run_module(["pretrain", "--iters", "100000", *TINY, "--checkpoint-every", "2", "--run-dir", str(run)],
                        tmp_path, env)
        for sig, run in runs.items()
    }  # fmt: skip
    try:
        for sig, proc in procs.items():
            assert _wait_for(lambda: (runs[sig] / "checkpoints" / "last.pt").exists(), proc), sig  # noqa: B023
            proc.send_signal(sig)
        for sig, proc in procs.items():
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 130, err
            lines = err.strip().splitlines()
            assert lines[0].startswith(f"error: {sig.name} received: stopped at iteration"), err
            assert lines[1] == f"hint: resume with `tscl pretrain --resume {runs[sig]}`" and len(lines) == 2
            meta = _read_meta(runs[sig])
            assert meta is not None and meta["status"] == "interrupted"
            state = load_checkpoint(runs[sig] / "checkpoints" / "last.pt")
            assert state["progress"]["step"] == meta["step"] >= 2  # saved at the stop, not only at the last multiple
            assert len((runs[sig] / "losses.csv").read_text().splitlines()) == meta["step"] + 1
            assert not list(runs[sig].rglob("*.tmp")), "no temporary files after a clean stop"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()


def test_run_stopped_before_its_first_checkpoint_resumes_from_scratch(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """config.toml and meta.json written, no checkpoint yet: --resume trains from the start, same result."""
    args = ["--iters", "3", *TINY]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert run_cli(["pretrain", *args, "--run-dir", str(straight)], capsys)[0] == 0
    assert run_cli(["pretrain", *args, "--run-dir", str(killed)], capsys)[0] == 0
    for name in ("checkpoints/last.pt", "losses.csv", "plots/loss.png"):
        (killed / name).unlink()
    meta = json.loads((killed / "meta.json").read_text())
    meta.update(status="running", step=0)
    (killed / "meta.json").write_text(json.dumps(meta))
    code, _, err = run_cli(["pretrain", "--resume", str(killed)], capsys)
    assert code == 0, err
    _assert_same_state_steps(killed, straight, 3)


def _assert_same_state_steps(a: Path, b: Path, steps: int) -> None:
    left, right = (load_checkpoint(r / "checkpoints" / "last.pt") for r in (a, b))
    assert left["progress"]["step"] == right["progress"]["step"] == steps
    for part in ("net", "averaged"):
        for key, tensor in left[part].items():
            assert torch.allclose(tensor, right[part][key], atol=1e-6), key


def test_run_stopped_before_its_metadata_can_be_resumed(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)[0] == 0
    for name in ("meta.json", "checkpoints/last.pt", "losses.csv", "plots/loss.png"):
        (run / name).unlink()
    code, _, err = run_cli(["pretrain", "--resume", str(run)], capsys)
    assert code == 0, err
    assert json.loads((run / "meta.json").read_text())["status"] == "finished"


def test_killed_as_it_started_is_explained(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run directory holding only the empty checkpoint folder (killed right after claiming it)."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    before = snapshot(run)
    code, _, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)
    assert_one_line_error(code, err, "empty checkpoints/ folder only")
    assert "delete" in err and snapshot(run) == before


def test_ctrl_c_outside_training_exits_130(
    isolated_data_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while loading data (no training loop to catch it): exit code 130 and one line, not 0."""
    import tscl.data as data

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "load_dataset", interrupted)
    code, _, err = run_cli(["data", "info", "GunPoint"], capsys)
    assert code == 130 and err.strip() == "error: interrupted"


def test_ctrl_c_while_evaluate_draws_its_plots_keeps_the_stored_metrics(
    tmp_path: Path,
    trained_runs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The metrics files are written last: exit 130 means metrics.json, metrics.csv and meta.json are the old ones."""
    import shutil

    from tscl.tasks.classification import ClassificationTask

    run = tmp_path / "run"
    shutil.copytree(trained_runs["gunpoint"], run)
    code, _, err = run_cli(["evaluate", str(run), "--threads", "1", "--no-baselines"], capsys)
    assert code == 0, err
    before = {name: (run / name).read_bytes() for name in ("metrics.json", "metrics.csv", "meta.json")}

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ClassificationTask, "plots", interrupted)
    code, _, err = run_cli(["evaluate", str(run), "--threads", "1", "--no-baselines", "--seed", "5"], capsys)
    assert code == 130 and err.strip() == "error: interrupted", err
    assert {name: (run / name).read_bytes() for name in before} == before
