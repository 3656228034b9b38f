"""Every view maker works under ``-W error::DeprecationWarning`` (tsaug's import warns inside scipy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The warning is given once per process, at tsaug's first import: the check runs in a fresh one.
SCRIPT = """
import torch
from tscl.views import create_views, list_views
from tscl.views.tsaug import list_transforms

x = torch.randn(2, 16, 2)
for name in list_views():
    try:
        maker = create_views(name, 0, augmentations=",".join(list_transforms()))
    except Exception:
        maker = create_views(name, 0)
    first, second = maker.views(x, torch.Generator().manual_seed(0))
    assert first.shape == x.shape
"""


def test_view_makers_run_with_deprecation_warnings_as_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", SCRIPT],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
