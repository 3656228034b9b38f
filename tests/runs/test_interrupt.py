"""One interrupt path: every long operation raises tscl.Interrupted, the command line maps it to exit 130."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import tscl
from tests.cli_helpers import run_cli
from tscl.runs.interrupt import Interrupted, signals_as_interrupt, stop_on_signals


def test_signals_become_a_flag_or_a_keyboard_interrupt() -> None:
    with stop_on_signals() as received:
        os.kill(os.getpid(), signal.SIGTERM)
        assert received["signal"] == "SIGTERM"
    with pytest.raises(KeyboardInterrupt), signals_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers are restored


def test_leaving_the_flag_keeps_a_handler_set_meanwhile_and_restores_its_own() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        pass
    assert signal.getsignal(signal.SIGTERM) is before
    try:
        # A torchrun rank that lost its peers ignores SIGTERM until its error is printed: leaving training
        # (by that error) must not put back the default action, which would end it before it says why.
        with pytest.raises(RuntimeError), stop_on_signals():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            raise RuntimeError("peer lost")
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, before)


def test_interrupted_is_public_and_carries_how_to_continue(tmp_path: Path) -> None:
    exc = Interrupted.training(tmp_path, 7, "SIGINT")
    assert isinstance(exc, tscl.Interrupted) and isinstance(exc, tscl.TsclError)
    assert "stopped at iteration 7" in exc.message and exc.hint == f"resume with `tscl pretrain --resume {tmp_path}`"


def test_the_cli_maps_an_interrupted_sweep_to_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tscl.sweep

    def stopped(*args: object, **kwargs: object) -> None:
        raise Interrupted("sweep interrupted: 1 of 3 trials finished", hint="re-run the same command")

    monkeypatch.setattr(tscl.sweep, "run_sweep", stopped)
    grid = tmp_path / "grid.toml"
    grid.write_text('name = "x"\n')
    code, _, err = run_cli(["sweep", str(grid)], capsys)
    assert code == 130
    assert err.splitlines() == ["error: sweep interrupted: 1 of 3 trials finished", "hint: re-run the same command"]
