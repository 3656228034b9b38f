"""What the classification protocol needs from a head, and the score layout every head shares."""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["ClassifierHead", "scatter_scores"]


class ClassifierHead(Protocol):
    """What ``run_classification_protocol`` needs from a head."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> ClassifierHead:
        """Fit on features ``[N, D]`` and labels ``[N]``; return self."""
        ...

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels ``[M]``."""
        ...

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        """Scores ``[M, n_classes]``, higher = more likely; columns of unseen classes hold the minimum."""
        ...


def scatter_scores(scores: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Place per-seen-class score columns into ``[M, n_classes]``; unseen classes get the minimum score."""
    full = np.full((scores.shape[0], n_classes), scores.min() if scores.size else 0.0, dtype=np.float64)
    full[:, classes.astype(int)] = scores
    return full
