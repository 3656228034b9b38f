"""The ``tscl`` command line: commands parse options, call the library and render the result.

This module imports nothing heavy, so that Ctrl-C while the command line is still starting (importing typer,
pydantic, torch ...) ends with one line and exit code 130 instead of a traceback. The app lives in
:mod:`tscl.cli.application`.
"""

from __future__ import annotations

import sys
from typing import Any

INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m tscl``."""
    try:
        from tscl.cli.application import run
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(INTERRUPTED) from None
    run(argv)


def __getattr__(name: str) -> Any:
    if name in ("app", "fail"):  # what plug-ins and older code imported from here
        from tscl.cli import application

        return getattr(application, name)
    raise AttributeError(f"module 'tscl.cli' has no attribute {name!r}")
