"""The ``logistic`` head: standardised features + multinomial logistic regression (lbfgs)."""

from __future__ import annotations

import numpy as np
from pydantic import Field
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from tscl.registry import Options
from tscl.tasks.heads.base import scatter_scores

__all__ = ["LogisticHead", "LogisticOptions"]


class LogisticOptions(Options):
    """Options of the ``logistic`` head."""

    max_iter: int = Field(100_000, gt=0, description="Most lbfgs iterations of the logistic regression.")


class LogisticHead:
    """Standardised features + logistic regression (lbfgs, multinomial); scores are probabilities.

    Args:
        seed: ``random_state`` of the logistic regression.
        n_jobs: Unused: one lbfgs fit has nothing to run in parallel (accepted for a uniform factory signature).
        max_iter: See :class:`LogisticOptions`.
    """

    Options = LogisticOptions

    def __init__(self, seed: int = 0, n_jobs: int = 1, *, max_iter: int = 100_000) -> None:
        del n_jobs
        self.pipeline: Pipeline = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed)
        )

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogisticHead:
        self.pipeline.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline.predict(X)

    def class_scores(self, X: np.ndarray, n_classes: int) -> np.ndarray:
        return scatter_scores(self.pipeline.predict_proba(X), self.pipeline.classes_, n_classes)
