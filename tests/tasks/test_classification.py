"""Tests of the classification task: its protocol and AUPRC on small synthetic data, its dataset hooks,
baselines, CSV rows, report table and headline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize

from tests.tasks.features import blobs
from tscl.data import ClassificationData
from tscl.errors import ConfigError, DataError
from tscl.tasks import create_task
from tscl.tasks.classification import ClassificationTask
from tscl.tasks.classification_protocol import (
    auprc,
    evaluate_classification,
    flatten_features,
    run_classification_protocol,
)
from tscl.tasks.heads.svm import fit_svm_protocol


def test_binary_auprc_matches_sklearn_on_the_svm_decision_function() -> None:
    X, y = blobs(80, 2, seed=4)
    X_test, y_test = blobs(40, 2, seed=5)
    result = evaluate_classification(X, y, X_test, y_test, n_classes=2)
    decision = fit_svm_protocol(X, y).decision_function(X_test)
    assert result["auprc"] == pytest.approx(average_precision_score(y_test, decision))
    assert result["accuracy"] == pytest.approx(np.mean(fit_svm_protocol(X, y).predict(X_test) == y_test))
    assert result["task"] == "classification" and result["head"] == "svm"
    json.dumps(result)


def test_multiclass_auprc_matches_sklearn_for_svm_and_logistic() -> None:
    X, y = blobs(90, 3, seed=6)
    X_test, y_test = blobs(45, 3, seed=7)
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
    X, y = blobs(30, 2, seed=9)
    X_test, _ = blobs(10, 2, seed=10)
    y_test = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    evaluation = run_classification_protocol(X, y, X_test, y_test, n_classes=3, head="svm")
    assert evaluation.scores.shape == (10, 3)
    assert evaluation.confusion.shape == (3, 3) and evaluation.confusion.sum() == 10
    assert evaluation.confusion[2].sum() == 3 and evaluation.confusion[:, 2].sum() == 0


def test_labels_and_shapes_are_validated() -> None:
    X, y = blobs(10, 2, seed=14)
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


class MaxPoolEncoder:
    """Stand-in encoder: the max over time of each channel (plus an offset), as an instance representation."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self.calls: list[str] = []

    def encode(self, X: np.ndarray, mode: str = "instance", causal_window: int | None = None) -> np.ndarray:
        self.calls.append(mode)
        return np.nanmax(X, axis=1) + self.offset


def _dataset(labelled: bool = True) -> ClassificationData:
    """Two classes told apart by the level of the first channel; the test series are shorter (NaN padded)."""
    X_train, y_train = blobs(40, 2, seed=20, d=3)
    X_test, y_test = blobs(20, 2, seed=21, d=3)
    series = np.repeat(X_train[:, None, :], 6, axis=1) + np.linspace(0, 1, 6)[None, :, None]
    test = np.repeat(X_test[:, None, :], 6, axis=1).astype(np.float32)
    test[:, 4:] = np.nan
    return ClassificationData("Toy", series.astype(np.float32), y_train if labelled else None, test,
                              y_test if labelled else None, ["a", "b"] if labelled else [], "memory")  # fmt: skip


def test_the_task_evaluates_the_encoder_beside_both_baselines() -> None:
    data, model, random = _dataset(), MaxPoolEncoder(), MaxPoolEncoder(offset=1.0)
    timings: dict[str, float] = {}
    metrics, extras = create_task("classification").evaluate(
        model, data, baseline=random, objective="ts2vec", seed=0, timings=timings
    )
    train, test = model.encode(data.X_train), model.encode(data.X_test)
    expected = run_classification_protocol(train, data.y_train, test, data.y_test, 2)
    assert list(metrics) == ["task", "accuracy", "auprc", "cv_accuracy", "head", "baselines", "paper"]
    assert {k: metrics[k] for k in expected.metrics} == expected.metrics
    raw_train, raw_test = flatten_features(data.X_train), flatten_features(data.X_test)
    raw = run_classification_protocol(raw_train, data.y_train, raw_test, data.y_test, 2).metrics
    randomised = run_classification_protocol(train + 1.0, data.y_train, test + 1.0, data.y_test, 2).metrics
    assert metrics["baselines"] == {"random init": randomised, "raw input": raw}
    assert metrics["paper"] is None  # no paper publishes Toy
    assert set(timings) == {"encode_s", "head_s", "baseline_s"}
    np.testing.assert_array_equal(extras["test_repr"], test)
    np.testing.assert_array_equal(extras["confusion"], expected.confusion)
    json.dumps(metrics)


