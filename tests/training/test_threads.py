"""The default thread count (``tscl.training.threads``): free cores under load, ``--threads`` everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli_helpers import run_cli
from tscl.errors import ConfigError
from tscl.training import threads as policy
from tscl.training.model import TS2Vec

SMALL = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu"]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, float]]:
    """A machine of 2 usable cores whose other processes keep ``load["busy"]`` cores busy."""
    state = {"busy": 0.0}
    monkeypatch.setattr(policy, "_last", None)
    monkeypatch.setattr(policy, "REUSE_SECONDS", 0.0)
    monkeypatch.setattr(policy, "usable_cores", lambda: 2)
    monkeypatch.setattr(policy, "busy_cores", lambda seconds=0.0: state["busy"])
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield state
    torch.set_num_threads(previous)


@pytest.mark.parametrize(("busy", "expected"), [(0.0, 2), (0.2, 2), (0.3, 1), (1.0, 1), (1.9, 1), (3.5, 1)])
def test_the_default_takes_the_cores_others_leave_free(load: dict[str, float], busy: float, expected: int) -> None:
    load["busy"] = busy
    choice = policy.choose_threads()
    assert choice.threads == expected and choice.rule.startswith("auto: 2 usable cores")


def test_the_default_never_exceeds_torchs_count_or_the_ceiling(load: dict[str, float]) -> None:
    torch.set_num_threads(1)  # OMP_NUM_THREADS=1 (torchrun) or the caller's own choice
    assert policy.choose_threads().threads == 1
    torch.set_num_threads(2)
    assert policy.choose_threads(ceiling=1).threads == 1


def test_a_given_count_is_kept_and_a_bad_one_refused() -> None:
    assert policy.choose_threads(3) == policy.ThreadChoice(3, "given")
    for bad in (0, -2, True, 1.5):
        with pytest.raises(ConfigError, match="threads must be a positive integer"):
            policy.choose_threads(bad)  # type: ignore[arg-type]


def test_thread_scope_restores_torchs_count(load: dict[str, float]) -> None:
    load["busy"] = 1.0
    with policy.thread_scope() as choice:
        assert choice.threads == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_cgroup_quota_v2_and_v1(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert policy.cgroup_cpu_quota(tmp_path) == pytest.approx(1.5)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert policy.cgroup_cpu_quota(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert policy.cgroup_cpu_quota(v1) == pytest.approx(2.0)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert policy.cgroup_cpu_quota(v1) is None


@pytest.mark.skipif(not Path("/proc/stat").is_file(), reason="needs /proc/stat (Linux)")
def test_a_busy_process_is_measured_as_busy() -> None:
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert policy.busy_cores(0.3) >= 0.7  # the burner's core, whatever else runs
    finally:
        burner.kill()
        burner.wait()


def test_fit_runs_on_the_models_threads_and_restores_torchs(one_thread: None) -> None:
    seen: list[int] = []
    X = np.random.default_rng(0).normal(size=(8, 40, 1)).astype(np.float32)
    model = TS2Vec(repr_dims=8, hidden_dims=8, depth=1, device="cpu", threads=2)
    model.fit(X, n_iters=2, callback=lambda m, loss: seen.append(torch.get_num_threads()))
    assert seen == [2, 2] and torch.get_num_threads() == 1
    with pytest.raises(ConfigError, match="threads"):
        TS2Vec(threads=0)


def test_fit_shows_an_opt_in_progress_bar(one_thread: None, capsys: pytest.CaptureFixture[str]) -> None:
    X = np.random.default_rng(0).normal(size=(8, 40, 1)).astype(np.float32)
    TS2Vec(repr_dims=8, hidden_dims=8, depth=1, device="cpu", threads=1).fit(X, n_iters=3)
    assert capsys.readouterr().err == ""  # off by default
    TS2Vec(repr_dims=8, hidden_dims=8, depth=1, device="cpu", threads=1).fit(X, n_iters=3, progress=True)
    err = capsys.readouterr().err
    assert "fit (iterations)" in err and "3/3" in err and "loss" in err


def test_pretrain_records_the_rule_and_a_resume_on_fewer_threads_says_so(
    load: dict[str, float], tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "2", *SMALL, "--run-dir", str(run)], capsys)
    assert code == 0, err
    meta = json.loads((run / "meta.json").read_text())
    assert meta["threads"] == 2 and meta["threads_rule"].startswith("auto: 2 usable cores, 0.0 busy")
    load["busy"] = 1.0  # the machine got busy: the continuation takes one thread and says what that costs
    code, out, err = run_cli(["pretrain", "--resume", str(run), "--iters", "3"], capsys)
    assert code == 0, err
    assert "continued on 1 thread(s), the run had 2" in err and "--threads 2 keeps it exact" in err
    assert json.loads((run / "meta.json").read_text())["threads"] == 1
    code, out, err = run_cli(["pretrain", "--resume", str(run), "--iters", "4", "--threads", "2"], capsys)
    assert code == 0 and "note:" not in err
    assert json.loads((run / "meta.json").read_text())["threads_rule"] == "given"


def test_threads_on_every_command_that_computes(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert run_cli(["pretrain", "--iters", "2", *SMALL, "--threads", "1", "--run-dir", str(run)], capsys)[0] == 0
    assert json.loads((run / "meta.json").read_text())["threads_rule"] == "given"
    out_file = tmp_path / "r.npy"
    code, _, err = run_cli(["encode", str(run), "--out", str(out_file), "--threads", "1"], capsys)
    assert code == 0 and np.load(out_file).shape == (200, 16), err
    code, out, err = run_cli(["evaluate", str(run), "--threads", "1", "--no-baselines", "--no-plots", "--json"], capsys)
    assert code == 0 and json.loads(out)["threads"] == 1, err
    for command in (["encode", str(run), "--out", str(out_file)], ["evaluate", str(run)], ["sweep", "grid.toml"]):
        code, _, err = run_cli([*command, "--threads", "0"], capsys)
        lines = err.strip().splitlines()
        assert code == 1 and lines[0].startswith("error: threads must be") and "Traceback" not in err, err


def test_sweep_threads_reach_every_trial(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(
        f'output = "{tmp_path / "out"}"\ndatasets = ["GunPoint"]\n[base]\niters = 2\nplots = false\nbaselines = false\n'
        '"encoder.repr_dims" = 8\n"encoder.hidden_dims" = 8\n"encoder.depth" = 1\ndevice = "cpu"\n'
    )
    code, out, err = run_cli(["sweep", str(grid), "--threads", "1", "--json"], capsys)
    assert code == 0, err
    (trial,) = json.loads(out)["trials"]
    run = tmp_path / "out" / "trials" / trial["id"]
    assert json.loads((run / "meta.json").read_text())["threads"] == 1
    assert json.loads((run / "metrics.json").read_text())["threads"] == 1
