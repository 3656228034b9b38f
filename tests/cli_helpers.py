"""Running the ``tscl`` command line in-process from tests."""

from __future__ import annotations

import pytest

from tscl.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``tscl ARGS`` in-process; returns ``(exit code, stdout, stderr)``."""
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err
