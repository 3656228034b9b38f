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


def one_line_error(code: int, err: str, *needles: str) -> str:
    """Check that a command failed with exit code 1 and one ``error:`` line (and a ``hint:``) holding
    ``needles``, no traceback; returns the error line."""
    lines = err.strip().splitlines()
    assert code == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: ") and (len(lines) == 1 or lines[1].startswith("hint: ")), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
