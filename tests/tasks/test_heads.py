"""Tests of the classifier heads: the SVM protocol against scikit-learn, every head's contract, the registry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

from tests.tasks.features import blobs, overlapping
from tscl.errors import ConfigError
from tscl.tasks.classification_protocol import evaluate_classification, run_classification_protocol
from tscl.tasks.heads import HEADS, create_head, list_heads, register_head
from tscl.tasks.heads.knn import NearestNeighbourHead
from tscl.tasks.heads.logistic import LogisticHead
from tscl.tasks.heads.svm import SVM_C_GRID, SVMHead, fit_svm_protocol, svm_uses_grid_search


def _reference_svm(X: np.ndarray, y: np.ndarray, seed: int = 0, max_samples: int = 10_000) -> Any:
    """The protocol written with scikit-learn's own RBF SVC and GridSearchCV (the slow reference)."""
    svm = SVC(C=np.inf, gamma="scale", max_iter=10_000_000, random_state=seed)
    if not svm_uses_grid_search(len(y), len(np.unique(y))):
        return svm.fit(X, y)
    if len(y) > max_samples:
        X, _, y, _ = train_test_split(X, y, train_size=max_samples, random_state=seed, stratify=y)
    return GridSearchCV(svm, {"C": list(SVM_C_GRID)}, cv=5).fit(X, y)


def test_sklearn_accepts_infinite_c() -> None:
    X, y = blobs(20, 2, seed=0)
    assert SVC(C=np.inf, gamma="scale").fit(X, y).score(X, y) == 1.0


@pytest.mark.parametrize(("n", "n_classes"), [(20, 2), (49, 2), (60, 15)])
def test_svm_uses_infinite_c_on_tiny_training_sets(n: int, n_classes: int) -> None:
    X, y = blobs(n, n_classes, seed=1)
    X_test, _ = blobs(30, n_classes, seed=11)
    model = fit_svm_protocol(X, y)
    assert model.C == np.inf and model.kernel == "rbf" and model.cv_accuracy is None
    reference = _reference_svm(X, y)
    assert model.gamma == pytest.approx(reference._gamma, rel=1e-12)
    np.testing.assert_allclose(model.decision_function(X_test), reference.decision_function(X_test), atol=1e-6)


@pytest.mark.parametrize(("n", "n_classes", "seed"), [(60, 3, 2), (80, 2, 3), (120, 4, 4), (75, 3, 5)])
def test_svm_grid_search_equals_scikit_learns(n: int, n_classes: int, seed: int) -> None:
    X, y = overlapping(n, n_classes, seed)
    X_test, _ = overlapping(50, n_classes, seed + 100)
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
    X, y = overlapping(120, 4, seed=4)
    X_test, _ = overlapping(50, 4, seed=104)
    serial, parallel = fit_svm_protocol(X, y, n_jobs=1), fit_svm_protocol(X, y, n_jobs=3)
    assert parallel.C == serial.C and parallel.cv_accuracy == serial.cv_accuracy
    np.testing.assert_array_equal(parallel.decision_function(X_test), serial.decision_function(X_test))
    head = create_head("svm", seed=0, n_jobs=3)
    assert isinstance(head, SVMHead) and head.n_jobs == 3
    assert isinstance(create_head("knn", n_jobs=3), NearestNeighbourHead)  # ignores n_jobs
    one = run_classification_protocol(X, y, X_test, overlapping(50, 4, seed=104)[1], 4, n_jobs=1).metrics
    three = run_classification_protocol(X, y, X_test, overlapping(50, 4, seed=104)[1], 4, n_jobs=3).metrics
    assert one == three


def test_svm_grid_search_runs_on_a_stratified_subsample() -> None:
    X, y = overlapping(90, 3, seed=3)
    model = fit_svm_protocol(X, y, max_samples=60)
    reference = _reference_svm(X, y, max_samples=60)
    assert model.C == reference.best_params_["C"]
    assert model.cv_accuracy == pytest.approx(reference.best_score_, abs=1e-12)
    X_sub, _, y_sub, _ = train_test_split(X, y, train_size=60, random_state=0, stratify=y)
    assert np.bincount(y_sub).tolist() == [20, 20, 20]
    assert model._train is not None and np.array_equal(model._train, X_sub.astype(np.float64))


