"""The ``tscl`` command line: commands parse options, call the library and render the result.

This module imports nothing heavy, so that Ctrl-C while the command line is still starting (importing typer,
pydantic, torch ...) ends with one line and exit code 130 instead of a traceback. The app lives in
:mod:`tscl.cli.application`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m tscl``.

    Ctrl-C is noted as well as raised: a library whose import or C code catches the ``KeyboardInterrupt`` and
    raises another error (numpy's C extension, interrupted while it loads, raises ``ImportError``) still ends
    in one ``error: interrupted`` line and exit code 130, not in that error's traceback. Ctrl-C during an
    import is raised once the import is over (see `_interrupts_after_imports`).
    """
    with _interrupts_after_imports() as noted:
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


# Seconds between two looks at whether the main thread is still importing, while an interrupt waits.
_POLL_S = 0.01


@contextmanager
def _interrupts_after_imports() -> Iterator[list[int]]:
    """SIGINT raises ``KeyboardInterrupt``, but never inside an import: there it is raised once the import ends.

    A ``KeyboardInterrupt`` raised while torch is importing can land in Python code its C++ start-up calls
    (through pybind11), where it cannot propagate: the process aborts (``terminate called after throwing an
    instance of 'pybind11::error_already_set'``, SIGABRT); raised while numpy imports, it leaves a half-made
    module behind (``module 'numpy' has no attribute 'ndarray'``). So a SIGINT arriving under an import is only
    noted and raised later: by the next outermost import to return (``__import__`` and
    ``importlib.import_module`` are wrapped while it waits), or, should the import under way be the last, by
    the signal sent again as soon as a watching thread sees the main thread out of every import (to the handler
    in place then: this one, or the one the command has installed, such as training's, which stops after the
    step). Yields the signals noted. Only where Python's own handler is in place, in the main thread: an
    ignored SIGINT (a background job) stays ignored.
    """
    import builtins
    import importlib
    import signal
    import threading

    noted: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler or threading.current_thread() is not threading.main_thread():
        yield noted
        return
    originals: dict[str, Any] = {"__import__": builtins.__import__, "import_module": importlib.import_module}
    waiting, over, lock = threading.Event(), threading.Event(), threading.RLock()
    resent: list[int] = []  # signals the watcher sent that no handler call has taken yet
    main_thread = threading.get_ident()

    def wrap_imports(wrap: bool) -> None:
        for name, target in (("__import__", builtins), ("import_module", importlib)):
            setattr(target, name, raising_at_the_end(originals[name]) if wrap else originals[name])

    def deliver() -> None:  # the interrupt is raised now: nothing waits any more
        with lock:
            waiting.clear()
        wrap_imports(False)
        raise KeyboardInterrupt

    def raising_at_the_end(load: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            module = load(*args, **kwargs)
            if waiting.is_set() and threading.get_ident() == main_thread and not _importing(sys._getframe(1)):
                deliver()  # the main thread's outermost import has returned
            return module

        return wrapped

    def watch() -> None:
        while waiting.is_set() and not over.wait(_POLL_S):
            if _importing(sys._current_frames().get(main_thread)):
                continue
            current = signal.getsignal(signal.SIGINT)
            if current is signal.default_int_handler or not callable(current):
                return  # nobody to tell: the command is over
            with lock:
                if not waiting.is_set():
                    return
                resent.append(1)
                os.kill(os.getpid(), signal.SIGINT)
            if current is not handler:
                return  # the command's own handler has it
            over.wait(_POLL_S)  # this handler raises it, or, back in an import, waits again

    def handler(signum: int, frame: Any) -> None:
        if resent:
            resent.pop()
            if not waiting.is_set():  # the watcher's copy of an interrupt raised meanwhile
                return
        noted.append(signum)
        if not _importing(frame):
            deliver()
        if not waiting.is_set():
            waiting.set()
            wrap_imports(True)
            threading.Thread(target=watch, name="tscl-interrupt", daemon=True).start()

    signal.signal(signal.SIGINT, handler)
    try:
        yield noted
    finally:
        over.set()
        waiting.clear()
        wrap_imports(False)
        if signal.getsignal(signal.SIGINT) is handler:
            signal.signal(signal.SIGINT, previous)


def _importing(frame: Any) -> bool:
    """Whether ``frame`` runs under an import (a frame of the import machinery is on its stack)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


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
