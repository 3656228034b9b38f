"""Tests of the multi-penalty ridge solver and the validation-based penalty choice."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

from tscl.errors import ConfigError
from tscl.tasks.ridge import DEFAULT_ALPHAS, RidgePath, fit_ridge_validated


def _regression(rng: np.random.Generator, n: int, d: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    # Features on very different scales and non-zero means exercise centring and conditioning.
    X = rng.normal(size=(n, d)) * np.linspace(0.05, 20.0, d) + rng.normal(size=d) * 5
    Y = X @ rng.normal(size=(d, p)) + rng.normal(size=(n, p)) + 3.0
    return X, Y


@pytest.mark.parametrize(("n", "d", "p"), [(200, 8, 3), (60, 15, 12), (10, 25, 4)])
def test_ridge_path_equals_sklearn_ridge_for_every_alpha(n: int, d: int, p: int) -> None:
    rng = np.random.default_rng(n + d + p)
    X, Y = _regression(rng, n, d, p)
    path = RidgePath(X, Y)
    X_new = rng.normal(size=(7, d))
    for alpha in DEFAULT_ALPHAS:
        reference = Ridge(alpha=alpha).fit(X, Y)
        model = path.model(alpha)
        np.testing.assert_allclose(model.coef, reference.coef_, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(model.intercept, reference.intercept_, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(model.predict(X_new), reference.predict(X_new), rtol=1e-6, atol=1e-9)


def test_validation_scores_equal_a_loop_over_sklearn_ridge() -> None:
    rng = np.random.default_rng(1)
    X, Y = _regression(rng, 120, 6, 5)
    X_val, Y_val = _regression(rng, 40, 6, 5)
    scores = RidgePath(X, Y).validation_scores(X_val, Y_val, DEFAULT_ALPHAS)
    for alpha, score in zip(DEFAULT_ALPHAS, scores, strict=True):
        error = Ridge(alpha=alpha).fit(X, Y).predict(X_val) - Y_val
        expected = np.sqrt(np.mean(error**2)) + np.mean(np.abs(error))
        assert score == pytest.approx(expected, rel=1e-9)


def test_smallest_alpha_wins_when_validation_follows_the_noiseless_training_law() -> None:
    rng = np.random.default_rng(2)
    X, X_val = rng.normal(size=(100, 4)), rng.normal(size=(50, 4))
    law = np.array([[2.0], [-1.0], [0.5], [0.0]])
    _, alpha, scores = fit_ridge_validated(X, X @ law, X_val, X_val @ law)
    assert alpha == 0.1
    assert list(scores) == [float(a) for a in DEFAULT_ALPHAS]
    assert scores[0.1] == min(scores.values())


def test_largest_alpha_wins_when_validation_targets_are_the_training_mean() -> None:
    rng = np.random.default_rng(3)
    X, X_val = rng.normal(size=(100, 4)), rng.normal(size=(50, 4))
    Y = X @ np.array([[1.0], [1.0], [0.0], [0.0]])
    Y_val = np.full((50, 1), Y.mean())  # any signal hurts; the most shrunk model is best
    model, alpha, _ = fit_ridge_validated(X, Y, X_val, Y_val)
    assert alpha == 1000.0
    np.testing.assert_allclose(model.predict(X), Ridge(alpha=1000.0).fit(X, Y).predict(X).reshape(-1, 1), rtol=1e-8)


def test_subsampling_keeps_the_rows_train_test_split_keeps() -> None:
    rng = np.random.default_rng(4)
    X, Y = _regression(rng, 90, 3, 2)
    X_val, Y_val = _regression(rng, 70, 3, 2)
    model, alpha, _ = fit_ridge_validated(X, Y, X_val, Y_val, max_samples=40)
    X_kept, _, Y_kept, _ = train_test_split(X, Y, train_size=40, random_state=0)
    np.testing.assert_allclose(model.coef, Ridge(alpha=alpha).fit(X_kept, Y_kept).coef_, rtol=1e-6)


def test_float32_inputs_are_solved_in_float64() -> None:
    rng = np.random.default_rng(5)
    X, Y = _regression(rng, 80, 5, 3)
    path32, path64 = RidgePath(X.astype(np.float32), Y.astype(np.float32)), RidgePath(X, Y)
    assert path32.model(1.0).coef.dtype == np.float64
    np.testing.assert_allclose(path32.model(1.0).coef, path64.model(1.0).coef, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("alphas", [(), (0.0, 1.0), (-1.0,)])
def test_non_positive_or_empty_alphas_are_rejected(alphas: tuple[float, ...]) -> None:
    X = np.ones((5, 2))
    with pytest.raises(ConfigError, match="alphas"):
        fit_ridge_validated(X, X, X, X, alphas=alphas)


def test_mismatched_validation_layout_is_rejected() -> None:
    X = np.ones((5, 2))
    with pytest.raises(ConfigError, match="validation"):
        fit_ridge_validated(X, X, np.ones((5, 3)), X)
