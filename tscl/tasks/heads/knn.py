"""The ``knn`` head: the 1-nearest-neighbour classifier (Euclidean distance)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min

from tscl.errors import ConfigError
from tscl.registry import Options
from tscl.tasks.heads.base import scatter_scores

__all__ = ["NearestNeighbourHead", "NearestNeighbourOptions"]


class NearestNeighbourOptions(Options):
    """Options of the ``knn`` head: none (one neighbour, Euclidean distance, as the TS2Vec code base has it)."""


class NearestNeighbourHead:
    """1-NN with Euclidean distance; the score of class k is minus the distance to its nearest member.

    The prediction is the class of the nearest training example, i.e. the arg-max of the scores, so the
    scores rank exactly as the classifier decides (a one-hot score would make AUPRC ignore confidence).

    Args:
        seed: Unused: the head is deterministic (accepted for a uniform factory signature).
        n_jobs: Unused: one distance pass.
    """

    Options = NearestNeighbourOptions

    def __init__(self, seed: int = 0, n_jobs: int = 1) -> None:
        del seed, n_jobs
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> NearestNeighbourHead:
        self.X, self.y = np.asarray(X), np.asarray(y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        classes = np.unique(self._labels())
        return classes[np.argmax(self._seen_scores(X, classes), axis=1)]

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        classes = np.unique(self._labels())
        return scatter_scores(self._seen_scores(X, classes), classes, n_classes)

    def _labels(self) -> np.ndarray:
        if self.y is None:
            raise ConfigError("the knn head must be fitted before use but `fit` was not called")
        return self.y

    def _seen_scores(self, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
        assert self.X is not None and self.y is not None
        columns = [-pairwise_distances_argmin_min(X, self.X[self.y == c])[1] for c in classes]
        return np.stack(columns, axis=1)
