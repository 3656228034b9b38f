"""The ``tscl`` program's quick exit: the exit code, output, threads and exit handlers are those of a normal exit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tscl.cli as cli

ROOT = Path(__file__).parents[2]


class _Exited(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record what the quick exit does, in order, without ending pytest's process or running its handlers."""
    events: list[str] = []

    def fake_exit(code: int) -> None:
        events.append(f"exit {code}")
        raise _Exited(code)

    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    import atexit

    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: events.append("exit handlers"))
    return events


CODES = [(None, 0), (SystemExit(0), 0), (SystemExit(None), 0), (SystemExit(1), 1), (SystemExit(130), 130),
         (SystemExit("bad"), 1)]  # fmt: skip


@pytest.mark.parametrize(("raised", "code"), CODES)
def test_the_exit_code_is_the_commands(
    raised: SystemExit | None, code: int, exits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def command() -> None:
        if raised is not None:
            raise raised

    monkeypatch.setattr(cli, "main", command)
    with pytest.raises(_Exited):
        cli.console()
    assert exits == ["exit handlers", f"exit {code}"]


def test_running_threads_finish_before_the_exit(exits: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def worker() -> None:
        time.sleep(0.2)
        exits.append("worker done")

    def command() -> None:
        threading.Thread(target=worker).start()

    monkeypatch.setattr(cli, "main", command)
    with pytest.raises(_Exited):
        cli.console()
    assert exits == ["worker done", "exit handlers", "exit 0"]


def test_a_real_process_keeps_its_output_and_exit_handlers(tmp_path: Path) -> None:
    # A plug-in-style program: registers an exit handler that writes a file, prints more than a pipe buffer.
    marker = tmp_path / "handler-ran"
    program = (
        "import atexit, sys\n"
        "import tscl.cli as cli\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        "def command():\n"
        "    print('x' * 200000, end='')\n"
        "    sys.stdout.write('END')\n"
        "    raise SystemExit(3)\n"
        "cli.main = command\n"
        "cli.console()\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 3
    assert done.stdout == "x" * 200000 + "END"
    assert marker.exists()


def test_python_dash_m_tscl_exits_with_the_commands_code() -> None:
    done = subprocess.run([sys.executable, "-m", "tscl", "pretrain", "--dataset", "NoSuchSet", "--iters", "1"],
                          cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: dataset must be a known name")
