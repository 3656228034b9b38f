"""The ``svm`` head: the TS2Vec classification protocol (Yue et al., AAAI 2022).

An RBF SVM (``gamma="scale"``) whose C is infinite on tiny training sets and otherwise chosen by 5-fold grid
search, computed as scikit-learn's ``GridSearchCV(SVC(gamma="scale"))`` would but from precomputed kernels.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from pydantic import Field
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.svm import SVC

from tscl.errors import ConfigError
from tscl.registry import Options
from tscl.tasks.heads.base import scatter_scores

__all__ = [
    "SVM_C_GRID",
    "PrecomputedRBFSVM",
    "SVMHead",
    "SVMOptions",
    "fit_svm_protocol",
    "has_conflicting_duplicates",
    "scale_gamma",
    "svm_uses_grid_search",
]

SVM_C_GRID: tuple[float, ...] = (1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000, 10000, np.inf)
# The reference's grid search caps libsvm's iterations at this value (its direct C = inf fit on tiny sets has
# no cap, and would never return on conflicting duplicates: the cap is kept there too).
_SVM_MAX_ITER = 10_000_000
# The protocol searches C only with 50 training rows or more; the row cap may not go below that (its 5
# stratified folds would get too few rows per class).
_GRID_MIN_ROWS = 50


def svm_uses_grid_search(n_train: int, n_classes: int) -> bool:
    """Whether the SVM protocol grid-searches C (False: C = inf), given the classes present in training."""
    return not (n_train // n_classes < 5 or n_train < _GRID_MIN_ROWS)


def fit_svm_protocol(
    features: np.ndarray,
    y: np.ndarray,
    seed: int = 0,
    max_samples: int = 10_000,
    n_jobs: int = 1,
    fit_conflicting_inf: bool = False,
) -> PrecomputedRBFSVM:
    """Fit the TS2Vec classification SVM (RBF kernel, ``gamma="scale"``).

    With fewer than 5 training examples per class or fewer than 50 in total, C = inf is used directly.
    Otherwise C is chosen from :data:`SVM_C_GRID` by 5-fold cross-validated accuracy after a stratified
    subsample to ``max_samples`` rows (the reference's rule for sets above 10 000 rows), and the best model is
    refitted on that subsample.

    This is what ``GridSearchCV(SVC(gamma="scale"), {"C": SVM_C_GRID}, cv=5)`` does (same folds, the same
    per-fit ``gamma = 1 / (D * var(X_fit))``, the same fold means and the first best C on ties), without its
    needless recomputation: the squared distances between training rows are computed once, and each fold's
    kernel matrices once from them, shared by the fold's fits, so libsvm never evaluates a kernel itself.

    One candidate is left out unless ``fit_conflicting_inf``: C = inf when two training rows have identical
    features but different labels (see :func:`has_conflicting_duplicates`). That hard-margin problem has no
    solution; libsvm cannot stop before ``max_iter`` = 10^7 iterations in each class pair holding such rows
    (the fits the reference spends hours in on ElectricDevices) and returns a state whose decision values are
    dominated by rounding. The selection then equals the reference's whenever the reference does not select
    that candidate.

    Args:
        features: Instance representations ``[N, D]``.
        y: Labels ``[N]``; the class count is that of the classes present.
        seed: ``random_state`` of the subsample split and of the SVC (0 reproduces the reference).
        max_samples: Row cap before the grid search.
        n_jobs: Parallel folds of the grid search (threads); the result does not depend on it.
        fit_conflicting_inf: Search C = inf even when it has no solution, as the reference does.

    Returns:
        The fitted SVM, with its ``cv_accuracy`` and the mean fold accuracy of every C searched (``cv_means``).
    """
    features = np.asarray(features, dtype=np.float64)
    classes, counts = np.unique(y, return_counts=True)
    if not svm_uses_grid_search(len(y), len(classes)):
        try:
            return PrecomputedRBFSVM(np.inf, seed).fit(features, y)
        except ValueError as exc:  # hard margin on (nearly) coinciding rows: libsvm's multipliers overflow
            if "not finite" not in str(exc):
                raise
            return PrecomputedRBFSVM(max(c for c in SVM_C_GRID if np.isfinite(c)), seed).fit(features, y)
    if len(y) > max_samples:
        # A class with one member cannot be stratified; sklearn would raise, so fall back to a plain split.
        stratify = y if counts.min() >= 2 else None
        features, _, y, _ = train_test_split(features, y, train_size=max_samples, random_state=seed, stratify=stratify)
    grid = SVM_C_GRID
    if not fit_conflicting_inf and has_conflicting_duplicates(features, y):
        grid = tuple(c for c in SVM_C_GRID if np.isfinite(c))
    distances = euclidean_distances(features, squared=True)
    folds = StratifiedKFold(n_splits=5).split(features, y)
    jobs = (delayed(_fold_accuracies)(features, y, distances, train, test, grid, seed) for train, test in folds)
    per_fold = Parallel(n_jobs=n_jobs, prefer="threads")(jobs)
    # As GridSearchCV: a [candidates, folds] array averaged along its rows, the first best on ties.
    means = np.average(np.ascontiguousarray(np.array(per_fold, dtype=np.float64).T), axis=1)
    best = int(np.argmax(np.nan_to_num(means, nan=-np.inf)))
    model = PrecomputedRBFSVM(grid[best], seed)
    model.cv_accuracy = float(means[best])
    model.cv_means = dict(zip(grid, means.tolist(), strict=True))
    return model.fit(features, y, distances=distances)


def has_conflicting_duplicates(features: np.ndarray, y: np.ndarray) -> bool:
    """Whether two rows of ``features`` are identical (as kernel inputs: -0.0 equals 0.0) but labelled apart.

    Their kernel rows are then identical too, so in their class pair's dual problem with C = inf the KKT
    violation of the two is 2 whatever the multipliers: libsvm's stopping test (violation < tol) never holds.
    """
    _, group = np.unique(np.asarray(features) + 0.0, axis=0, return_inverse=True)
    group = group.reshape(-1)
    label = np.unique(np.asarray(y), return_inverse=True)[1].reshape(-1)
    labelled = np.unique(np.stack([group, label]), axis=1)
    return bool(labelled.shape[1] > group.max() + 1)


def _fold_accuracies(
    features: np.ndarray, y: np.ndarray, distances: np.ndarray, train: np.ndarray, test: np.ndarray,
    grid: tuple[float, ...], seed: int,
) -> list[float]:  # fmt: skip
    """Test accuracy of one fold for every C of ``grid``, all fits sharing the fold's kernel matrices."""
    gamma = scale_gamma(features[train])
    kernel_train = _rbf_from_distances(distances[np.ix_(train, train)], gamma)
    kernel_test = _rbf_from_distances(distances[np.ix_(test, train)], gamma)
    scores = []
    for c in grid:
        try:
            svm = _svc(c, seed).fit(kernel_train, y[train])
        except ValueError as exc:  # hard margin on (nearly) coinciding rows: libsvm's multipliers overflow
            if "not finite" not in str(exc):
                raise
            scores.append(np.nan)  # as GridSearchCV's error_score: a C whose fit fails is never chosen
            continue
        scores.append(float(np.mean(svm.predict(kernel_test) == y[test])))
    return scores


def _rbf_from_distances(distances: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * distances)``, overwriting ``distances`` (a fold's matrices are large: no temporaries)."""
    np.multiply(distances, -gamma, out=distances)
    return np.exp(distances, out=distances)


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
        cv_means: Mean 5-fold accuracy of every C searched (empty without a search).
    """

    kernel = "rbf"

    def __init__(self, C: float, seed: int = 0) -> None:
        self.C = C
        self.seed = seed
        self.gamma: float | None = None
        self.cv_accuracy: float | None = None
        self.cv_means: dict[float, float] = {}
        self._svc: SVC | None = None
        self._train: np.ndarray | None = None
        self._last_query: tuple[np.ndarray, np.ndarray] | None = None

    def fit(self, X: np.ndarray, y: np.ndarray, distances: np.ndarray | None = None) -> PrecomputedRBFSVM:
        """Fit on features ``[N, D]``; ``distances``: their squared distances if already computed (overwritten)."""
        self._train = np.asarray(X, dtype=np.float64)
        self._last_query = None
        self.gamma = scale_gamma(self._train)
        if distances is None:
            distances = euclidean_distances(self._train, squared=True)
        self._svc = _svc(self.C, self.seed).fit(_rbf_from_distances(distances, self.gamma), y)
        return self

    @property
    def classes_(self) -> np.ndarray:
        return self._fitted().classes_

    def _kernel(self, X: np.ndarray) -> np.ndarray:
        """The kernel between ``X`` and the training rows, kept for the last ``X`` (the protocol asks for the
        test set's predictions, then its scores: one [M, N] matrix, not two; comparing values is O(M D))."""
        self._fitted()
        assert self._train is not None and self.gamma is not None
        query = np.asarray(X, dtype=np.float64)
        if self._last_query is not None and np.array_equal(self._last_query[0], query):
            return self._last_query[1]
        kernel = _rbf_from_distances(euclidean_distances(query, self._train, squared=True), self.gamma)
        self._last_query = (query.copy(), kernel)
        return kernel

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._fitted().predict(self._kernel(X))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self._fitted().decision_function(self._kernel(X))

    def _fitted(self) -> SVC:
        if self._svc is None:
            raise ConfigError("the svm head must be fitted before use but `fit` was not called")
        return self._svc


class SVMOptions(Options):
    """Options of the ``svm`` head."""

    max_samples: int = Field(
        10_000,
        ge=_GRID_MIN_ROWS,
        description="Training rows kept (stratified subsample) for the grid search of C and the final fit.",
    )
    fit_conflicting_inf: bool = Field(
        False,
        description="Search C = inf even when training rows with identical features have different labels: "
        "that fit has no solution and runs to libsvm's 10^7-iteration cap per class pair, as the reference "
        "does (hours on ElectricDevices); off, C = inf leaves the grid for such sets.",
    )


class SVMHead:
    """The protocol SVM; scores are ``decision_function`` (one-vs-rest shape).

    Args:
        seed: ``random_state`` of the subsample split and of the SVC.
        n_jobs: Threads for the grid search's five folds (libsvm releases the GIL); same result for any value.
        max_samples: See :class:`SVMOptions`.
        fit_conflicting_inf: See :class:`SVMOptions`.
    """

    Options = SVMOptions

    def __init__(
        self, seed: int = 0, n_jobs: int = 1, *, max_samples: int = 10_000, fit_conflicting_inf: bool = False
    ) -> None:
        self.seed = seed
        self.n_jobs = n_jobs
        self.max_samples = max_samples
        self.fit_conflicting_inf = fit_conflicting_inf
        self.model: PrecomputedRBFSVM | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> SVMHead:
        self.model = fit_svm_protocol(
            X, y, self.seed, self.max_samples, self.n_jobs, fit_conflicting_inf=self.fit_conflicting_inf
        )
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._fitted().predict(X)

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        model = self._fitted()
        decision = model.decision_function(X)
        if decision.ndim == 1:  # binary: positive values favour classes_[1]
            decision = np.stack([-decision, decision], axis=1)
        return scatter_scores(decision, model.classes_, n_classes)

    @property
    def cv_accuracy(self) -> float | None:
        """Cross-validated training accuracy of the chosen C (None when C = inf was used directly)."""
        return self._fitted().cv_accuracy

    def _fitted(self) -> PrecomputedRBFSVM:
        if self.model is None:
            raise ConfigError("the SVM head must be fitted before use but `fit` was not called")
        return self.model
