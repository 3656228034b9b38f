"""Concurrent runs: one parent folder, never a shared or silently reused run directory."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.robustness.helpers import TINY, run_module, subprocess_env
from tscl.config import load_config
from tscl.errors import ConfigError
from tscl.runs.claim import create_run_dir
from tscl.training.checkpoint import load_checkpoint


def _race(worker: object, n: int) -> list[object]:
    """Run ``worker()`` in ``n`` threads released at the same instant; their results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = worker()  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001 - the exception is the result under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_runs_created_at_once_get_distinct_directories(tmp_path: Path) -> None:
    results = _race(lambda: create_run_dir(None, tmp_path / "runs", "GunPoint-ts2vec"), 24)
    assert all(isinstance(r, Path) for r in results), results
    assert len(set(results)) == 24 and len(list((tmp_path / "runs").iterdir())) == 24


@pytest.mark.parametrize("exists", [False, True], ids=["new", "empty"])
def test_one_named_run_directory_is_claimed_once(tmp_path: Path, exists: bool) -> None:
    target = tmp_path / "deep" / "run"
    if exists:
        target.mkdir(parents=True)
    results = _race(lambda: create_run_dir(target, tmp_path / "runs", "x"), 12)
    winners = [r for r in results if isinstance(r, Path)]
    losers = [r for r in results if isinstance(r, ConfigError)]
    assert winners == [target] and len(losers) == 11, results
    assert all("must be new or empty" in str(e) for e in losers)


def _seed(run: Path) -> int:
    return load_config(run / "config.toml").seed


def test_simultaneous_pretrain_processes_never_clobber_each_other(tmp_path: Path) -> None:
    """Two processes started at once into ./runs, one finding it by default, one via TSCL_RUNS_DIR.

    (Two processes racing for one ``--run-dir`` are covered by the threads above: the claim is the same code.)
    """
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    runs = cwd / "runs"
    base = ["pretrain", "--iters", "2", *TINY, "--json"]
    procs = {
        1: run_module([*base, "--seed", "1"], cwd, subprocess_env(tmp_path)),
        2: run_module([*base, "--seed", "2"], cwd, subprocess_env(tmp_path, TSCL_RUNS_DIR=str(runs))),
    }
    outcome = {seed: (*proc.communicate(timeout=180), proc.returncode) for seed, proc in procs.items()}
    for seed, (out, err, code) in outcome.items():
        assert code == 0, err
        run = Path(json.loads(out)["run_dir"])
        run = run if run.is_absolute() else cwd / run
        assert run.parent.resolve() == runs.resolve()
        assert _seed(run) == seed
        meta = json.loads((run / "meta.json").read_text())
        assert meta["status"] == "finished" and meta["seed"] == seed and meta["step"] == 2
        assert len((run / "losses.csv").read_text().splitlines()) == 3
        assert load_checkpoint(run / "checkpoints" / "last.pt")["progress"]["step"] == 2
    assert len(list(runs.iterdir())) == 2