def test_without_a_baseline_encoder_the_baselines_are_empty_and_untimed() -> None:
    timings: dict[str, float] = {}
    metrics, _ = create_task("classification").evaluate(
        MaxPoolEncoder(), _dataset(), baseline=None, objective="ts2vec", seed=0, timings=timings
    )
    assert metrics["baselines"] == {} and "baseline_s" not in timings


def test_the_head_option_picks_the_head_and_is_validated() -> None:
    metrics, _ = create_task("classification", head="knn").evaluate(
        MaxPoolEncoder(), _dataset(), baseline=None, objective="ts2vec", seed=0, timings={}
    )
    assert metrics["head"] == "knn" and metrics["cv_accuracy"] is None
    with pytest.raises(ConfigError) as raised:
        create_task("classification", head="forest")
    assert raised.value.message == "task.head must be one of knn, logistic, svm but got 'forest'"
    with pytest.raises(ConfigError, match="head.max_samples must be greater than or equal to 50"):
        create_task("classification", head="svm", head_options={"max_samples": 3})
    with pytest.raises(ConfigError, match="head.k is not an option of knn"):
        create_task("classification", head="knn", head_options={"k": 3})
    task = create_task("classification", head="logistic", head_options={"max_iter": 50})
    assert isinstance(task, ClassificationTask) and task.head_options == {"max_iter": 50}


def test_unlabelled_data_cannot_be_evaluated() -> None:
    with pytest.raises(DataError, match="Toy must be labelled"):
        create_task("classification").evaluate(
            MaxPoolEncoder(), _dataset(labelled=False), baseline=None, objective="ts2vec", seed=0, timings={}
        )


def test_data_without_test_series_is_refused_by_name() -> None:
    """An .npz of X and y has an empty test part; evaluating it said `test representations [N, D] ... (0, 0)`."""
    import dataclasses

    data = _dataset()
    empty = dataclasses.replace(data, X_test=data.X_test[:0], y_test=data.y_test[:0])
    with pytest.raises(DataError, match="Toy must have test series") as raised:
        create_task("classification").evaluate(
            MaxPoolEncoder(), empty, baseline=None, objective="ts2vec", seed=0, timings={}
        )
    assert "X_test" in (raised.value.hint or "")


def test_dataset_hooks() -> None:
    data, task = _dataset(), create_task("classification")
    assert task.channels(data) == 3 and task.covariate_channels(data) == 0
    assert task.split_array(data, "train") is data.X_train and task.split_array(data, "test") is data.X_test
    both = task.split_array(data, "all")
    assert both.shape == (60, 6, 3) and np.isnan(both[40:, 4:]).all()
    with pytest.raises(ConfigError) as raised:
        task.split_array(data, "valid")
    expected = "split (--split) must be train, test or all (this dataset has no validation part) but got 'valid'"
    assert str(raised.value) == expected and "--split" in (raised.value.hint or "")
    with pytest.raises(ConfigError) as raised:
        task.split_array(data, "val")
    assert str(raised.value) == "split (--split) must be train, test or all but got 'val'"
    windows, source = task.held_out_windows(data, 201)
    assert windows is data.X_test and "test split" in source
    task.check_channels(data, 3, "Toy")
    with pytest.raises(DataError, match="Toy must have 5 channels like Other, the run's pretraining data"):
        task.check_channels(data, 5, "Other")


