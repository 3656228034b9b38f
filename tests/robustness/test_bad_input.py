"""A battery of bad inputs through the real CLI: one ``error:`` line (+ ``hint:``), exit 1, nothing lost.

Every case runs with a runs folder (``TSCL_RUNS_DIR``) and a cache (``TSCL_CACHE_DIR``) that already hold
files, and with a finished run as the target of ``evaluate``/``encode``/``--resume``: after the failing
command, not one file or folder in any of them, in the data folder or in the working directory has changed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.robustness.helpers import (
    TINY,
    assert_one_line_error,
    copy_run,
    run_cli,
    run_module,
    snapshot,
    subprocess_env,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
PRETRAIN = ["pretrain", "--iters", "2", *TINY]


@dataclass
class Bench:
    """The folders of one bad-input case."""

    root: Path
    files: Path
    runs: Path
    run: Path
    cache: Path
    cwd: Path

    def fmt(self, args: list[str]) -> list[str]:
        names = {"files": self.files, "run": self.run, "runs": self.runs, "root": self.root}
        return [a.format(**names) for a in args]

    def watched(self) -> tuple[Path, ...]:
        return (self.files, self.runs, self.cache, self.cwd)


def _write_files(files: Path) -> None:
    for name in ("empty.csv", "no_time.csv", "bad_date.csv", "text_column.csv", "all_nan_column.csv", "inf.csv",
                 "one_class_TRAIN.tsv", "one_class_TEST.tsv", "unseen_label_TRAIN.tsv", "unseen_label_TEST.tsv",
                 "inconsistent_dims_TRAIN.ts"):  # fmt: skip
        shutil.copy(FIXTURES / name, files / name)
    shutil.copy(FIXTURES / "inconsistent_dims_TRAIN.ts", files / "inconsistent_dims_TEST.ts")
    (files / "huge_TRAIN.tsv").write_text("1\t0.5\t1e39\n2\t0.1\t0.2\n")
    (files / "huge_TEST.tsv").write_text("1\t0.5\t0.4\n")
    (files / "binary_TRAIN.tsv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)
    (files / "binary_TEST.tsv").write_text("1\t0.5\n")
    (files / "unsorted.csv").write_text("date,OT\n2020-01-02,1\n2020-01-03,2\n2020-01-01,3\n2020-01-04,4\n")
    (files / "repeated.csv").write_text("date,OT\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n2020-01-03,4\n")
    (files / "three_rows.csv").write_text("date,OT\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n")
    hours = [f"2016-07-01 {h:02d}:00:00,{h}.0,{h % 3}.5" for h in range(24)]
    (files / "ETTh1.csv").write_text("date,HUFL,OT\n" + "\n".join(hours) + "\n")  # a truncated ETTh1
    np.save(files / "all_nan.npy", np.full((4, 20, 1), np.nan, dtype=np.float32))
    (files / "folder.csv").mkdir()
    (files / "a_file").write_text("not a folder\n")
    (files / "out_dir.npy").mkdir()
    (files / "unknown_key.toml").write_text("[pretrain]\niters = 2\nitres = 3\n")
    (files / "mistyped.toml").write_text('[pretrain]\niters = "3"\n')
    (files / "bad_syntax.toml").write_text("[pretrain\niters = 3\n")
    (files / "lr_zero.toml").write_text("[pretrain]\nlr = 0.0\n")
    (files / "grid_unknown.toml").write_text('datasets = ["GunPoint"]\n[base]\nitres = 2\n')
    output = files / "a_file" / "sweep"
    (files / "grid_output.toml").write_text(f'datasets = ["GunPoint"]\noutput = "{output}"\n[base]\niters = 1\n')


@pytest.fixture
def bench(tmp_path: Path, trained_runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Bench:
    files, runs, cache, cwd = (tmp_path / name for name in ("files", "runs", "cache", "cwd"))
    for folder in (files, cwd, cache / "datasets" / "ETT"):
        folder.mkdir(parents=True)
    (cache / "datasets" / "ETT" / "keep.txt").write_text("pre-existing cache content\n")
    _write_files(files)
    run = copy_run(trained_runs["gunpoint"], runs / "20240101-000000-GunPoint-ts2vec-abcd")
    copy_run(trained_runs["forecast"], runs / "forecast")
    monkeypatch.chdir(cwd)
    for variable in ("TSCL_DATA_DIR", "TSCL_DATA_MIRROR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TSCL_RUNS_DIR", str(runs))
    monkeypatch.setenv("TSCL_CACHE_DIR", str(cache))
    return Bench(tmp_path, files, runs, run, cache, cwd)


def _check(bench: Bench, capsys: pytest.CaptureFixture[str], args: list[str], *needles: str) -> str:
    before = snapshot(*bench.watched())
    code, _, err = run_cli(bench.fmt(args), capsys)
    line = assert_one_line_error(code, err, *needles)
    assert snapshot(*bench.watched()) == before, "a failing command changed files"
    return line


# -- data files --------------------------------------------------------------------------------------------
DATA_CASES = {
    "missing file": (["--dataset", "{files}/missing.csv"], ["missing.csv", "must exist"]),
    "unknown dataset": (["--dataset", "GunPiont"], ["GunPiont", "did you mean GunPoint"]),
    "empty file": (["--dataset", "{files}/empty.csv"], ["empty.csv", "empty"]),
    "no time column": (["--dataset", "{files}/no_time.csv"], ["no_time.csv", "time column"]),
    "unparseable date": (["--dataset", "{files}/bad_date.csv"], ["line 3", "must be a date/time"]),
    "time column not in file": (["--dataset", "{files}/no_time.csv", "--time-col", "when"], ["'when'"]),
    "non-numeric column": (["--dataset", "{files}/text_column.csv"], ["'site' must be numeric", "line 2"]),
    "all-NaN column": (["--dataset", "{files}/all_nan_column.csv"], ["'empty'", "all are missing"]),
    "inf in csv": (["--dataset", "{files}/inf.csv"], ["'load' must be finite", "line 3"]),
    "beyond float32": (["--dataset", "{files}/huge_TRAIN.tsv"], ["line 1, column 3", "float32"]),
    "all-NaN array": (["--dataset", "{files}/all_nan.npy"], ["all_nan.npy", "every value is missing"]),
    "rows out of time order": (["--dataset", "{files}/unsorted.csv"], ["must be in time order", "line 4"]),
    "repeated time": (["--dataset", "{files}/repeated.csv"], ["repeated.csv", "line 4 repeats 2020-01-02"]),
    "too few rows": (["--dataset", "{files}/three_rows.csv"], ["at least 5 rows"]),
    "truncated ETTh1": (["--dataset", "{files}/ETTh1.csv"], ["ETTh1 must have at least 14400 rows"]),
    "single class": (["--dataset", "{files}/one_class_TRAIN.tsv"], ["at least 2 classes"]),
    "unseen test label": (["--dataset", "{files}/unseen_label_TRAIN.tsv"], ["unseen_label_TEST.tsv", "'3'"]),
    "ts inconsistent dims": (
        ["--dataset", "{files}/inconsistent_dims_TRAIN.ts"],
        ["case 3 (line 8) must have 2 dimensions but got 1"],
    ),
    "binary file": (["--dataset", "{files}/binary_TRAIN.tsv"], ["must be UTF-8"]),
    "folder given as file": (["--dataset", "{files}/folder.csv"], ["folder.csv", "folder"]),
    "data dir is a file": (["--data-dir", "{files}/a_file"], ["data directory", "a_file"]),
    "unsupported suffix": (["--dataset", "{files}/a_file"], ["must end in"]),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_for_pretrain(case: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    args, needles = DATA_CASES[case]
    _check(bench, capsys, [*PRETRAIN, *args], *needles)


@pytest.mark.parametrize("case", ["missing file", "empty file", "no time column", "inf in csv", "binary file"])
def test_bad_data_for_data_info(case: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    args, needles = DATA_CASES[case]
    _check(bench, capsys, ["data", "info", *args[1:]], *needles)


# -- flags and config files ------------------------------------------------------------------------------
FLAG_CASES = {
    "negative iterations": (["--iters", "-5"], ["iters must be greater than or equal to 1 but got -5"]),
    "zero iterations": (["--iters", "0"], ["iters must be greater than or equal to 1"]),
    "zero epochs": (["--epochs", "0"], ["epochs must be greater than or equal to 1"]),
    "zero batch size": (["--batch-size", "0"], ["batch_size must be greater than or equal to 1 but got 0"]),
    "zero learning rate": (["--lr", "0"], ["lr must be greater than 0"]),
    "negative learning rate": (["--lr", "-0.01"], ["lr must be greater than 0"]),
    "NaN learning rate": (["--lr", "nan"], ["lr must be a finite number but got nan"]),
    "zero repr dims": (["--repr-dims", "0"], ["encoder.repr_dims must be greater than or equal to 1"]),
    "negative depth": (["--depth", "-1"], ["depth"]),
    "zero checkpoint interval": (["--checkpoint-every", "0"], ["checkpoint_every"]),
    "zero threads": (["--threads", "0"], ["threads must be greater than or equal to 1"]),
    "zero max length": (["--max-train-length", "0"], ["max_train_length"]),
    "one-step max length": (  # 1 would cut every series into one-step pieces: no temporal contrast, no context
        ["--max-train-length", "1"],
        ["max_train_length must be greater than or equal to 2 but got 1"],
    ),
    "unknown device": (["--device", "gpu"], ["device must be"]),
    "unavailable device": (["--device", "cuda:7"], ["cuda"]),
    "unknown objective": (["--objective", "simclr2"], ["objective must be one of"]),
    "text for a number": (["--iters", "many"], ["--iters"]),
    "unknown flag": (["--itres", "3"], ["No such option: --itres"]),
    "unknown config key": (["--config", "{files}/unknown_key.toml"], ["unknown key 'itres'"]),
    "mistyped config value": (["--config", "{files}/mistyped.toml"], ["iters must be a valid integer but got '3'"]),
    "config syntax": (["--config", "{files}/bad_syntax.toml"], ["not valid TOML"]),
    "config value out of range": (["--config", "{files}/lr_zero.toml"], ["lr must be greater than 0"]),
    "missing config": (["--config", "{files}/nope.toml"], ["nope.toml"]),
    "config is a folder": (["--config", "{files}/folder.csv"], ["folder.csv"]),
    "run dir exists": (["--run-dir", "{run}"], ["already exists", "not empty"]),
    "run dir is a file": (["--run-dir", "{files}/a_file"], ["already exists as a file"]),
    "run dir under a file": (["--run-dir", "{files}/a_file/run"], ["must be creatable"]),
    "resume a missing run": (["--resume", "{root}/no-such-run"], ["does not exist"]),
    "resume a non-run folder": (["--resume", "{files}"], ["not a tscl run directory"]),
}


@pytest.mark.parametrize("case", list(FLAG_CASES))
def test_bad_flags_for_pretrain(case: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    args, needles = FLAG_CASES[case]
    _check(bench, capsys, [*PRETRAIN, *args], *needles)


def test_runs_folder_that_is_a_file(bench: Bench, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TSCL_RUNS_DIR", str(bench.files / "a_file"))
    _check(bench, capsys, PRETRAIN, "runs folder", "a_file")


def test_infinite_learning_rate(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    _check(bench, capsys, [*PRETRAIN, "--lr", "inf"], "lr")


def test_config_keys_outside_the_pretrain_table(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    (bench.files / "stray.toml").write_text("itres = 5\n[pretrain]\niters = 2\n[pretrian]\nlr = 0.1\n")
    _check(bench, capsys, [*PRETRAIN, "--config", "{files}/stray.toml"], "itres")


# -- failures inside training (files owned elsewhere: see the reasons) -------------------------------------
def test_series_too_short_for_the_augment_objective(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(bench.files / "len1.npy", np.random.default_rng(0).normal(size=(10, 1, 1)).astype(np.float32))
    _check(bench, capsys, [*PRETRAIN, "--dataset", "{files}/len1.npy", "--objective", "augment"], "len1.npy")


def test_diverging_training_stops_with_an_error(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    run = bench.root / "diverged"
    code, _, err = run_cli([*PRETRAIN, "--iters", "4", "--lr", "1e30", "--run-dir", str(run)], capsys)
    assert_one_line_error(code, err, "loss")
    checkpoint = run / "checkpoints" / "last.pt"
    if checkpoint.exists():  # whatever is kept must be the last finite state
        state = torch.load(checkpoint, weights_only=True)
        assert all(torch.isfinite(tensor).all() for tensor in state["net"].values())


# -- run directories: evaluate, encode, resume ----------------------------------------------------------
def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for i in rng.integers(0, len(data), 200):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _bump_version(path: Path) -> None:
    state = torch.load(path, weights_only=True)
    state["format_version"] = 99
    torch.save(state, path)


DAMAGE = {
    "truncated": (_truncate, "truncated or corrupted"),
    "empty": (lambda p: p.write_bytes(b""), "truncated or corrupted"),
    "garbled": (_garble, "corrupted"),
    "not a checkpoint": (lambda p: torch.save({"weights": torch.zeros(2)}, p), "is not a tscl checkpoint"),
    "newer format": (_bump_version, "must have format version 1"),
    "missing": (lambda p: p.unlink(), "does not exist"),
}
COMMANDS = {
    "evaluate": ["evaluate", "{run}", "--device", "cpu", "--no-plots"],
    "encode": ["encode", "{run}", "--out", "{files}/reprs.npy", "--device", "cpu"],
    "resume": ["pretrain", "--resume", "{run}", "--iters", "4"],
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_damaged_checkpoint(command: str, damage: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    if damage == "missing" and command == "resume":
        pytest.skip("a run killed before its first checkpoint resumes from scratch (tested elsewhere)")
    spoil, needle = DAMAGE[damage]
    spoil(bench.run / "checkpoints" / "last.pt")
    _check(bench, capsys, COMMANDS[command], "last.pt", needle)


@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_corrupted_run_metadata(command: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    (bench.run / "meta.json").write_text('{"status": "runn')
    _check(bench, capsys, COMMANDS[command], "meta.json", "corrupted")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_corrupted_run_config(command: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    (bench.run / "config.toml").write_text('[pretrain]\ndataset = "GunPoint"\nrepr_dimz = 16\n')
    _check(bench, capsys, COMMANDS[command], "unknown key 'repr_dimz'")


CHANNEL_CASES = {
    "evaluate": ["evaluate", "{run}", "--dataset", "BasicMotions", "--device", "cpu"],
    "encode": ["encode", "{run}", "--dataset", "BasicMotions", "--out", "{files}/reprs.npy", "--device", "cpu"],
}


@pytest.mark.parametrize("command", list(CHANNEL_CASES))
def test_channel_count_differs_from_the_encoder(command: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    _check(bench, capsys, CHANNEL_CASES[command], "BasicMotions must have 1 channel like GunPoint", "got 6")


RUN_CASES = {
    "horizon longer than the series": (["evaluate", "{runs}/forecast", "--device", "cpu"], ["horizon"]),
    "task of another kind": (["evaluate", "{run}", "--task", "forecasting"], ["task must match"]),
    "unknown head": (["evaluate", "{run}", "--head", "forest"], ["head must be one of"]),
    "zero threads": (["evaluate", "{run}", "--threads", "0"], ["threads must be a positive integer"]),
    "not a run": (["evaluate", "{files}"], ["not a tscl run directory"]),
    "missing run": (["evaluate", "{root}/nope"], ["does not exist"]),
    "report without metrics": (["report", "{run}"], ["no metrics.json"]),
    "out not .npy": (["encode", "{run}", "--out", "{files}/reprs.txt"], ["out (--out) must end in .npy"]),
    "out is a folder": (["encode", "{run}", "--out", "{files}/out_dir.npy", "--device", "cpu"], ["out_dir.npy"]),
    "unknown split": (["encode", "{run}", "--out", "{files}/r.npy", "--split", "val"], ["split (--split) must be"]),
    "unknown mode": (["encode", "{run}", "--out", "{files}/r.npy", "--mode", "pooled"], ["mode must be"]),
    "zero causal window": (
        ["encode", "{run}", "--out", "{files}/r.npy", "--mode", "timestamp", "--causal-window", "0"],
        ["causal_window must be >= 1"],
    ),
    "missing argument": (["encode", "{run}"], ["Missing option '--out'"]),
    "sweep grid with an unknown key": (["sweep", "{files}/grid_unknown.toml"], ["unknown key 'itres'"]),
    "sweep output under a file": (["sweep", "{files}/grid_output.toml"], ["sweep output folder", "a_file"]),
}


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_bad_evaluate_encode_report(case: str, bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    args, needles = RUN_CASES[case]
    _check(bench, capsys, args, *needles)


def test_encode_into_a_missing_folder(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    _check(bench, capsys, ["encode", "{run}", "--out", "{files}/no/such/folder/r.npy"], "no/such/folder")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    path = bench.files / "unseen_label_TRAIN.tsv"
    path.chmod(0)
    try:
        _check(bench, capsys, [*PRETRAIN, "--dataset", str(path)], "must be readable")
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(
    bench: Bench, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as :func:`test_unreadable_file`, when the tests run as root: the read itself is refused."""
    path = bench.files / "unseen_label_TRAIN.tsv"
    real = Path.read_text

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)
    _check(bench, capsys, [*PRETRAIN, "--dataset", str(path)], "must be readable", "Permission denied")