def test_class_count_uses_classes_present_in_training() -> None:
    assert svm_uses_grid_search(50, 10)
    assert not svm_uses_grid_search(49, 2)
    assert not svm_uses_grid_search(54, 11)


@pytest.mark.parametrize("name", list_heads())
def test_every_head_honours_the_contract(name: str) -> None:
    X, y = blobs(60, 3, seed=11)
    X_test, y_test = blobs(30, 3, seed=12)
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
    X, y = blobs(10, 2, seed=13)
    with pytest.raises(ConfigError, match="forest"):
        evaluate_classification(X, y, X, y, n_classes=2, head="forest")


def test_the_registry_lists_the_built_in_heads_with_their_options() -> None:
    assert list_heads() == ["knn", "logistic", "svm"]
    assert HEADS.entry("svm").defaults() == {"max_samples": 10_000, "fit_conflicting_inf": False}
    assert HEADS.entry("logistic").defaults() == {"max_iter": 100_000}
    assert HEADS.entry("knn").defaults() == {}
    for name in list_heads():
        for field in HEADS.entry(name).options.model_fields.values():
            assert field.description, (name, field)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("svm", {"max_samples": 10}, "head.max_samples must be greater than or equal to 50 but got 10"),
        ("svm", {"max_samples": "many"}, "head.max_samples must be a valid integer"),
        ("svm", {"fit_conflicting_inf": "yes"}, "head.fit_conflicting_inf must be a valid boolean but got 'yes'"),
        ("logistic", {"max_iter": 0}, "head.max_iter must be greater than 0 but got 0"),
        ("knn", {"k": 3}, "head.k is not an option of knn"),
        ("logistic", {"max_iters": 5}, "head.max_iters is not an option of logistic"),
    ],
)
def test_a_bad_head_option_is_a_config_error_naming_it(name: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        create_head(name, **options)
    assert raised.value.message.startswith(message)


def test_seed_and_n_jobs_are_runtime_arguments_not_options() -> None:
    head = create_head("svm", seed=3, n_jobs=2, max_samples=60)
    assert isinstance(head, SVMHead) and (head.seed, head.n_jobs, head.max_samples) == (3, 2, 60)
    for name in list_heads():
        assert not {"seed", "n_jobs"} & set(HEADS.entry(name).options.model_fields)
    logistic = create_head("logistic", seed=5, max_iter=7)
    assert isinstance(logistic, LogisticHead)
    assert logistic.pipeline[-1].max_iter == 7 and logistic.pipeline[-1].random_state == 5


def test_svm_max_samples_caps_the_rows_the_grid_search_sees() -> None:
    X, y = overlapping(90, 3, seed=3)
    head = create_head("svm", max_samples=60).fit(X, y)
    assert isinstance(head, SVMHead) and head.model is not None
    direct = fit_svm_protocol(X, y, max_samples=60)
    assert head.model.C == direct.C and head.model._train is not None and head.model._train.shape[0] == 60
    metrics = run_classification_protocol(X, y, X, y, 3, head="svm", head_options={"max_samples": 60}).metrics
    assert metrics["cv_accuracy"] == pytest.approx(direct.cv_accuracy)


def test_a_registered_head_is_created_and_used_by_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    class MajorityHead:
        """Always the most frequent training class."""

        def __init__(self, seed: int = 0, n_jobs: int = 1, *, prior: float = 1.0) -> None:
            self.prior = prior
            self.label = 0

        def fit(self, X: np.ndarray, y: np.ndarray) -> MajorityHead:
            self.label = int(np.bincount(y).argmax())
            return self

        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.full(len(X), self.label)

        def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
            scores = np.zeros((len(X), n_classes))
            scores[:, self.label] = self.prior
            return scores

    monkeypatch.setattr(HEADS, "_registered", {})  # the registration ends with the test
    register_head("majority", MajorityHead)
    assert "majority" in list_heads()
    assert HEADS.entry("majority").defaults() == {"prior": 1.0}  # options derived from the signature
    X, y = blobs(30, 2, seed=15)
    y[:20] = 1
    metrics = evaluate_classification(X, y, X, y, n_classes=2, head="majority")
    assert metrics["head"] == "majority" and metrics["accuracy"] == pytest.approx(np.mean(y == 1))
    with pytest.raises(ConfigError, match="already registered"):
        register_head("majority", MajorityHead)