def _stored() -> dict[str, Any]:
    ours = {"task": "classification", "accuracy": 0.9733, "auprc": 0.9912, "cv_accuracy": 0.95, "head": "svm"}
    raw = {"task": "classification", "accuracy": 0.9133, "auprc": None, "cv_accuracy": None, "head": "svm"}
    return {**ours, "baselines": {"raw input": raw}, "paper": {"accuracy": 0.98}, "dataset": "GunPoint",
            "objective": "ts2vec"}  # fmt: skip


def test_metric_rows_tables_and_headline_of_stored_metrics() -> None:
    task, metrics = create_task("classification"), _stored()
    assert task.metric_rows(metrics) == [
        {"model": "tscl", "accuracy": 0.9733, "auprc": 0.9912, "cv_accuracy": 0.95},
        {"model": "raw input", "accuracy": 0.9133, "auprc": None, "cv_accuracy": None},
    ]
    (table,) = task.tables(metrics)
    console = Console(record=True, width=200)
    console.print(table)
    text = console.export_text()
    for expected in ("GunPoint · ts2vec", "0.973", "0.991", "0.913", "0.980", "CV accuracy", "svm"):
        assert expected in text
    assert task.headline(metrics) == {"accuracy": 0.9733, "auprc": 0.9912}
    assert task.headline(metrics["baselines"]["raw input"]) == {"accuracy": 0.9133}
    assert task.headline_text(metrics) == "acc 0.973"


def test_plots_are_the_embedding_and_the_confusion_matrix(tmp_path: Path) -> None:
    data = _dataset()
    metrics, extras = create_task("classification").evaluate(
        MaxPoolEncoder(), data, baseline=None, objective="ts2vec", seed=0, timings={}
    )
    create_task("classification").plots(tmp_path / "plots", metrics, extras, data)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["confusion.png", "embedding.png"]


def test_encode_splits_reach_the_validation_part_of_grouped_data_and_refuse_it_elsewhere() -> None:
    """``tscl encode --split``: grouped data have train, valid and test, and ``all`` is every part in that order
    (the validation windows used to be unreachable); UCR-style data have no validation part and say so."""
    from types import SimpleNamespace

    import numpy as np
    import pytest

    from tscl.errors import ConfigError
    from tscl.tasks import task_named

    task = task_named("classification")
    train, valid, test = (np.full((n, 5, 2), float(n), np.float32) for n in (3, 2, 4))
    grouped = SimpleNamespace(X_train=train, X_valid=valid, X_test=test)
    assert task.split_array(grouped, "valid") is valid
    every = task.split_array(grouped, "all")
    assert every.shape == (9, 5, 2) and every[:, 0, 0].tolist() == [3, 3, 3, 2, 2, 4, 4, 4, 4]
    ucr = SimpleNamespace(X_train=train, X_test=test)
    assert task.split_array(ucr, "all").shape == (7, 5, 2) and task.split_array(ucr, "test") is test
    with pytest.raises(ConfigError, match="validation part"):
        task.split_array(ucr, "valid")
    with pytest.raises(ConfigError, match="train, test or all"):
        task.split_array(ucr, "bogus")


@pytest.mark.parametrize("task", ["classification", "label-efficiency"])
def test_check_data_refuses_unlabelled_data_and_data_without_test_series(task: str) -> None:
    """Refused before any work (and so warned about at pretraining), not only inside `evaluate`."""
    import dataclasses

    data = _dataset()
    create_task(task).check_data(data, None, True)
    with pytest.raises(DataError, match=f"Toy must be labelled to be evaluated by {task}"):
        create_task(task).check_data(_dataset(labelled=False), None, True)
    empty = dataclasses.replace(data, X_test=data.X_test[:0], y_test=data.y_test[:0])
    with pytest.raises(DataError, match=f"Toy must have test series to be evaluated by {task}"):
        create_task(task).check_data(empty, None, False)
