"""Encoding a read-only array (``np.load(..., mmap_mode="r")``) gives the same values without a torch warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# torch warns once per process, so the check runs in a fresh one.
SCRIPT = """
import warnings
import numpy as np
from tscl.training.model import ContrastiveModel

X = np.random.default_rng(0).standard_normal((4, 20, 2)).astype(np.float32)
model = ContrastiveModel(repr_dims=8, hidden_dims=8, depth=1, batch_size=4, device="cpu", threads=1)
model.fit(X, n_iters=1)
expected = [model.encode(X), model.encode(X, mode="timestamp", causal_window=5)]
X.flags.writeable = False
with warnings.catch_warnings():
    warnings.simplefilter("error")
    got = [model.encode(X), model.encode(X, mode="timestamp", causal_window=5)]
assert all(np.array_equal(a, b) for a, b in zip(expected, got))
"""


def test_read_only_arrays_encode_without_a_warning() -> None:
    root = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
