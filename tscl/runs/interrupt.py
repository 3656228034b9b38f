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
from typing import Any

from tscl.errors import Interrupted

__all__ = ["Interrupted", "signals_as_interrupt", "stop_on_signals"]


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
