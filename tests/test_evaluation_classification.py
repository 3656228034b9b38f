"""Tests of the classification protocol, its heads and AUPRC on small synthetic data."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize
from sklearn.svm import SVC

import tscl.evaluation.heads as heads
from tscl.errors import ConfigError, DataError
from tscl.evaluation.classification import (
    PAPER_CLASSIFICATION,
    auprc,
    create_head,
    evaluate_classification,
    fit_svm_protocol,
    flatten_features,
    list_heads,
    run_classification_protocol,
)
from tscl.evaluation.paper import paper_classification


def _blobs(n: int, n_classes: int, seed: int, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    # Class centres depend on the class layout only, so train and test sets from different seeds agree.
    centres = np.random.default_rng(100 * n_classes + d).normal(scale=2.0, size=(n_classes, d))
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int64)


def _reference_svm(X: np.ndarray, y: np.ndarray, seed: int = 0, max_samples: int = 10_000) -> Any:
    """The protocol written with scikit-learn's own RBF SVC and GridSearchCV (the slow reference)."""
    svm = SVC(C=np.inf, gamma="scale", max_iter=10_000_000, random_state=seed)
    if not heads.svm_uses_grid_search(len(y), len(np.unique(y))):
        return svm.fit(X, y)
    if len(y) > max_samples:
        X, _, y, _ = train_test_split(X, y, train_size=max_samples, random_state=seed, stratify=y)
    return GridSearchCV(svm, {"C": list(heads.SVM_C_GRID)}, cv=5).fit(X, y)


def _overlapping(n: int, n_classes: int, seed: int, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Classes that overlap, so that the grid's C values score differently."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = 0.6 * rng.normal(size=(n_classes, d))[y] + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    return X.astype(np.float32), y.astype(np.int64)


def test_sklearn_accepts_infinite_c() -> None:
    X, y = _blobs(20, 2, seed=0)
    assert SVC(C=np.inf, gamma="scale").fit(X, y).score(X, y) == 1.0


@pytest.mark.parametrize(("n", "n_classes"), [(20, 2), (49, 2), (60, 15)])
def test_svm_uses_infinite_c_on_tiny_training_sets(n: int, n_classes: int) -> None:
    X, y = _blobs(n, n_classes, seed=1)
    X_test, _ = _blobs(30, n_classes, seed=11)
    model = fit_svm_protocol(X, y)
    assert model.C == np.inf and model.kernel == "rbf" and model.cv_accuracy is None
    reference = _reference_svm(X, y)
    assert model.gamma == pytest.approx(reference._gamma, rel=1e-12)
    np.testing.assert_allclose(model.decision_function(X_test), reference.decision_function(X_test), atol=1e-6)


@pytest.mark.parametrize(("n", "n_classes", "seed"), [(60, 3, 2), (80, 2, 3), (120, 4, 4), (75, 3, 5)])
def test_svm_grid_search_equals_scikit_learns(n: int, n_classes: int, seed: int) -> None:
    X, y = _overlapping(n, n_classes, seed)
    X_test, _ = _overlapping(50, n_classes, seed + 100)
    model = fit_svm_protocol(X, y)
    reference = _reference_svm(X, y)
    means = reference.cv_results_["mean_test_score"]
    assert len(set(np.round(means, 6))) > 2  # the grid's C values do score differently here
    assert model.C == reference.best_params_["C"]
    assert model.cv_accuracy == pytest.approx(reference.best_score_, abs=1e-12)
    np.testing.assert_allclose(
        model.decision_function(X_test), reference.decision_function(X_test), atol=1e-5, rtol=1e-5
    )
    assert np.array_equal(model.predict(X_test), reference.predict(X_test))


def test_svm_grid_search_in_parallel_threads_gives_the_same_model() -> None:
    X, y = _overlapping(120, 4, seed=4)
    X_test, _ = _overlapping(50, 4, seed=104)
    serial, parallel = fit_svm_protocol(X, y, n_jobs=1), fit_svm_protocol(X, y, n_jobs=3)
    assert parallel.C == serial.C and parallel.cv_accuracy == serial.cv_accuracy
    np.testing.assert_array_equal(parallel.decision_function(X_test), serial.decision_function(X_test))
    head = heads.create_head("svm", seed=0, n_jobs=3)
    assert isinstance(head, heads.SVMHead) and head.n_jobs == 3
    assert isinstance(heads.create_head("knn", n_jobs=3), heads.NearestNeighbourHead)  # ignores n_jobs
    one = run_classification_protocol(X, y, X_test, _overlapping(50, 4, seed=104)[1], 4, n_jobs=1).metrics
    three = run_classification_protocol(X, y, X_test, _overlapping(50, 4, seed=104)[1], 4, n_jobs=3).metrics
    assert one == three


def test_svm_grid_search_runs_on_a_stratified_subsample() -> None:
    X, y = _overlapping(90, 3, seed=3)
    model = fit_svm_protocol(X, y, max_samples=60)
    reference = _reference_svm(X, y, max_samples=60)
    assert model.C == reference.best_params_["C"]
    assert model.cv_accuracy == pytest.approx(reference.best_score_, abs=1e-12)
    X_sub, _, y_sub, _ = train_test_split(X, y, train_size=60, random_state=0, stratify=y)
    assert np.bincount(y_sub).tolist() == [20, 20, 20]
    assert model._train is not None and np.array_equal(model._train, X_sub.astype(np.float64))


def test_class_count_uses_classes_present_in_training() -> None:
    assert heads.svm_uses_grid_search(50, 10)
    assert not heads.svm_uses_grid_search(49, 2)
    assert not heads.svm_uses_grid_search(54, 11)


def test_binary_auprc_matches_sklearn_on_the_svm_decision_function() -> None:
    X, y = _blobs(80, 2, seed=4)
    X_test, y_test = _blobs(40, 2, seed=5)
    result = evaluate_classification(X, y, X_test, y_test, n_classes=2)
    decision = fit_svm_protocol(X, y).decision_function(X_test)
    assert result["auprc"] == pytest.approx(average_precision_score(y_test, decision))
    assert result["accuracy"] == pytest.approx(np.mean(fit_svm_protocol(X, y).predict(X_test) == y_test))
    assert result["task"] == "classification" and result["head"] == "svm"
    json.dumps(result)


def test_multiclass_auprc_matches_sklearn_for_svm_and_logistic() -> None:
    X, y = _blobs(90, 3, seed=6)
    X_test, y_test = _blobs(45, 3, seed=7)
    onehot = label_binarize(y_test, classes=[0, 1, 2])
    svm_result = evaluate_classification(X, y, X_test, y_test, n_classes=3, head="svm")
    decision = fit_svm_protocol(X, y).decision_function(X_test)
    assert svm_result["auprc"] == pytest.approx(average_precision_score(onehot, decision))
    logistic = evaluate_classification(X, y, X_test, y_test, n_classes=3, head="logistic")
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=100_000, random_state=0))
    proba = reference.fit(X, y).predict_proba(X_test)
    assert logistic["auprc"] == pytest.approx(average_precision_score(onehot, proba))


