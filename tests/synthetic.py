"""Small synthetic inputs shared by the model tests (behaviour tests; real data lives in ../shared)."""

from __future__ import annotations

import numpy as np


def random_walks(n: int = 10, t: int = 40, c: int = 2, seed: int = 0) -> np.ndarray:
    """``n`` seeded Gaussian random walks ``[n, t, c]`` in float32."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, t, c)).astype(np.float32).cumsum(axis=1)
