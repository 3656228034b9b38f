"""Classifier heads on frozen instance representations, behind a name -> factory registry.

``svm`` is the TS2Vec protocol (Yue et al., AAAI 2022): an RBF SVM whose C is either infinite (tiny training
sets) or chosen by 5-fold grid search. ``logistic`` and ``knn`` are the alternatives the paper also offers.
Every head exposes per-class scores ``[M, n_classes]`` for AUPRC, whatever classes its training set held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import StratifiedKFold, train_test_split
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
) -> PrecomputedRBFSVM:
    """Fit the TS2Vec classification SVM (RBF kernel, ``gamma="scale"``).

    With fewer than 5 training examples per class or fewer than 50 in total, C = inf is used directly.
    Otherwise C is chosen from :data:`SVM_C_GRID` by 5-fold cross-validated accuracy after a stratified
    subsample to ``max_samples`` rows, and the best model is refitted on that subsample.

    This is what ``GridSearchCV(SVC(gamma="scale"), {"C": SVM_C_GRID}, cv=5)`` does (same folds, the same
    per-fit ``gamma = 1 / (D * var(X_fit))``, the first best C on ties), without its needless recomputation:
    the squared distances between training rows are computed once, and each of the 50 fits gets its kernel
    matrix from them by one element-wise exponential, so libsvm never evaluates a kernel itself.

    Args:
        features: Instance representations ``[N, D]``.
        y: Labels ``[N]``; the class count is that of the classes present.
        seed: ``random_state`` of the subsample split and of the SVC (0 reproduces the reference).
        max_samples: Row cap before the grid search.
        n_jobs: Parallel fits of the grid search (threads).

    Returns:
        The fitted SVM.
    """
    features = np.asarray(features, dtype=np.float64)
    classes, counts = np.unique(y, return_counts=True)
    if not svm_uses_grid_search(len(y), len(classes)):
        return PrecomputedRBFSVM(np.inf, seed).fit(features, y)
    if len(y) > max_samples:
        # A class with one member cannot be stratified; sklearn would raise, so fall back to a plain split.
        stratify = y if counts.min() >= 2 else None
        features, _, y, _ = train_test_split(features, y, train_size=max_samples, random_state=seed, stratify=stratify)
    distances = euclidean_distances(features, squared=True)
    folds = list(StratifiedKFold(n_splits=5).split(features, y))

    def fold_scores(train: np.ndarray, test: np.ndarray) -> list[float]:
        gamma = scale_gamma(features[train])
        kernel_train = np.exp(-gamma * distances[np.ix_(train, train)])
        kernel_test = np.exp(-gamma * distances[np.ix_(test, train)])
        scores = []
        for c in SVM_C_GRID:
            svm = _svc(c, seed).fit(kernel_train, y[train])
            scores.append(float(np.mean(svm.predict(kernel_test) == y[test])))
        return scores

    per_fold = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(fold_scores)(tr, te) for tr, te in folds)
    means = np.mean(np.array(per_fold), axis=0)
    best = int(np.argmax(means))  # the first of equal bests, as GridSearchCV's rank_test_score.argmin()
    model = PrecomputedRBFSVM(SVM_C_GRID[best], seed)
    model.cv_accuracy = float(means[best])
    return model.fit(features, y, distances=distances)


def scale_gamma(features: np.ndarray) -> float:
    """scikit-learn's ``gamma="scale"``: ``1 / (n_features * X.var())`` (1 when X is constant)."""
    variance = float(np.asarray(features, dtype=np.float64).var())
    return 1.0 / (features.shape[1] * variance) if variance != 0 else 1.0


def _svc(c: float, seed: int) -> SVC:
    return SVC(C=c, kernel="precomputed", max_iter=_SVM_MAX_ITER, random_state=seed)


