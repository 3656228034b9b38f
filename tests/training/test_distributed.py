"""Data-parallel training for real: several processes on this machine, started by torchrun, gloo back-end."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.cli_helpers import run_cli
from tests.robustness.helpers import subprocess_env
from tscl.training.distributed import Ranks
from tscl.views.crop import draw_crop

ROOT = Path(__file__).parents[2]
FIT = ROOT / "tests" / "fixtures" / "distributed_fit.py"
TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without torch.distributed")


def torchrun(args: list[str], env: dict[str, str], nproc: int = 2, extra: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *extra, *args]


def run(command: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, cwd=ROOT, text=True, capture_output=True, timeout=timeout)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def losses(run_dir: Path) -> list[float]:
    with open(run_dir / "losses.csv") as handle:
        return [float(row["loss"]) for row in csv.DictReader(handle)]


# -- the pieces, in one process ---------------------------------------------------------------------------------
def test_ranks_take_equal_slices_of_the_global_batch() -> None:
    rows = list(range(12))
    assert [Ranks(r, 3).rows(rows) for r in range(3)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert Ranks().rows(rows) == rows and Ranks().agree(1.5, True) == (1.5, True)


def test_sharded_crops_are_the_global_draw_sliced() -> None:
    whole = draw_crop(8, 100, 0, torch.Generator().manual_seed(3))
    parts = [draw_crop(4, 100, 0, torch.Generator().manual_seed(3), rank, 2) for rank in range(2)]
    for part in parts:
        assert (part.crop_length, part.left, part.ext_left, part.ext_right) == (
            whole.crop_length, whole.left, whole.ext_left, whole.ext_right,
        )  # fmt: skip
    assert torch.equal(torch.cat([p.offsets for p in parts]), whole.offsets)


# -- several processes ------------------------------------------------------------------------------------------
def _fit(tmp_path: Path, iters: int, batch: int, gather: bool) -> list[dict]:
    out = tmp_path / ("gather" if gather else "local")
    out.mkdir()
    args = [str(FIT), str(out), str(iters), str(batch), *(["gather"] if gather else [])]
    run(torchrun(args, subprocess_env(tmp_path)), subprocess_env(tmp_path))
    for r in range(2):  # the group and gloo's threads end in shutdown(), not in the interpreter's own exit
        left = json.loads((out / f"rank{r}.left.json").read_text())
        assert left["group_freed"] and left["gloo_threads"] == [], left
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


def test_gathered_negatives_train_like_one_process_with_the_global_batch(tmp_path: Path) -> None:
    sys.path.insert(0, str(FIT.parent))
    try:
        import distributed_fit
    finally:
        sys.path.remove(str(FIT.parent))
    ranks = _fit(tmp_path, iters=3, batch=4, gather=True)
    for key, value in ranks[0]["net"].items():  # every rank ends with the very same weights
        assert torch.equal(value, ranks[1]["net"][key]), key
    assert ranks[0]["losses"] == ranks[1]["losses"]
    torch.manual_seed(0)
    single = distributed_fit.model(batch=8, gather=False).fit(distributed_fit.data(), n_iters=3)
    assert ranks[0]["losses"] == pytest.approx(single.progress.losses, abs=1e-5)
    for key, value in single.net.state_dict().items():
        assert torch.allclose(value, ranks[0]["net"][key], atol=1e-5), key


def test_local_negatives_keep_the_ranks_identical(tmp_path: Path) -> None:
    ranks = _fit(tmp_path, iters=4, batch=4, gather=False)
    assert ranks[0]["world_size"] == 2
    for key, value in ranks[0]["net"].items():
        assert torch.equal(value, ranks[1]["net"][key]), key


def test_torchrun_pretrain_evaluate_and_exact_resume(
    tmp_path: Path, shared_datasets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = subprocess_env(tmp_path)
    common = ["-m", "tscl", "pretrain", "--dataset", "GunPoint", "--data-dir", str(shared_datasets), *TINY,
              "--checkpoint-every", "5"]  # fmt: skip
    whole, split = tmp_path / "whole", tmp_path / "split"
    run(torchrun([*common, "--iters", "20", "--run-dir", str(whole)], env), env)
    meta = json.loads((whole / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == 20 and meta["world_size"] == 2
    for name in ("config.toml", "checkpoints/last.pt", "losses.csv", "plots/loss.png"):
        assert (whole / name).is_file(), name
    curve = losses(whole)
    assert len(curve) == 20 and sum(curve[-5:]) < sum(curve[:5])  # the loss goes down

    run(torchrun([*common, "--iters", "10", "--run-dir", str(split)], env), env)
    run(torchrun(["-m", "tscl", "pretrain", "--resume", str(split), "--iters", "20"], env), env)
    assert losses(split) == curve  # resuming with the same number of processes is exact

    code, out, err = run_cli(["evaluate", str(whole), "--data-dir", str(shared_datasets), "--json",
                              "--no-baselines", "--no-plots", "--threads", "1"], capsys)  # fmt: skip
    assert code == 0, err
    assert 0.5 < json.loads(out)["accuracy"] <= 1.0


def _worker_pids(launcher: int) -> dict[int, int]:
    """rank -> pid of the workers a torchrun process started (read from /proc)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        rank = [v for v in environ if v.startswith(b"RANK=")]
        if parent == launcher and rank:
            found[int(rank[0][5:])] = int(entry.name)
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_killed_rank_stops_every_rank_and_torchrun_restarts_from_the_checkpoint(
    tmp_path: Path, shared_datasets: Path
) -> None:
    env = subprocess_env(tmp_path)
    run_dir = tmp_path / "run"
    args = ["-m", "tscl", "pretrain", "--dataset", "GunPoint", "--data-dir", str(shared_datasets), *TINY,
            "--checkpoint-every", "5", "--iters", "400", "--run-dir", str(run_dir)]  # fmt: skip
    launcher = subprocess.Popen(
        torchrun(args, env, extra=("--max-restarts=1",)), env=env, cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "checkpoints" / "last.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (run_dir / "checkpoints" / "last.pt").exists(), "no checkpoint within 120 s"
        workers = _worker_pids(launcher.pid)
        assert set(workers) == {0, 1}, workers
        os.kill(workers[1], signal.SIGKILL)
        out, err = launcher.communicate(timeout=180)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 0, err[-4000:]
    assert "lost the other ranks" in err  # rank 0 said why it stopped
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == 400 and meta["resumed"] == 1
    assert len(losses(run_dir)) == 400
