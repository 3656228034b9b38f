"""The ``tscl`` command line: commands parse options, call the library and render the result.

This module imports nothing heavy, so that Ctrl-C while the command line is still starting (importing typer,
pydantic, torch ...) ends with one line and exit code 130 instead of a traceback. The app lives in
:mod:`tscl.cli.application`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m tscl``.

    Ctrl-C is noted as well as raised: a library whose import or C code catches the ``KeyboardInterrupt`` and
    raises another error (numpy's C extension, interrupted while it loads, raises ``ImportError``) still ends
    in one ``error: interrupted`` line and exit code 130, not in that error's traceback.
    """
    import signal
    import threading

    noted: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    # Only where Python's own handler is in place: an ignored SIGINT (a background job) stays ignored.
    note = previous is signal.default_int_handler and threading.current_thread() is threading.main_thread()
    if note:

        def _noting(signum: int, frame: Any) -> None:
            noted.append(signum)
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, _noting)
    try:
        try:
            from tscl.cli.application import run
        except KeyboardInterrupt:
            _stop_interrupted()
        run(argv)
    except Exception:  # SystemExit and KeyboardInterrupt are not Exceptions: they pass through
        if noted:  # the error is the interrupt's, in another library's words
            _stop_interrupted()
        raise
    finally:
        if note and signal.getsignal(signal.SIGINT) is _noting:
            signal.signal(signal.SIGINT, previous)


def _stop_interrupted() -> None:
    print("error: interrupted", file=sys.stderr)
    raise SystemExit(INTERRUPTED) from None


def console() -> None:
    """The ``tscl`` program (console script and ``python -m tscl``): :func:`main`, then a quick exit.

    Once the command has returned, its files are written and closed; what the interpreter would still do is
    tear down its modules and objects, about half a second with torch loaded, for nothing the user sees. So
    the exit does what matters of it (join non-daemon threads, run the ``atexit`` handlers, flush the standard
    streams) and ends the process with ``os._exit``. Errors other than ``SystemExit`` exit normally, with
    their traceback. In-process callers (tests, plug-ins) use :func:`main`, which returns.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    _quick_exit(code)


def _exit_code(code: Any) -> int:
    """The process exit code ``SystemExit(code)`` stands for (a message is printed, and means 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _quick_exit(code: int) -> None:
    import atexit
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: the normal exit
        raise SystemExit(code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`tscl runs list | head`) or stream: nothing to add
            pass
    os._exit(code)


def __getattr__(name: str) -> Any:
    if name in ("app", "fail"):  # what plug-ins and older code imported from here
        from tscl.cli import application

        return getattr(application, name)
    raise AttributeError(f"module 'tscl.cli' has no attribute {name!r}")
