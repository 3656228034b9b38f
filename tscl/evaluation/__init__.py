"""Downstream evaluation protocols on precomputed representations (TS2Vec forecasting and classification).

Plots (:mod:`tscl.evaluation.plots`) and rich tables (:mod:`tscl.evaluation.report`) are imported from their
modules so that importing the protocols does not pull in matplotlib.
"""

from tscl.evaluation.classification import (
    ClassificationEvaluation,
    create_head,
    evaluate_classification,
    fit_svm_protocol,
    flatten_features,
    list_heads,
    run_classification_protocol,
)
from tscl.evaluation.forecasting import (
    ForecastingEvaluation,
    evaluate_forecasting,
    fit_ridge_validated,
    horizon_samples,
    lag_features,
    run_forecasting_protocol,
)
from tscl.evaluation.paper import (
    PAPER_CLASSIFICATION,
    PAPER_FORECASTING,
    paper_classification,
    paper_forecasting,
)

__all__ = [
    "PAPER_CLASSIFICATION",
    "PAPER_FORECASTING",
    "ClassificationEvaluation",
    "ForecastingEvaluation",
    "create_head",
    "evaluate_classification",
    "evaluate_forecasting",
    "fit_ridge_validated",
    "fit_svm_protocol",
    "flatten_features",
    "horizon_samples",
    "lag_features",
    "list_heads",
    "paper_classification",
    "paper_forecasting",
    "run_classification_protocol",
    "run_forecasting_protocol",
]