class PrecomputedRBFSVM:
    """An RBF-kernel SVC (``gamma="scale"``) fitted and applied through precomputed kernel matrices.

    Attributes:
        C: The regularisation constant.
        gamma: The RBF width, set by ``fit``.
        cv_accuracy: Mean 5-fold accuracy of the chosen C in the grid search (None without a search).
    """

    kernel = "rbf"

    def __init__(self, C: float, seed: int = 0) -> None:
        self.C = C
        self.seed = seed
        self.gamma: float | None = None
        self.cv_accuracy: float | None = None
        self._svc: SVC | None = None
        self._train: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray, distances: np.ndarray | None = None) -> PrecomputedRBFSVM:
        """Fit on features ``[N, D]``; ``distances``: their squared distances, if already computed."""
        self._train = np.asarray(X, dtype=np.float64)
        self.gamma = scale_gamma(self._train)
        if distances is None:
            distances = euclidean_distances(self._train, squared=True)
        self._svc = _svc(self.C, self.seed).fit(np.exp(-self.gamma * distances), y)
        return self

    @property
    def classes_(self) -> np.ndarray:
        return self._fitted().classes_

    def _kernel(self, X: np.ndarray) -> np.ndarray:
        self._fitted()
        assert self._train is not None and self.gamma is not None
        distances = euclidean_distances(np.asarray(X, dtype=np.float64), self._train, squared=True)
        return np.exp(-self.gamma * distances)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._fitted().predict(self._kernel(X))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self._fitted().decision_function(self._kernel(X))

    def _fitted(self) -> SVC:
        if self._svc is None:
            raise ConfigError("the svm head must be fitted before use but `fit` was not called")
        return self._svc


def _scatter(scores: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Place per-seen-class score columns into ``[M, n_classes]``; unseen classes get the minimum score."""
    full = np.full((scores.shape[0], n_classes), scores.min() if scores.size else 0.0, dtype=np.float64)
    full[:, classes.astype(int)] = scores
    return full


class SVMHead:
    """The protocol SVM; scores are ``decision_function`` (one-vs-rest shape).

    ``n_jobs``: threads for the grid search's five folds (libsvm releases the GIL); same result for any value.
    """

    def __init__(self, seed: int = 0, n_jobs: int = 1) -> None:
        self.seed = seed
        self.n_jobs = n_jobs
        self.model: PrecomputedRBFSVM | None = None

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

    @property
    def cv_accuracy(self) -> float | None:
        """Cross-validated training accuracy of the chosen C (None when C = inf was used directly)."""
        return self._fitted().cv_accuracy

    def _fitted(self) -> PrecomputedRBFSVM:
        if self.model is None:
            raise ConfigError("the SVM head must be fitted before use but `fit` was not called")
        return self.model


class LogisticHead:
    """Standardised features + logistic regression (lbfgs, multinomial); scores are probabilities."""

    def __init__(self, seed: int = 0, max_iter: int = 100_000, n_jobs: int = 1) -> None:
        del n_jobs  # one lbfgs fit: nothing to run in parallel; accepted for a uniform factory signature
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

    def __init__(self, seed: int = 0, n_jobs: int = 1) -> None:
        del seed, n_jobs  # deterministic, one distance pass; accepted for a uniform factory signature
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


# Name -> factory called as ``factory(seed=..., n_jobs=...)``.
HEADS: dict[str, Callable[..., ClassifierHead]] = {
    "svm": SVMHead,
    "logistic": LogisticHead,
    "knn": NearestNeighbourHead,
}


def list_heads() -> list[str]:
    """Names of the registered classifier heads."""
    return sorted(HEADS)


def create_head(name: str, seed: int = 0, n_jobs: int = 1) -> ClassifierHead:
    """Build a classifier head by registry name.

    ``n_jobs`` threads go to heads that can use them (the SVM's grid search fits its folds in parallel; the
    result does not depend on it); the others ignore it.

    Raises:
        ConfigError: If ``name`` is not registered; the message lists the valid names.
    """
    if name not in HEADS:
        raise ConfigError(
            f"`head` must be one of {', '.join(list_heads())} but got {name!r}",
            hint=f"choose a registered head: {', '.join(list_heads())}",
        )
    return HEADS[name](seed=seed, n_jobs=n_jobs)
