"""Small synthetic representation sets shared by the classification and head tests."""

from __future__ import annotations

import numpy as np


def blobs(n: int, n_classes: int, seed: int, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Well separated classes: ``(X [n, d] float32, y [n] int64)``, classes cycling 0..K-1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    # Class centres depend on the class layout only, so train and test sets from different seeds agree.
    centres = np.random.default_rng(100 * n_classes + d).normal(scale=2.0, size=(n_classes, d))
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int64)


def overlapping(n: int, n_classes: int, seed: int, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Classes that overlap, so that the SVM grid's C values score differently."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = 0.6 * rng.normal(size=(n_classes, d))[y] + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    return X.astype(np.float32), y.astype(np.int64)
