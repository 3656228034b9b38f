"""Stopping long work on SIGINT/SIGTERM: one exception for every long operation, and the signal handling.

Training checks a flag between iterations, so a signal ends the current iteration, a checkpoint is saved
and :class:`Interrupted` is raised; a sweep turns SIGTERM into the KeyboardInterrupt that Ctrl-C gives and
raises :class:`Interrupted` once its finished trials are recorded. The command line maps :class:`Interrupted`
to exit code 130 with its message and the command that continues the work.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tscl.errors import TsclError
from tscl.text import shell

__all__ = ["Interrupted", "signals_as_interrupt", "stop_on_signals"]


class Interrupted(TsclError):
    """Long work stopped on a signal, its state saved so that it can be continued (``hint`` says how)."""

    def __init__(self, message: str, hint: str | None = None, run_dir: Path | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_dir = run_dir

    @classmethod
    def training(cls, run_dir: Path, step: int, signal_name: str, world_size: int = 1) -> Interrupted:
        """Training stopped by a signal; ``world_size``: the run's number of processes (torchrun ranks)."""
        hint = f"resume with `tscl pretrain --resume {shell(run_dir)}`"
        if world_size > 1:  # a run continues on as many processes as it ran on (tscl.runs.resuming)
            hint = (
                f"resume with `torchrun --nproc_per_node={world_size} -m tscl pretrain --resume {shell(run_dir)}` "
                f"({world_size} processes in all, as the run had)"
            )
        return cls(f"{signal_name} received: stopped at iteration {step}, checkpoint saved in {run_dir}", hint, run_dir)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def stop_on_signals() -> Iterator[dict[str, str | None]]:
    """Turn SIGINT/SIGTERM into a flag (``received["signal"]``, the signal's name) checked between steps.

    Signal handlers can only be set in the main thread; elsewhere the flag is never set.
    """
    received: dict[str, str | None] = {"signal": None}

    def handler(signum: int, _frame: Any) -> None:
        received["signal"] = signal.Signals(signum).name

    if not _main_thread():
        yield received
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            if signal.getsignal(sig) is handler:  # one set meanwhile (a rank ending with an error) is kept
                signal.signal(sig, old)


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does (main thread only; elsewhere signals are left alone)."""
    if not _main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
