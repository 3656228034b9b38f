"""Run directories under torchrun: what a resume on another number of processes and unusable data leave behind."""

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

from tests.robustness.helpers import subprocess_env

ROOT = Path(__file__).parents[2]
TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without torch.distributed")


def tscl(
    args: list[str], env: dict[str, str], nproc: int = 1, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``tscl ARGS`` in a subprocess, under torchrun with ``nproc`` processes (and ``extra`` options) when more
    than one."""
    launch = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *extra] if nproc > 1 else []
    command = [sys.executable, *launch, "-m", "tscl", *args]
    return subprocess.run(command, env=env, cwd=ROOT, text=True, capture_output=True, timeout=240)


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def test_a_resume_on_another_number_of_processes_is_refused_untouched(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path)
    np.save(tmp_path / "data.npy", np.random.default_rng(0).standard_normal((20, 24, 1)).astype(np.float32))
    run_dir = tmp_path / "run"
    done = tscl(["pretrain", "--dataset", str(tmp_path / "data.npy"), *TINY, "--batch-size", "4", "--iters", "3",
                 "--run-dir", str(run_dir)], env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    before = snapshot(run_dir)
    # one epoch is 5 batches of 4 on one process, 2 batches of 8 on two: iteration 3 is past the second's end
    done = tscl(["pretrain", "--resume", str(run_dir), "--iters", "6"], env, nproc=2)
    assert done.returncode != 0
    for rank in range(2):  # each rank's error names it, and its hint follows it on the next line
        error = f"error: [rank {rank}/2] --resume must not change the number of processes but got 1 -> 2"
        assert error in done.stderr
        assert done.stderr.splitlines()[done.stderr.splitlines().index(error) + 1].startswith("hint: ")
    assert "[rank0]: Traceback" not in done.stderr and "[rank1]: Traceback" not in done.stderr
    assert snapshot(run_dir) == before


def test_fewer_series_than_processes_fail_before_the_run_directory_exists(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path)
    np.save(tmp_path / "one.npy", np.zeros((1, 24, 1), dtype=np.float32))
    run_dir = tmp_path / "run"
    done = tscl(["pretrain", "--dataset", str(tmp_path / "one.npy"), *TINY, "--iters", "2",
                 "--run-dir", str(run_dir)], env, nproc=2)  # fmt: skip
    assert done.returncode != 0
    for rank in range(2):
        assert f"error: [rank {rank}/2] training data must have at least one series per process (2) but has 1" in (
            done.stderr
        )
    assert not run_dir.exists()


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT")
def test_ctrl_c_under_torchrun_says_how_to_resume_on_as_many_processes(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path)
    np.save(tmp_path / "data.npy", np.random.default_rng(0).standard_normal((20, 24, 1)).astype(np.float32))
    run_dir = tmp_path / "run"
    launch = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    args = ["-m", "tscl", "pretrain", "--dataset", str(tmp_path / "data.npy"), *TINY, "--iters", "100000",
            "--checkpoint-every", "5", "--run-dir", str(run_dir)]  # fmt: skip
    # its own process group, so that the SIGINT reaches torchrun and every rank, as Ctrl-C in a terminal does
    job = subprocess.Popen([sys.executable, *launch, *args], env=env, cwd=ROOT, text=True, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "checkpoints" / "last.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(job.pid, signal.SIGINT)
        _, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    hint = f"hint: resume with `torchrun --nproc_per_node=2 -m tscl pretrain --resume {run_dir}`"
    assert hint in err, err[-3000:]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["world_size"] == 2
    done = tscl(["pretrain", "--resume", str(run_dir), "--iters", str(meta["step"] + 2)], env, nproc=2)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "finished"


def test_a_restarted_job_does_not_continue_a_run_another_job_made(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path)
    np.save(tmp_path / "data.npy", np.random.default_rng(0).standard_normal((20, 24, 1)).astype(np.float32))
    run_dir = tmp_path / "run"
    args = ["pretrain", "--dataset", str(tmp_path / "data.npy"), *TINY, "--iters", "3", "--run-dir", str(run_dir)]
    assert tscl(args, env, nproc=2).returncode == 0
    before = snapshot(run_dir)
    # the same command again: its first attempt is refused the run directory; the restart must not take it over
    done = tscl(args, env, nproc=2, extra=("--max-restarts=1",))
    assert done.returncode != 0 and "nothing to do" not in done.stdout, done.stdout
    assert "must be new or empty but it already exists" in done.stderr
    assert snapshot(run_dir) == before