# -- downloads -------------------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_fetch_without_network(bench: Bench, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TSCL_DATA_MIRROR", f"http://127.0.0.1:{_closed_port()}")
    _check(bench, capsys, ["data", "fetch", "ETTh1"], "cannot connect")
    _check(bench, capsys, ["data", "fetch", "ETTh1", "--data-dir", "{root}/fresh"], "cannot connect")
    assert not (bench.root / "fresh").exists(), "folders made for the download must go when it fails"


def test_fetch_checksum_mismatch(bench: Bench, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """No request log in the test output."""

    served = bench.root / "served"
    served.mkdir()
    (served / "ETTh1.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")  # not the catalog's file
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TSCL_DATA_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        _check(bench, capsys, ["data", "fetch", "ETTh1"], "sha256 of ETTh1.csv must be")
    finally:
        server.shutdown()
        server.server_close()


def test_unknown_name_for_fetch(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    _check(bench, capsys, ["data", "fetch", "ETTh3"], "ETTh3", "did you mean")


# -- the real console entry point -------------------------------------------------------------------------
def test_errors_through_python_dash_m(bench: Bench) -> None:
    """A few cases as a user meets them: a separate process, its real exit code and stderr."""
    (bench.run / "checkpoints" / "last.pt").write_bytes(b"PK\x03\x04 torn")
    env = subprocess_env(bench.root, TSCL_RUNS_DIR=str(bench.runs), TSCL_CACHE_DIR=str(bench.cache))
    cases = {
        "missing": (bench.fmt([*PRETRAIN, "--dataset", "{files}/missing.csv"]), "missing.csv"),
        "checkpoint": (["evaluate", str(bench.run), "--device", "cpu"], "truncated or corrupted"),
    }
    before = snapshot(*bench.watched())
    procs = {name: run_module(args, bench.cwd, env) for name, (args, _) in cases.items()}
    for name, proc in procs.items():
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert_one_line_error(proc.returncode, err, cases[name][1])
    assert snapshot(*bench.watched()) == before
