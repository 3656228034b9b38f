"""``tscl --help`` and every ``tscl CMD --help`` stay light: no torch, pandas or scikit-learn is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
COMMANDS = [[], ["pretrain"], ["encode"], ["evaluate"], ["report"], ["runs"], ["runs", "compare"], ["sweep"],
            ["data"], ["data", "list"], ["data", "info"], ["data", "fetch"], ["data", "verify"], ["objectives"],
            ["objectives", "show"], ["encoders"], ["losses"], ["views"], ["tasks"], ["heads"]]  # fmt: skip
_PROBE = """
import json, sys
from tscl.cli import main
code = 0
try:
    main({args!r})
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "heavy": sorted(m for m in ("torch", "pandas", "sklearn") if m in sys.modules)}}))
"""


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tscl")
def test_help_imports_nothing_heavy(command: list[str]) -> None:
    probe = _PROBE.format(args=[*command, "--help"])
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}
