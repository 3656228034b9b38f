"""Classifier heads on frozen instance representations, behind a name -> factory registry.

``svm`` is the TS2Vec protocol (Yue et al., AAAI 2022): an RBF SVM whose C is either infinite (tiny training
sets) or chosen by 5-fold grid search. ``logistic`` and ``knn`` are the alternatives the paper also offers.
Every head exposes per-class scores ``[M, n_classes]`` for AUPRC, whatever classes its training set held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tscl.errors import ConfigError

SVM_C_GRID: tuple[float, ...] = (1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000, 10000, np.inf)
# libsvm never stops on non-separable data with C = inf; the reference caps the iterations at this value.
_SVM_MAX_ITER = 10_000_000


class ClassifierHead(Protocol):
    """What ``evaluate_classification`` needs from a head."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> ClassifierHead:
        """Fit on features ``[N, D]`` and labels ``[N]``; return self."""
        ...

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels ``[M]``."""
        ...

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        """Scores ``[M, n_classes]``, higher = more likely; columns of unseen classes hold the minimum."""
        ...


def svm_uses_grid_search(n_train: int, n_classes: int) -> bool:
    """Whether the SVM protocol grid-searches C (False: C = inf), given the classes present in training."""
    return not (n_train // n_classes < 5 or n_train < 50)


def fit_svm_protocol(
    features: np.ndarray, y: np.ndarray, seed: int = 0, max_samples: int = 10_000, n_jobs: int = 1
) -> SVC:
    """Fit the TS2Vec classification SVM (RBF kernel, ``gamma="scale"``).

    With fewer than 5 training examples per class or fewer than 50 in total, C = inf is used directly.
    Otherwise C is chosen from :data:`SVM_C_GRID` by 5-fold cross-validated accuracy after a stratified
    subsample to ``max_samples`` rows, and the best model is refitted on that subsample.

    Args:
        features: Instance representations ``[N, D]``.
        y: Labels ``[N]``; the class count is that of the classes present.
        seed: ``random_state`` of the subsample split and of the SVC (0 reproduces the reference).
        max_samples: Row cap before the grid search.
        n_jobs: Parallel grid-search fits.

    Returns:
        The fitted ``SVC``.
    """
    svm = SVC(C=np.inf, gamma="scale", max_iter=_SVM_MAX_ITER, random_state=seed)
    classes, counts = np.unique(y, return_counts=True)
    if not svm_uses_grid_search(len(y), len(classes)):
        return svm.fit(features, y)
    if len(y) > max_samples:
        # A class with one member cannot be stratified; sklearn would raise, so fall back to a plain split.
        stratify = y if counts.min() >= 2 else None
        features, _, y, _ = train_test_split(
            features, y, train_size=max_samples, random_state=seed, stratify=stratify
        )
    search = GridSearchCV(svm, {"C": list(SVM_C_GRID)}, cv=5, n_jobs=n_jobs)
    search.fit(features, y)
    return search.best_estimator_


def _scatter(scores: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Place per-seen-class score columns into ``[M, n_classes]``; unseen classes get the minimum score."""
    full = np.full((scores.shape[0], n_classes), scores.min() if scores.size else 0.0, dtype=np.float64)
    full[:, classes.astype(int)] = scores
    return full


class SVMHead:
    """The protocol SVM; scores are ``decision_function`` (one-vs-rest shape)."""

    def __init__(self, seed: int = 0, n_jobs: int = 1) -> None:
        self.seed = seed
        self.n_jobs = n_jobs
        self.model: SVC | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> SVMHead:
        self.model = fit_svm_protocol(X, y, seed=self.seed, n_jobs=self.n_jobs)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._fitted().predict(X)

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        model = self._fitted()
        decision = model.decision_function(X)
        if decision.ndim == 1:  # binary: positive values favour classes_[1]
            decision = np.stack([-decision, decision], axis=1)
        return _scatter(decision, model.classes_, n_classes)

    def _fitted(self) -> SVC:
        if self.model is None:
            raise ConfigError("the SVM head must be fitted before use but `fit` was not called")
        return self.model


class LogisticHead:
    """Standardised features + logistic regression (lbfgs, multinomial); scores are probabilities."""

    def __init__(self, seed: int = 0, max_iter: int = 100_000) -> None:
        self.pipeline: Pipeline = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed)
        )

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogisticHead:
        self.pipeline.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline.predict(X)

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        return _scatter(self.pipeline.predict_proba(X), self.pipeline.classes_, n_classes)


class NearestNeighbourHead:
    """1-NN with Euclidean distance; the score of class k is minus the distance to its nearest member.

    The prediction is the class of the nearest training example, i.e. the arg-max of the scores, so the
    scores rank exactly as the classifier decides (a one-hot score would make AUPRC ignore confidence).
    """

    def __init__(self, seed: int = 0) -> None:
        del seed  # deterministic; accepted for a uniform factory signature
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> NearestNeighbourHead:
        self.X, self.y = np.asarray(X), np.asarray(y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.y is None:
            raise ConfigError("the knn head must be fitted before use but `fit` was not called")
        classes = np.unique(self.y)
        return classes[np.argmax(self._seen_scores(X, classes), axis=1)]

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        if self.y is None:
            raise ConfigError("the knn head must be fitted before use but `fit` was not called")
        classes = np.unique(self.y)
        return _scatter(self._seen_scores(X, classes), classes, n_classes)

    def _seen_scores(self, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
        assert self.X is not None and self.y is not None
        columns = [-pairwise_distances_argmin_min(X, self.X[self.y == c])[1] for c in classes]
        return np.stack(columns, axis=1)


HEADS: dict[str, Callable[..., ClassifierHead]] = {
    "svm": SVMHead,
    "logistic": LogisticHead,
    "knn": NearestNeighbourHead,
}


def list_heads() -> list[str]:
    """Names of the registered classifier heads."""
    return sorted(HEADS)


def create_head(name: str, seed: int = 0) -> ClassifierHead:
    """Build a classifier head by registry name.

    Raises:
        ConfigError: If ``name`` is not registered; the message lists the valid names.
    """
    if name not in HEADS:
        raise ConfigError(
            f"`head` must be one of {', '.join(list_heads())} but got {name!r}",
            hint=f"choose a registered head: {', '.join(list_heads())}",
        )
    return HEADS[name](seed=seed)
