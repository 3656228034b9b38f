"""Tests of the published-number lookup: the objectives' ``paper`` attributes as each task compares with them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tscl.objectives import get_objective_class
from tscl.sweep.grid import EvaluateSettings
from tscl.sweep.summary import paper_headline
from tscl.tasks import create_task


def test_forecasting_numbers_per_horizon_with_the_published_mean() -> None:
    forecasting = create_task("forecasting")
    published = forecasting.published("ts2vec", "etth1", univariate=True)
    assert published is not None
    assert published["horizons"]["24"] == {"mse": 0.039, "mae": 0.152}
    assert list(published["horizons"]) == ["24", "48", "168", "336", "720"]
    assert published["mean"] == {"mse": 0.110, "mae": 0.252}
    assert get_objective_class("ts2vec").paper["forecasting"][("ETTm1", True)][672] == (0.156, 0.307)


def test_forecasting_mean_only_averaged_or_missing() -> None:
    forecasting = create_task("forecasting")
    autotcl = forecasting.published("autotcl", "ETTh2", univariate=True)
    assert autotcl == {"horizons": {}, "mean": {"mse": 0.158, "mae": 0.299}}  # only the mean is published
    assert forecasting.published("ts2vec", "ETTh2", univariate=False) is None
    ettm1 = forecasting.published("ts2vec", "ETTm1", univariate=True)  # no published mean: the horizons' average
    assert ettm1 is not None and ettm1["mean"] == {"mse": 0.069, "mae": 0.1864}
    assert ettm1["mean"]["mse"] == pytest.approx(0.069, abs=1e-3)


@pytest.mark.parametrize("objective", ["augment", "no-such-objective"])
def test_objectives_without_a_paper_publish_nothing(objective: str) -> None:
    assert create_task("forecasting").published(objective, "ETTh1", univariate=True) is None
    assert create_task("classification").published(objective, "GunPoint") is None


def test_classification_accuracy_for_the_published_head_only() -> None:
    assert get_objective_class("ts2vec").paper["classification"] == {"GunPoint": {"accuracy": 0.980}}
    svm = create_task("classification")
    assert svm.published("ts2vec", "gunpoint") == {"accuracy": 0.980}
    assert svm.published("ts2vec", "Coffee") is None
    assert svm.published("autotcl", "GunPoint") is None  # AutoTCL publishes no per-dataset accuracy
    assert create_task("classification", head="knn").published("ts2vec", "GunPoint") is None


def _trial(dataset: str, objective: str, univariate: bool = False, head: str = "svm") -> SimpleNamespace:
    return SimpleNamespace(dataset=dataset, objective=objective, config=SimpleNamespace(univariate=univariate),
                           evaluate=EvaluateSettings(head=head))  # fmt: skip


def test_the_sweep_summary_shows_the_published_headline_of_the_trials_task() -> None:
    assert paper_headline(_trial("data/ETTh1.csv", "ts2vec", True), "forecasting") == {"mse": 0.110, "mae": 0.252}
    assert paper_headline(_trial("ETTh1", "autotcl", True), None) == {"mse": 0.076, "mae": 0.207}
    assert paper_headline(_trial("GunPoint", "ts2vec"), "classification") == {"accuracy": 0.980}
    assert paper_headline(_trial("GunPoint", "ts2vec"), None) == {"accuracy": 0.980}
    assert paper_headline(_trial("GunPoint", "ts2vec", head="logistic"), "classification") is None
    assert paper_headline(_trial("GunPoint", "ts2vec"), "forecasting") is None
    assert paper_headline(_trial("ETTh1", "ts2vec", True), "None") is None  # metrics without a known task
