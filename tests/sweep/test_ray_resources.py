"""``tscl sweep --backend ray`` asking per trial for more than any Ray node has: refused, not waited on forever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import one_line_error, run_cli
from tests.robustness.helpers import subprocess_env
from tests.sweep.test_sweep import TINY_TOML

ROOT = Path(__file__).parents[2]
GRID = """
datasets = ["GunPoint"]
seeds = [0]
output = "{output}"
[base]
{base}
"""


@pytest.mark.parametrize(
    ("flag", "name"), [("--cpus-per-trial", "cpus_per_trial"), ("--gpus-per-trial", "gpus_per_trial")]
)
def test_a_trial_larger_than_every_node_is_refused_before_any_work(tmp_path: Path, flag: str, name: str) -> None:
    pytest.importorskip("ray")
    path, output = tmp_path / "grid.toml", tmp_path / "out"
    path.write_text(GRID.format(output=output.as_posix(), base=TINY_TOML))
    command = [sys.executable, "-m", "tscl", "sweep", str(path), "--backend", "ray", flag, "100000"]
    # a subprocess with a timeout: a trial no node can run used to wait forever
    done = subprocess.run(command, env=subprocess_env(tmp_path), cwd=ROOT, text=True, capture_output=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {name} ({flag}) must fit on one Ray node (at most "), (
        errors
    )
    assert errors[0].endswith("but got 100000")
    assert not output.exists()


def test_workers_with_the_ray_backend_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(GRID.format(output=(tmp_path / "out").as_posix(), base=TINY_TOML))
    code, _, err = run_cli(["sweep", str(path), "--backend", "ray", "--workers", "4"], capsys)
    one_line_error(code, err, "workers (--workers) must not come with backend ray (--backend ray) but got workers 4")
    assert not (tmp_path / "out").exists()
