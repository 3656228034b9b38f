"""The SVM head's grid search against the plain one: scikit-learn's ``GridSearchCV(SVC(gamma="scale"))`` with the
official TS2Vec settings, on real UCR/UEA sets bundled with aeon and on synthetic features, plus the one
candidate it leaves out (C = inf with conflicting duplicates) and why."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

from tests.tasks.features import overlapping
from tscl.data.load import load_dataset
from tscl.tasks.classification_protocol import flatten_features, run_classification_protocol
from tscl.tasks.heads import svm as svm_module
from tscl.tasks.heads.svm import SVM_C_GRID, fit_svm_protocol, has_conflicting_duplicates


def _plain_search(X: np.ndarray, y: np.ndarray, max_iter: int = 10_000_000) -> Any:
    """The reference's grid search as published (``fit_svm`` of the official code), one job."""
    grid = {"C": list(SVM_C_GRID), "kernel": ["rbf"], "gamma": ["scale"], "shrinking": [True], "tol": [0.001],
            "cache_size": [200], "max_iter": [max_iter], "decision_function_shape": ["ovr"]}  # fmt: skip
    return GridSearchCV(SVC(C=np.inf, gamma="scale"), grid, cv=5).fit(X, y)


def _assert_same_search(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> None:
    plain = _plain_search(X, y)
    ours = fit_svm_protocol(X, y, n_jobs=2)
    assert ours.C == plain.best_params_["C"]
    assert ours.cv_accuracy == plain.best_score_  # exactly: the same fold scores averaged the same way
    assert list(ours.cv_means) == list(SVM_C_GRID)
    np.testing.assert_array_equal(list(ours.cv_means.values()), plain.cv_results_["mean_test_score"])
    assert np.mean(ours.predict(X_test) == y_test) == plain.score(X_test, y_test)
    np.testing.assert_allclose(ours.decision_function(X_test), plain.decision_function(X_test), atol=1e-6)


@pytest.mark.parametrize("name", ["GunPoint", "ItalyPowerDemand", "JapaneseVowels"])
def test_grid_search_equals_the_plain_one_on_bundled_sets(name: str, isolated_data_env: Path) -> None:
    data = load_dataset(name)
    length = max(data.X_train.shape[1], data.X_test.shape[1])

    def raw(X: np.ndarray) -> np.ndarray:  # the raw-input baseline's features (NaN-padded to one length)
        return flatten_features(np.pad(X, ((0, 0), (0, length - X.shape[1]), (0, 0)), constant_values=np.nan))

    X, X_test = raw(data.X_train), raw(data.X_test)
    assert not has_conflicting_duplicates(X, data.y_train)
    _assert_same_search(X, data.y_train, X_test, data.y_test)


@pytest.mark.parametrize(("n", "n_classes", "seed"), [(150, 3, 7), (200, 5, 8), (240, 2, 9)])
def test_grid_search_equals_the_plain_one_on_synthetic_features(n: int, n_classes: int, seed: int) -> None:
    X, y = overlapping(n, n_classes, seed)
    X_test, y_test = overlapping(100, n_classes, seed + 100)
    _assert_same_search(X, y, X_test, y_test)


def test_conflicting_duplicates_are_identical_rows_with_different_labels() -> None:
    X = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0], [5.0, 5.0]])
    assert not has_conflicting_duplicates(X, np.array([0, 1, 0, 1]))  # duplicates agreeing
    assert has_conflicting_duplicates(X, np.array([0, 1, 1, 1]))
    assert has_conflicting_duplicates(np.array([[-0.0, 1.0], [0.0, 1.0]]), np.array([0, 1]))  # same kernel rows
    assert not has_conflicting_duplicates(np.array([[1e-300, 1.0], [0.0, 1.0]]), np.array([0, 1]))


