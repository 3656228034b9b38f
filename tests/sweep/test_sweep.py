"""``tscl sweep``: grid validation, trial ids, fail-soft trials, locks, kill/resume, summary statistics."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.cli_helpers import run_cli as _cli
from tscl.errors import ConfigError
from tscl.sweep import SweepEvent, load_grid, run_sweep
from tscl.sweep.lock import TrialLock
from tscl.sweep.trial import Layout, planned_action

TINY = {"iters": 2, "repr_dims": 8, "hidden_dims": 8, "depth": 1, "batch_size": 4, "max_train_length": 64,
        "device": "cpu", "threads": 1, "plots": False}  # fmt: skip
TINY_TOML = "\n".join(f"{k} = {json.dumps(v)}" for k, v in TINY.items())
TWO_BY_TWO_BY_TWO = f"""
datasets = ["GunPoint", "BasicMotions"]
objectives = ["ts2vec"]
seeds = [0, 1]
output = "{{output}}"

[base]
{TINY_TOML}

[[settings]]
name = "lr-small"
lr = 0.001

[[settings]]
name = "lr-large"
lr = 0.01
"""


def _grid(**changes: Any) -> dict[str, Any]:
    grid: dict[str, Any] = {"datasets": ["GunPoint"], "seeds": [0], "base": dict(TINY)}
    grid.update(changes)
    return grid


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# -- grid validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"dataset": ["GunPoint"]}, "unknown key 'dataset'"),
        ({"iters": 3}, "unknown key 'iters'"),
        ({"datasets": None}, "datasets must be a non-empty list"),
        ({"datasets": []}, "datasets must be a non-empty list"),
        ({"objectives": ["ts2vec", "simclr"]}, "objectives[1] must be one of"),
        ({"seeds": [0, "1"]}, "seeds[1] must be an integer"),
        ({"seeds": [0, -1]}, "seeds[1] must be an integer from 0 to 2**63 - 1 but got -1"),
        ({"seeds": [2**63]}, "seeds[0] must be an integer from 0 to 2**63 - 1"),
        ({"base": {"lrr": 0.1}}, "unknown key 'lrr'"),
        ({"base": {"iters": "ten"}}, "base.iters: iters must be a valid integer"),
        ({"base": {"iters": 0}}, "base.iters"),
        ({"base": {"head": "forest"}}, "base.head must be one of"),
        ({"base": {"plots": "no"}}, "base.plots must be bool"),
        ({"base": {"baselines": 0}}, "base.baselines must be bool"),
        ({"base": {"eval_seed": -1}}, "base.eval_seed must be an integer from 0 to 2**32 - 1 but got -1"),
        ({"grid": {"eval_seed": [0, 2**32]}}, "grid.eval_seed[1] must be an integer from 0 to 2**32 - 1"),
        ({"base": {"seed": 3}}, "base.seed cannot be set per trial"),
        ({"settings": [{"lr": 0.1}, {"lr": 0.1}]}, "twice"),
        ({"settings": {"lr": 0.1}}, "settings must be a list of tables"),
        ({"grid": {"lr": 0.1}}, "grid.lr must be a non-empty list"),
        ({"grid": {"encoder.mask_mode": ["binomial", "sometimes"]}}, "encoder.mask_mode must be 'binomial'"),
        ({"base": {"objective.nope": 1}}, "objective.nope is not an option of ts2vec"),
        ({"base": {"encoder": "resnet"}}, "base.encoder must be one of cost, patch_transformer, transformer, ts2vec"),
        ({"settings": [{"lr": 0.1}], "grid": {"lr": [0.2]}}, "lr is set both"),
        ({"base": {"repr_dims": 32, "encoder.repr_dims": 64}}, "[base] sets encoder.repr_dims twice"),
        ({"settings": [{"repr_dims": 32}], "grid": {"encoder.repr_dims": [64]}}, "encoder.repr_dims is set both"),
        ({"grid": {"temperature": [0.1], "loss.temperature": [0.2]}}, "[grid] sets loss.temperature twice"),
        ({"base": {"encoder": {"repr_dims": 64}}}, "base.encoder must be a component's name but got a table"),
    ],
)
def test_bad_grids_are_rejected_before_anything_runs(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    grid = _grid(output=str(tmp_path / "out"), **changes)
    if changes.get("datasets", "") is None:
        del grid["datasets"]
        expected = "datasets must be given but the grid has no datasets key"
    with pytest.raises(ConfigError) as info:
        run_sweep(grid)
    assert expected in info.value.message
    assert "\n" not in info.value.message
    assert not (tmp_path / "out").exists()


def test_unknown_keys_get_a_close_match_hint() -> None:
    with pytest.raises(ConfigError) as info:
        load_grid(_grid(base={"repr_dim": 8}))
    assert info.value.hint is not None and "encoder.repr_dims" in info.value.hint
    with pytest.raises(ConfigError) as info:
        load_grid(_grid(iters=3))
    assert info.value.hint is not None and "[base]" in info.value.hint
    for axis in ("dataset", "seed", "objective"):  # the axes are plural at the top, and no setting
        with pytest.raises(ConfigError) as info:
            load_grid(_grid(**{axis: [0]}))
        assert info.value.hint is not None and f"did you mean {axis}s?" in info.value.hint


def test_a_directory_given_as_the_grid_is_named_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_grid(tmp_path)


def test_cli_reports_a_bad_grid_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('datasets = ["GunPoint"]\nobjectives = ["nope"]\n')
    code, _, err = _cli(["sweep", str(path)], capsys)
    assert code == 1
    assert err.startswith("error: bad.toml: objectives[0] must be one of") and "Traceback" not in err
    code, _, err = _cli(["sweep", str(tmp_path / "missing.toml")], capsys)
    assert code == 1 and "must be a .toml file but it does not exist" in err
    path.write_text('datasets = ["GunPoint"]\nobjectives =\n')  # no value
    code, out, err = _cli(["sweep", str(path)], capsys)
    assert code == 1 and err.startswith(f"error: grid file {path} must be valid TOML but reading it failed: ")
    assert "line 2" in err and "hint:" in err and "Traceback" not in out + err


# -- expansion and ids ---------------------------------------------------------------------------------------


def test_settings_tables_times_grid_product_in_a_fixed_order(tmp_path: Path) -> None:
    grid = load_grid(
        _grid(
            datasets=["GunPoint", "BasicMotions"],
            seeds=[1, 2],
            settings=[{"name": "small", "repr_dims": 8}, {"hidden_dims": 16}],
            grid={"lr": [0.001, 0.01], "univariate": [True]},
        )  # fmt: skip
    )
    labels = [label for label, _ in grid.variants()]
    assert labels == [
        "small,lr=0.001,univariate=true",
        "small,lr=0.01,univariate=true",
        "hidden_dims=16,lr=0.001,univariate=true",
        "hidden_dims=16,lr=0.01,univariate=true",
    ]
    trials = grid.trials()
    assert len(trials) == 2 * 4 * 2
    assert [t.dataset for t in trials[:8]] == ["GunPoint"] * 8 and [t.seed for t in trials[:2]] == [1, 2]
    assert trials[0].config.encoder.options["repr_dims"] == 8 and trials[0].config.lr == 0.001
    assert trials[0].config.univariate
    assert trials[2].config.lr == 0.01 and trials[4].config.encoder.options["hidden_dims"] == 16
    assert len({t.id for t in trials}) == len(trials)
    assert trials[0].id.startswith("GunPoint-ts2vec-small,lr=0.001,univariate=true-seed1-")


def test_trial_ids_are_deterministic_and_track_result_changing_settings(tmp_path: Path) -> None:
    first = [t.id for t in load_grid(_grid()).trials()]
    assert first == [t.id for t in load_grid(_grid()).trials()]
    moved = load_grid(_grid(data_dir=str(tmp_path)), data_dir=tmp_path / "elsewhere").trials()
    assert [t.id for t in moved] == first  # where the data lives does not change results
    assert moved[0].config.data_dir == str((tmp_path / "elsewhere").resolve())  # the argument wins
    longer = load_grid(_grid(base={**TINY, "iters": 3})).trials()
    assert longer[0].id != first[0]


def test_dry_run_lists_trials_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(TWO_BY_TWO_BY_TWO.format(output=(tmp_path / "out").as_posix()))
    code, out, _ = _cli(["sweep", str(path), "--dry-run", "--json"], capsys)
    plan = json.loads(out)
    assert code == 0 and plan["dry_run"] and len(plan["trials"]) == 8
    assert {t["action"] for t in plan["trials"]} == {"run"}
    assert not (tmp_path / "out").exists()


# -- locks ---------------------------------------------------------------------------------------------------


def test_dry_run_checks_the_evaluation_settings_against_the_data_as_a_run_does(
    tmp_path: Path, isolated_data_env: Path
) -> None:
    grid = _grid(output=str(tmp_path / "out"))
    grid["base"]["horizons"] = [24]  # GunPoint is classification data
    with pytest.raises(ConfigError, match="--horizons"):
        run_sweep(grid, dry_run=True)
    assert not (tmp_path / "out").exists()


def test_trial_lock_is_exclusive_and_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "t.lock"
    first, second = TrialLock(path), TrialLock(path)
    assert first.acquire() and not second.acquire()
    assert first.owner()["pid"] == os.getpid()  # type: ignore[index]
    first.release()
    assert second.acquire()
    second.release()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from tscl.sweep.lock import TrialLock; "
         "lock = TrialLock(Path(sys.argv[1])); assert lock.acquire(); print('held', flush=True); time.sleep(60)",
         str(path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not TrialLock(path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        third = TrialLock(path)
        assert third.acquire()  # the system released the killed holder's lock: nothing stale to break
        third.release()
    finally:
        holder.kill()


def test_a_trial_locked_by_a_live_process_is_left_alone(tmp_path: Path, isolated_data_env: Path) -> None:
    grid = _grid(output=str(tmp_path / "out"))
    trial = load_grid(grid).trials()[0]
    holder = TrialLock(Layout(tmp_path / "out").lock(trial.id))
    assert holder.acquire()
    try:
        result = run_sweep(grid)
    finally:
        holder.release()
    assert not result.ok and result.trials[0].status == "locked"
    assert str(os.getpid()) in str(result.trials[0].error)
    assert not Path(result.trials[0].run_dir).exists()


# -- running -------------------------------------------------------------------------------------------------


def test_baselines_false_skips_the_baselines_of_every_trial(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(f"""
datasets = ["GunPoint"]
seeds = [0]
output = "{(tmp_path / "out").as_posix()}"
[base]
{TINY_TOML}
baselines = false
""")
    code, _, err = _cli(["sweep", str(path)], capsys)
    assert code == 0, err
    (metrics_path,) = (tmp_path / "out").rglob("metrics.json")
    metrics = json.loads(metrics_path.read_text())
    assert metrics["baselines"] == {} and 0.0 <= metrics["accuracy"] <= 1.0


def test_a_grids_forecasting_options_apply_to_its_forecasting_datasets_only(
    tmp_path: Path, isolated_data_env: Path
) -> None:
    # `tscl pretrain --dataset GunPoint --univariate` is refused (the option would be ignored); a grid's base
    # gives it to every dataset, and its classification trials run without it (experiments/methods_vs_ts2vec).
    grid = _grid(output=str(tmp_path / "out"))
    grid["base"].update(univariate=True, baselines=False)
    result = run_sweep(grid)
    assert [trial.status for trial in result.trials] == ["finished"], [trial.error for trial in result.trials]


def test_ray_only_flags_are_refused_without_the_ray_backend(tmp_path: Path) -> None:
    for flags in ({"address": "auto"}, {"cpus_per_trial": 2.0}, {"gpus_per_trial": 1.0}):
        with pytest.raises(ConfigError, match=r"must come with backend ray \(--backend ray\)"):
            run_sweep(_grid(output=str(tmp_path / "out")), **flags)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_trials_whose_data_could_not_be_fetched_are_not_counted_as_finished(
    tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens: ECG200 (not bundled with aeon) cannot be fetched
    monkeypatch.setenv("TSCL_DATA_MIRROR", f"http://127.0.0.1:{port}")
    grid = _grid(datasets=["GunPoint", "ECG200"], output=str(tmp_path / "out"))
    grid["base"]["baselines"] = False
    events: list[SweepEvent] = []
    result = run_sweep(grid, on_event=events.append)
    (begin,) = [event for event in events if event.kind == "begin"]
    assert (begin.total, begin.skipped) == (1, 0)
    assert {t.dataset: t.status for t in result.trials} == {"GunPoint": "finished", "ECG200": "failed"}


def test_a_failing_trial_fails_alone_with_its_error_in_the_summary(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(f"""
datasets = ["GunPoint", "NoSuchDataset"]
seeds = [0]
output = "{(tmp_path / "out").as_posix()}"
[base]
{TINY_TOML}
[[settings]]
name = "ok"
[[settings]]
name = "wrong-task"
task = "forecasting"
""")
    code, _, err = _cli(["sweep", str(path)], capsys)
    assert code == 1 and "error: 3 of 4 trials did not finish" in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    status = {(t["dataset"], t["setting"]): t for t in summary["trials"]}
    assert status[("GunPoint", "ok")]["status"] == "finished"
    assert "task must match the dataset's (classification)" in status[("GunPoint", "wrong-task")]["error"]
    assert "NoSuchDataset" in status[("NoSuchDataset", "ok")]["error"]
    rows = {(r["dataset"], r["setting"]): r for r in summary["rows"]}
    assert rows[("GunPoint", "ok")]["n"] == 1 and rows[("GunPoint", "ok")]["metrics"]["accuracy"]["std"] == 0.0
    assert rows[("GunPoint", "wrong-task")]["n"] == 0
    assert "task must match" in rows[("GunPoint", "wrong-task")]["errors"][0]
    with open(tmp_path / "out" / "summary.csv", newline="") as handle:
        lines = {(r["dataset"], r["setting"]): r for r in csv.DictReader(handle)}
    assert "task must match" in lines[("GunPoint", "wrong-task")]["errors"]


def test_an_interrupted_trial_resumes_from_its_checkpoint(tmp_path: Path, isolated_data_env: Path) -> None:
    from tscl.runs.pretraining import pretrain

    grid = _grid(output=str(tmp_path / "out"), base={**TINY, "iters": 4, "checkpoint_every": 1})
    trial = load_grid(grid).trials()[0]
    layout = Layout(tmp_path / "out")
    run_dir = layout.run_dir(trial.id)

    def killed_at_two(step: int, total: int, loss: float) -> None:
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pretrain(trial.config, run_dir=run_dir, on_step=killed_at_two)
    meta = json.loads((run_dir / "meta.json").read_text())
    (run_dir / "meta.json").write_text(json.dumps({**meta, "status": "running"}))  # as SIGKILL leaves it
    layout.lock(trial.id).parent.mkdir(parents=True)
    layout.lock(trial.id).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
    assert planned_action(run_dir) == "resume"
    result = run_sweep(grid)
    assert result.ok and result.trials[0].action == "resume"
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["resumed"] == 1 and meta["step"] == 4 and meta["status"] == "finished"
    assert _free(layout.lock(trial.id))


def _free(path: Path) -> bool:
    """Whether nobody holds the trial lock at ``path`` (its file may stay: the lock is the system's)."""
    lock = TrialLock(path)
    try:
        return lock.acquire()
    finally:
        lock.release()


def _finished(output: Path) -> dict[str, int]:
    done = {}
    for run_dir in sorted((output / "trials").glob("*")):
        if planned_action(run_dir) == "skip":
            done[run_dir.name] = (run_dir / "metrics.json").stat().st_mtime_ns
    return done


def _session_processes(session: int) -> list[int]:
    """Live (not zombie) processes of a session, from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


@contextlib.contextmanager
def _two_trials_running(tmp_path: Path, iters: int) -> Iterator[tuple[subprocess.Popen[bytes], list[int]]]:
    """A `tscl sweep --workers 2` process of two GunPoint trials of ``iters`` iterations, in its own session,
    once both trials have started: (the sweep, its two workers' pids). Everything is killed on exit."""
    path, output = tmp_path / "grid.toml", tmp_path / "out"
    path.write_text(f'datasets = ["GunPoint"]\nseeds = [0, 1]\noutput = "{output.as_posix()}"\n'
                    f"[base]\n{TINY_TOML.replace('iters = 2', f'iters = {iters}')}\nbaselines = false\n")  # fmt: skip
    command = [sys.executable, "-c", "from tscl.cli import main; main()", "sweep", str(path), "--workers", "2"]
    sweep = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(output.glob("trials/*/checkpoints"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [pid for pid in _session_processes(sweep.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]  # fmt: skip
        assert len(workers) == 2, "the trials did not start"
        yield sweep, workers
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sweep.pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_workers_of_a_killed_sweep_stop_their_trial_instead_of_running_on(
    tmp_path: Path, isolated_data_env: Path
) -> None:
    with _two_trials_running(tmp_path, 100000) as (sweep, _):
        os.kill(sweep.pid, signal.SIGKILL)  # the sweep alone: its workers are orphaned in mid-trial
        sweep.wait()
        deadline = time.monotonic() + 60
        while _session_processes(sweep.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _session_processes(sweep.pid), "workers kept training after the sweep was killed"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_a_worker_killed_in_mid_trial_leaves_the_trial_failed_in_its_state_file(
    tmp_path: Path, isolated_data_env: Path
) -> None:
    with _two_trials_running(tmp_path, 1500) as (sweep, workers):
        os.kill(workers[0], signal.SIGKILL)
        assert sweep.wait(timeout=300) == 1  # one trial did not finish
    output = tmp_path / "out"
    states = [json.loads(state.read_text()) for state in (output / "state").glob("*.json")
              if not state.name.endswith(".owner.json")]  # fmt: skip
    assert sorted(state["status"] for state in states) == ["failed", "finished"]
    (failed,) = [state for state in states if state["status"] == "failed"]
    assert "worker process died" in failed["error"]


def _assert_summary_matches_the_runs(output: Path) -> None:
    summary = json.loads((output / "summary.json").read_text())
    with open(output / "summary.csv", newline="") as handle:
        lines = {(r["dataset"], r["setting"]): r for r in csv.DictReader(handle)}
    assert len(summary["rows"]) == 4
    for row in summary["rows"]:
        trials = [t for t in summary["trials"] if (t["dataset"], t["setting"]) == (row["dataset"], row["setting"])]
        assert row["n"] == len(trials) == 2
        for metric in ("accuracy", "auprc"):
            values = [json.loads((Path(t["run_dir"]) / "metrics.json").read_text())[metric] for t in trials]
            assert row["metrics"][metric]["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert row["metrics"][metric]["std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
            line = lines[(row["dataset"], row["setting"])]
            assert float(line[f"{metric}_mean"]) == pytest.approx(np.mean(values), abs=1e-12)
            assert float(line[f"{metric}_std"]) == pytest.approx(np.std(values, ddof=1), abs=1e-12)
    gunpoint = next(r for r in summary["rows"] if r["dataset"] == "GunPoint")
    assert gunpoint["paper"] == {"accuracy": 0.98}


@pytest.mark.slow
def test_killed_sweep_reruns_only_the_unfinished_trials(tmp_path: Path, isolated_data_env: Path) -> None:
    output = tmp_path / "out"
    path = tmp_path / "grid.toml"
    path.write_text(TWO_BY_TWO_BY_TWO.format(output=output.as_posix()))
    command = [
        sys.executable,
        "-c",
        "from tscl.cli import main; main()",
        "sweep",
        str(path),
        "--workers",
        "2",
    ]
    sweep = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not _finished(output) and sweep.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.wait()
    before = _finished(output)
    assert 1 <= len(before) < 8

    rerun = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    result = json.loads(rerun.stdout)
    assert result["ok"] and result["counts"] == {"finished": 8}
    skipped = {t["id"] for t in result["trials"] if t["action"] == "skip"}
    assert skipped == set(before)
    after = _finished(output)
    assert {k: v for k, v in after.items() if k in before} == before  # not redone
    assert all(_free(lock) for lock in (output / "state").glob("*.lock"))
    assert not list((output / "state").glob("*.owner.json"))
    _assert_summary_matches_the_runs(output)

    events: list[SweepEvent] = []
    again = run_sweep(path, workers=2, on_event=events.append)  # a finished sweep does no work
    assert again.ok and {t.action for t in again.trials} == {"skip"}
    assert [(e.kind, e.total, e.skipped) for e in events] == [("begin", 0, 8)]
    assert _finished(output) == after


def test_rerunning_an_edited_grid_names_the_trial_folders_it_no_longer_holds(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "grid é.toml"
    text = f"""
datasets = ["GunPoint"]
seeds = [0]
output = "{(tmp_path / "out x").as_posix()}"
[base]
{TINY_TOML}
baselines = false
"""
    path.write_text(text)
    code, out, err = _cli(["sweep", str(path), "--json"], capsys)
    assert code == 0 and json.loads(out)["not_in_grid"] == [], err
    (old,) = [p.name for p in (tmp_path / "out x" / "trials").iterdir()]
    path.write_text(text.replace("seeds = [0]", "seeds = [1]"))  # edited: the seed-0 trial is no longer the grid's
    code, out, err = _cli(["sweep", str(path), "--dry-run"], capsys)
    assert code == 0 and f"note: 1 trial folder in {tmp_path / 'out x' / 'trials'} is not part of this grid" in err
    assert old in err, err
    code, out, err = _cli(["sweep", str(path), "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["not_in_grid"] == [old] and result["counts"] == {"finished": 1}, err
    assert (tmp_path / "out x" / "trials" / old / "metrics.json").is_file()  # kept as it was


def test_setting_names_with_brackets_are_shown_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tscl.cli.render import console

    monkeypatch.setattr(console, "width", 300)  # whole cells on one line
    path = tmp_path / "grid.toml"
    path.write_text(f"""
datasets = ["GunPoint"]
output = "{(tmp_path / "out").as_posix()}"
[[settings]]
name = "lr [small] [/b]"
lr = 0.001
""")
    code, out, err = _cli(["sweep", str(path), "--dry-run"], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert "lr [small] [/b]" in out


@pytest.mark.parametrize("kind", ["file", "run"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_an_output_that_is_a_file_or_a_run_directory_is_refused_by_dry_runs_too(
    kind: str, dry_run: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "taken"
    if kind == "file":
        output.write_text("mine\n")
    else:
        output.mkdir()
        (output / "config.toml").write_text('dataset = "GunPoint"\n')
        (output / "meta.json").write_text("{}\n")
    path = tmp_path / "grid.toml"
    path.write_text(f'datasets = ["GunPoint"]\noutput = "{output.as_posix()}"\n[base]\n{TINY_TOML}\n')
    before = sorted(p.name for p in output.iterdir()) if kind == "run" else output.read_text()
    code, _, err = _cli(["sweep", str(path), *(["--dry-run"] if dry_run else [])], capsys)
    line = err.strip().splitlines()[0]
    assert code == 1 and line.startswith(f"error: sweep output folder {output} must") and "Traceback" not in err, err
    assert "is a file" in line if kind == "file" else "run directory" in line
    assert (sorted(p.name for p in output.iterdir()) if kind == "run" else output.read_text()) == before


def test_a_large_sweep_warns_as_it_starts(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tscl.cli.sweep_cmd as sweep_cmd

    monkeypatch.setattr(sweep_cmd, "LARGE_SWEEP", 2)  # as 1000 would, on two tiny trials
    path = tmp_path / "grid.toml"
    path.write_text(
        f'datasets = ["GunPoint"]\nseeds = [0, 1]\noutput = "{(tmp_path / "out").as_posix()}"\n'
        f"[base]\n{TINY_TOML}\nbaselines = false\n"
    )
    code, _, err = _cli(["sweep", str(path)], capsys)
    assert code == 0 and "warning: 2 trials to run: if that is more than meant, stop with Ctrl-C" in err, err
    code, _, err = _cli(["sweep", str(path)], capsys)  # nothing left to run: no warning
    assert code == 0 and "warning" not in err, err
