"""What a new user hits first (issue 25, item 6): Ctrl-C at start-up, --version, completion, narrow tables,
JSON numbers, dry runs, hints and wording, evaluate's phases, the README's install command."""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from tests.cli_helpers import one_line_error as _one_line_error
from tests.cli_helpers import run_cli
from tscl import __version__

TINY = ["--repr-dims", "16", "--hidden-dims", "8", "--depth", "2", "--device", "cpu", "--threads", "1"]
ROOT = Path(__file__).parents[2]


def _tscl(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "tscl", *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.fixture
def gunpoint_run(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run = tmp_path / "a-rather-long-run-directory-name-that-does-not-fit"
    code, _, err = run_cli(["pretrain", "--iters", "2", *TINY, "--run-dir", str(run)], capsys)
    assert code == 0, err
    return run


def _wait_until_loaded(pid: int, library: str, timeout: float = 60.0) -> None:
    """Until the process has mapped a shared library whose path contains ``library``."""
    maps = Path(f"/proc/{pid}/maps")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if library in maps.read_text():
                return
        except OSError:
            pass
        time.sleep(0.005)
    raise AssertionError(f"process {pid} never loaded {library}")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs /proc (Linux) to see how far start-up is")
@pytest.mark.parametrize(
    ("library", "delay"),
    [("site-packages", 0.0), ("libtorch", 0.0), ("site-packages", 0.5)],
    ids=["importing the command line", "importing torch", "0.5 s after start"],
)
def test_ctrl_c_during_start_up_prints_one_line_and_exits_130(tmp_path: Path, library: str, delay: float) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tscl", "pretrain", "--iters", "50", *TINY, "--run-dir", str(tmp_path / "r")]
    started = time.monotonic()
    # A shell without job control starts background jobs with SIGINT ignored, and children inherit that (a
    # user's Ctrl-C never reaches them): give the command the disposition an interactive start gives it.
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=_default_sigint)  # fmt: skip
    # Python's own start-up (before any of tscl runs) is past once an extension module from site-packages is
    # mapped; a signal before that gets Python's traceback whatever tscl does (see the README).
    _wait_until_loaded(process.pid, library)
    time.sleep(max(0.0, delay - (time.monotonic() - started)))
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    # 130, or death by SIGINT (which a shell also reports as 130) when the signal lands in the interpreter's exit
    assert process.returncode in (130, -signal.SIGINT), (process.returncode, err)
    assert lines[0].startswith("error: ") and "interrupted" in lines[0] and len(lines) <= 2, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.startswith(f"tscl {__version__} (torch ")


def test_shell_completion_completes_commands_and_options(tmp_path: Path) -> None:
    done = _tscl([], tmp_path, _TSCL_COMPLETE="complete_bash", COMP_WORDS="tscl pre", COMP_CWORD="1")
    assert done.returncode == 0 and done.stdout.split() == ["pretrain"], done.stderr
    done = _tscl([], tmp_path, _TSCL_COMPLETE="complete_bash", COMP_WORDS="tscl evaluate --no-b", COMP_CWORD="2")
    assert done.stdout.split() == ["--no-baselines"], done.stderr
    done = _tscl([], tmp_path, _TSCL_COMPLETE="source_bash")  # the script, whatever shell runs the tests
    assert done.returncode == 0 and "complete -o default -F _tscl_completion tscl" in done.stdout, done.stderr
    # --show-completion detects the user's shell; typer's switch for tests takes it as a value instead
    done = _tscl(["--show-completion", "zsh"], tmp_path, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert done.returncode == 0 and "_TSCL_COMPLETE=complete_zsh" in done.stdout, done.stderr


def test_tables_fold_long_names_at_80_columns(gunpoint_run: Path, tmp_path: Path) -> None:
    for args in (["runs", "--runs-dir", str(tmp_path)], ["runs", "compare", str(gunpoint_run)], ["data", "list"]):
        done = _tscl(args, tmp_path, COLUMNS="80")
        assert done.returncode == 0, done.stderr
        assert "…" not in done.stdout, done.stdout
        assert max(len(line) for line in done.stdout.splitlines()) <= 80
    # the run's name is all there, folded over lines
    cells = re.sub(r"[\s│┃]", "", _tscl(["runs", "--runs-dir", str(tmp_path)], tmp_path, COLUMNS="80").stdout)
    assert "a-rather-long-run-directory-name" in cells.replace("GunPoint", "")


def test_runs_json_gives_metrics_as_numbers(
    gunpoint_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["evaluate", str(gunpoint_run), "--no-baselines", "--no-plots", "--threads", "1"], capsys)
    assert code == 0, err
    code, out, _ = run_cli(["runs", "--runs-dir", str(tmp_path), "--json"], capsys)
    (row,) = json.loads(out)
    assert code == 0 and list(row["headline"]) == ["cv_accuracy", "accuracy", "auprc"]
    assert all(isinstance(value, float) for value in row["headline"].values())
    assert row["headline_text"].startswith("CV accuracy ")


def test_evaluate_shows_its_phases(
    gunpoint_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tscl.cli import render
    from tscl.runs.evaluation import evaluate_run

    phases: list[str] = []
    evaluate_run(gunpoint_run, threads=1, plots=False, on_phase=phases.append)
    assert list(dict.fromkeys(phases)) == ["load_s", "encode_s", "head_s", "baseline_s", "write_s"]
    screen = io.StringIO()  # a terminal: the phases are drawn, one line each, ticked when done
    monkeypatch.setattr(render, "err_console", Console(file=screen, force_terminal=True, width=100))
    code, _, err = run_cli(["evaluate", str(gunpoint_run), "--threads", "1", "--no-plots"], capsys)
    assert code == 0, err
    drawn = screen.getvalue()
    for label in ("loading the checkpoint and the data", "encoding with the pretrained encoder",
                  "fitting and scoring the head", "baselines", "writing metrics and plots"):  # fmt: skip
        assert label in drawn, drawn
    assert "✓" in drawn


def test_sweep_dry_run_catches_an_unknown_dataset(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(f'output = "{tmp_path / "out"}"\ndatasets = ["GunPoint", "GunPiont"]\n[base]\niters = 2\n')
    code, _, err = run_cli(["sweep", str(grid), "--dry-run"], capsys)
    _one_line_error(code, err, "GunPiont", "did you mean GunPoint")
    assert not (tmp_path / "out").exists()
    grid.write_text(f'output = "{tmp_path / "out"}"\ndatasets = ["GunPoint", "{tmp_path / "none.npy"}"]\n')
    code, _, err = run_cli(["sweep", str(grid), "--dry-run"], capsys)
    _one_line_error(code, err, "none.npy")


def test_divergence_hint_names_only_a_checkpoint_that_exists(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "early"
    code, _, err = run_cli(["pretrain", "--iters", "6", "--lr", "1e30", *TINY, "--run-dir", str(run)], capsys)
    _one_line_error(code, err, "diverged")
    assert "no checkpoint was written" in err and not (run / "checkpoints" / "last.pt").exists()
    run = tmp_path / "late"
    args = ["pretrain", "--iters", "6", "--lr", "1e30", "--checkpoint-every", "1", *TINY, "--run-dir", str(run)]
    code, _, err = run_cli(args, capsys)
    _one_line_error(code, err, "diverged")
    named = re.search(r"last checkpoint, (\S+) \(iteration (\d+)", err)
    assert named is not None and Path(named.group(1)).is_file(), err


def test_plurals_and_labelled_class_counts(
    gunpoint_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["pretrain", "--epochs", "1", *TINY, "--run-dir", str(tmp_path / "one")], capsys)
    assert code == 0 and "(1 epoch)" in out and "1 epochs" not in out, err
    code, _, err = run_cli(["evaluate", str(gunpoint_run), "--dataset", "BasicMotions", "--threads", "1"], capsys)
    line = _one_line_error(code, err, "BasicMotions")
    assert "must have 1 channel like" in line
    code, out, _ = run_cli(["data", "info", "GunPoint"], capsys)
    assert code == 0 and "class 1: 24 train, 76 test" in out and "class 2: 26 train, 74 test" in out


def test_readme_installs_cpu_torch_before_the_first_run() -> None:
    readme = (ROOT / "README.md").read_text()
    cpu = readme.index("pip install torch --index-url https://download.pytorch.org/whl/cpu")
    assert cpu < readme.index("tscl pretrain --run-dir runs/first")


def test_ctrl_c_that_a_library_turns_into_another_error_still_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """numpy's C extension, interrupted while it loads, raises ImportError instead of KeyboardInterrupt (seen
    as a traceback once in a few runs of the 0.5 s start-up test on a loaded machine)."""
    from tscl.cli import application, main

    def interrupted_import(argv: list[str] | None) -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs at the next bytecode; the sleep is not reached
        except KeyboardInterrupt:
            raise ImportError("numpy's C-extensions failed to import") from None

    monkeypatch.setattr(application, "run", interrupted_import)
    with pytest.raises(SystemExit) as stopped:
        main(["pretrain"])
    assert stopped.value.code == 130
    assert capsys.readouterr().err.strip() == "error: interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the caller's handler is back


def test_ctrl_c_during_an_import_is_raised_once_the_import_is_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raised inside torch's import, KeyboardInterrupt can land in Python code its C++ start-up calls and abort
    the process (``terminate called after throwing an instance of 'pybind11::error_already_set'``: 2 of 300
    interrupted ``import torch`` runs); raised inside numpy's, it leaves a half-made module. So it waits for the
    import to end."""
    from tscl.cli import application, main

    name = "tscl_test_module_interrupted_while_importing"
    (tmp_path / f"{name}.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "deadline = time.monotonic() + 0.3\n"
        "while time.monotonic() < deadline:  # bytecode runs, so the handler is called here, under the import\n"
        "    pass\n"
        "finished = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    seen: dict[str, bool] = {}

    def run(argv: list[str] | None) -> None:
        try:
            module = importlib.import_module(name)
            seen["imported"] = module.finished
            time.sleep(5)
            seen["slept"] = True
        except KeyboardInterrupt:
            seen["interrupted"] = True

    monkeypatch.setattr(application, "run", run)
    began = time.monotonic()
    main(["pretrain"])
    assert seen == {"imported": True, "interrupted": True}
    assert time.monotonic() - began < 2  # re-sent within a fraction of a second once the import is over
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    sys.modules.pop(name, None)