def _with_conflicts(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping classes plus three rows copied with another label."""
    X, y = overlapping(120, 3, seed)
    return np.concatenate([X, X[:3]]), np.concatenate([y, (y[:3] + 1) % 3])


def test_libsvm_cannot_stop_on_conflicting_duplicates_with_infinite_c() -> None:
    """Why C = inf leaves the grid: the fit runs to its iteration cap; without the copies it converges."""
    X, y = _with_conflicts(seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        capped = SVC(C=np.inf, gamma="scale", max_iter=30_000).fit(X, y)
    assert 30_000 in capped.n_iter_ and any(issubclass(w.category, ConvergenceWarning) for w in caught)
    clean = SVC(C=np.inf, gamma="scale", max_iter=30_000).fit(X[:-3], y[:-3])
    assert clean.n_iter_.max() < 30_000


@pytest.mark.parametrize("seed", [1, 2])
def test_with_conflicts_infinite_c_leaves_the_grid_and_the_rest_equals_the_plain_search(seed: int) -> None:
    X, y = _with_conflicts(seed)
    X_test, y_test = overlapping(100, 3, seed + 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = _plain_search(X, y, max_iter=30_000)
    ours = fit_svm_protocol(X, y)
    assert list(ours.cv_means) == list(SVM_C_GRID[:-1])
    np.testing.assert_array_equal(list(ours.cv_means.values()), plain.cv_results_["mean_test_score"][:-1])
    assert plain.best_params_["C"] != np.inf  # the plain search's C = inf scores rounding noise, and loses here
    assert ours.C == plain.best_params_["C"] and ours.cv_accuracy == plain.best_score_
    assert np.mean(ours.predict(X_test) == y_test) == plain.score(X_test, y_test)
    metrics = run_classification_protocol(X, y, X_test, y_test, 3).metrics
    assert metrics["accuracy"] == plain.score(X_test, y_test) and metrics["cv_accuracy"] == plain.best_score_


def test_fit_conflicting_inf_searches_infinite_c_as_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svm_module, "_SVM_MAX_ITER", 30_000)  # the reference's cap is 10^7: seconds per fit
    X, y = _with_conflicts(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fit_svm_protocol(X, y, fit_conflicting_inf=True)
    assert list(ours.cv_means) == list(SVM_C_GRID)
    assert not has_conflicting_duplicates(X[:-3], y[:-3])
    assert list(fit_svm_protocol(X[:-3], y[:-3]).cv_means) == list(SVM_C_GRID)  # no conflict: inf searched


def test_hard_margin_on_nearly_coinciding_rows_falls_back_to_the_largest_finite_c() -> None:
    """Tiny training sets use C = inf directly; when their rows nearly coincide across labels (series of one
    step, constant series) libsvm's multipliers overflow and sklearn raises: the head then uses the largest
    finite C of the grid instead of ending ``tscl evaluate`` in a traceback."""
    rng = np.random.default_rng(0)
    X = np.ones((20, 8)) + 1e-10 * rng.normal(size=(20, 8))
    y = np.arange(20) % 2
    largest_finite = max(c for c in SVM_C_GRID if np.isfinite(c))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Whether libsvm's multipliers overflow on these rows depends on the machine's rounding of the kernel
        # (they do on AVX-512 machines, not on some AVX2 ones): either way the head fits, C = inf or the fallback.
        model = fit_svm_protocol(X, y)
    assert model.C in (np.inf, largest_finite) and set(model.predict(X)) <= {0, 1}


def test_the_fallback_from_an_overflowing_hard_margin_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The overflow itself, made certain: libsvm's error, as sklearn raises it, for the hard-margin fit."""
    svc = svm_module._svc

    def overflowing(c: float, seed: int) -> Any:
        fitter = svc(c, seed)
        if np.isinf(c):
            message = "The dual coefficients or intercepts are not finite. The input data may contain large values"

            def fit(*args: Any, **kwargs: Any) -> Any:
                raise ValueError(message)

            fitter.fit = fit
        return fitter

    monkeypatch.setattr(svm_module, "_svc", overflowing)
    X = np.random.default_rng(0).normal(size=(20, 8))
    y = np.arange(20) % 2
    model = fit_svm_protocol(X, y)
    assert model.C == max(c for c in SVM_C_GRID if np.isfinite(c))
    assert set(model.predict(X)) <= {0, 1}


def test_a_c_whose_fit_fails_in_a_fold_is_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hard-margin fit (C = inf) of a fold can overflow without any duplicated row (GunPoint under a
    patch_transformer with repr_dims 1: nearly constant columns, minutes of libsvm iterations to get there):
    that C scores NaN and is never chosen, as with GridSearchCV's ``error_score``, instead of a traceback."""
    real_svc = svm_module._svc

    class Overflowing(SVC):
        def fit(self, *args: Any, **kwargs: Any) -> Any:
            raise ValueError("The dual coefficients or intercepts are not finite. The input data may contain ...")

    monkeypatch.setattr(svm_module, "_svc", lambda c, seed: Overflowing() if np.isinf(c) else real_svc(c, seed))
    monkeypatch.setattr(svm_module, "_SVM_MAX_ITER", 30_000)
    X, y = overlapping(60, 2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fit_svm_protocol(X, y)
    finite = {c: mean for c, mean in ours.cv_means.items() if np.isfinite(c)}
    assert np.isnan(ours.cv_means[np.inf])
    assert ours.C == max(finite, key=lambda c: finite[c]) and ours.cv_accuracy == max(finite.values())