def test_auprc_leaves_out_classes_absent_from_test() -> None:
    y_test = np.array([0, 1, 0, 1, 3])
    scores = np.random.default_rng(8).normal(size=(5, 4))
    onehot = label_binarize(y_test, classes=range(4))[:, [0, 1, 3]]
    assert auprc(y_test, scores, 4) == pytest.approx(average_precision_score(onehot, scores[:, [0, 1, 3]]))
    assert np.isnan(auprc(np.zeros(4, dtype=int), scores[:4, :2], 2))


def test_classes_missing_from_training_still_get_score_columns() -> None:
    X, y = _blobs(30, 2, seed=9)
    X_test, _ = _blobs(10, 2, seed=10)
    y_test = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    evaluation = run_classification_protocol(X, y, X_test, y_test, n_classes=3, head="svm")
    assert evaluation.scores.shape == (10, 3)
    assert evaluation.confusion.shape == (3, 3) and evaluation.confusion.sum() == 10
    assert evaluation.confusion[2].sum() == 3 and evaluation.confusion[:, 2].sum() == 0


@pytest.mark.parametrize("name", list_heads())
def test_every_head_honours_the_contract(name: str) -> None:
    X, y = _blobs(60, 3, seed=11)
    X_test, y_test = _blobs(30, 3, seed=12)
    head = create_head(name, seed=0).fit(X, y)
    scores = head.class_scores(X_test, 4)
    predictions = head.predict(X_test)
    assert scores.shape == (30, 4) and np.isfinite(scores).all()
    assert set(np.unique(predictions)) <= {0, 1, 2}
    assert np.mean(predictions == y_test) > 0.5
    result = evaluate_classification(X, y, X_test, y_test, n_classes=3, head=name)
    assert 0.0 <= result["accuracy"] <= 1.0 and 0.0 <= result["auprc"] <= 1.0


def test_knn_is_one_nearest_neighbour_with_distance_scores() -> None:
    X = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    y = np.array([0, 1, 2])
    head = create_head("knn").fit(X, y)
    query = np.array([[1.0, 0.0], [9.0, 1.0]])
    np.testing.assert_array_equal(head.predict(query), [0, 1])
    np.testing.assert_allclose(head.class_scores(query, 3)[0], [-1.0, -9.0, -np.sqrt(101.0)])


def test_unknown_head_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as raised:
        create_head("forest")
    assert all(name in raised.value.message for name in ("svm", "logistic", "knn"))
    assert raised.value.hint
    X, y = _blobs(10, 2, seed=13)
    with pytest.raises(ConfigError, match="forest"):
        evaluate_classification(X, y, X, y, n_classes=2, head="forest")


def test_labels_and_shapes_are_validated() -> None:
    X, y = _blobs(10, 2, seed=14)
    with pytest.raises(DataError, match="0..1"):
        evaluate_classification(X, y + 1, X, y, n_classes=2)
    with pytest.raises(DataError, match="at least 2 classes"):
        evaluate_classification(X, np.zeros(10, dtype=np.int64), X, y, n_classes=2)
    with pytest.raises(DataError, match="same size"):
        evaluate_classification(X, y, X[:, :2], y, n_classes=2)


def test_flatten_features_replaces_nan_padding() -> None:
    X = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    X[1, 2] = np.nan
    flat = flatten_features(X)
    assert flat.shape == (2, 6) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat[1], [6, 7, 8, 9, 0, 0])


def test_paper_classification_numbers() -> None:
    assert PAPER_CLASSIFICATION == {"GunPoint": 0.980}
    assert paper_classification("gunpoint") == {"accuracy": 0.980}
    assert paper_classification("Coffee") is None
