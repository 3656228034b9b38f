"""Ctrl-C during ``tscl sweep --backend ray``: the running trials checkpoint and are recorded as interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.robustness.helpers import subprocess_env
from tests.sweep.test_sweep import TINY

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT")
def test_ctrl_c_records_the_running_trials_as_interrupted(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    output = tmp_path / "out"
    base = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**TINY, "iters": 100000, "checkpoint_every": 5}.items())
    grid = tmp_path / "grid.toml"
    grid.write_text(f'datasets = ["GunPoint"]\nseeds = [0, 1]\noutput = "{output.as_posix()}"\n[base]\n{base}\n')
    # its own process group, as a terminal's Ctrl-C reaches the sweep and the Ray instance it started
    job = subprocess.Popen([sys.executable, "-m", "tscl", "sweep", str(grid), "--backend", "ray", "--threads", "1"],
                           env=subprocess_env(tmp_path), cwd=ROOT, text=True, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while len(list(output.glob("trials/*/checkpoints/last.pt"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(list(output.glob("trials/*/checkpoints/last.pt"))) == 2, "the trials did not start in 240 s"
        os.killpg(job.pid, signal.SIGINT)
        _, err = job.communicate(timeout=180)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == 130, err[-3000:]
    assert "sweep interrupted: 0 of 2 trials finished" in err
    summary = json.loads((output / "summary.json").read_text())
    assert [t["status"] for t in summary["trials"]] == ["interrupted", "interrupted"], summary["trials"]
    for state in output.glob("state/*.json"):
        if not state.name.endswith(".owner.json"):
            assert json.loads(state.read_text())["status"] == "interrupted", state.read_text()
    for meta in output.glob("trials/*/meta.json"):
        assert json.loads(meta.read_text())["status"] == "interrupted"
