"""Classification protocol of TS2Vec (Yue et al., AAAI 2022): a head on frozen instance representations.

Instance representations (max-pooled over time, computed elsewhere) train a classifier head (RBF-SVM by
default, see :mod:`tscl.tasks.heads`); accuracy and AUPRC are reported on the test split. The registered task
that runs it on a model, with its baselines and reports, is :class:`tscl.tasks.classification.ClassificationTask`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, confusion_matrix
from sklearn.preprocessing import label_binarize

from tscl.errors import DataError
from tscl.tasks.heads import DEFAULT_HEAD, create_head

__all__ = [
    "ClassificationEvaluation",
    "auprc",
    "evaluate_classification",
    "flatten_features",
    "run_classification_protocol",
]


@dataclass(frozen=True)
class ClassificationEvaluation:
    """Outcome of the classification protocol: a JSON-ready ``metrics`` dict plus arrays for plots.

    Attributes:
        metrics: ``{"task": "classification", "accuracy": .., "auprc": .., "head": ..}``.
        predictions: Predicted test labels ``[M]``.
        scores: Per-class test scores ``[M, n_classes]`` used for AUPRC.
        confusion: Confusion matrix ``[n_classes, n_classes]`` (rows true, columns predicted).
    """

    metrics: dict[str, Any]
    predictions: np.ndarray
    scores: np.ndarray
    confusion: np.ndarray


def flatten_features(X: np.ndarray) -> np.ndarray:
    """Raw-input baseline features: each series flattened to ``[N, T*C]`` float32, NaN (padding) set to 0."""
    if X.ndim != 3:
        raise DataError(f"`X` must be a 3-D array [N, T, C] but got shape {X.shape}")
    return np.nan_to_num(X.reshape(X.shape[0], -1).astype(np.float32), nan=0.0)


def auprc(y_true: np.ndarray, scores: np.ndarray, n_classes: int) -> float:
    """Area under the precision-recall curve (sklearn ``average_precision_score``).

    Binary (``n_classes == 2``): the scores of class 1 against the positive class. Multiclass: macro average
    over one-hot columns (``label_binarize``). Classes absent from ``y_true`` are left out of the average —
    their precision-recall curve is undefined and sklearn would count them as 0 (the reference does).

    Args:
        y_true: Labels ``[M]`` in ``0 .. n_classes-1``.
        scores: Per-class scores ``[M, n_classes]``.
        n_classes: Number of classes K.

    Returns:
        The AUPRC, or NaN when no class has a positive example to rank (binary test set with one class).
    """
    if n_classes == 2:
        positives = y_true == 1
        if positives.all() or not positives.any():
            return math.nan
        return float(average_precision_score(positives, scores[:, 1]))
    onehot = label_binarize(y_true, classes=np.arange(n_classes))
    present = onehot.sum(axis=0) > 0
    return float(average_precision_score(onehot[:, present], scores[:, present]))


def run_classification_protocol(
    train_repr: np.ndarray,
    y_train: np.ndarray,
    test_repr: np.ndarray,
    y_test: np.ndarray,
    n_classes: int,
    head: str = DEFAULT_HEAD,
    seed: int = 0,
    n_jobs: int = 1,
    head_options: Mapping[str, Any] | None = None,
) -> ClassificationEvaluation:
    """Fit a head on the training representations and score it on the test ones.

    Args:
        train_repr: Training instance representations ``[N, D]``.
        y_train: Training labels ``[N]`` in ``0 .. n_classes-1``.
        test_repr: Test instance representations ``[M, D]``.
        y_test: Test labels ``[M]``.
        n_classes: Number of classes K of the dataset (some may be absent from a split).
        head: Registered head name (see :func:`tscl.tasks.heads.list_heads`).
        seed: Seed of the head's random choices.
        n_jobs: Threads the head may use (the SVM's grid search); the result does not depend on it.
        head_options: Options of the head (see its options class); its defaults when None.

    Returns:
        The evaluation; ``metrics["auprc"]`` is None when undefined (see :func:`auprc`).
    """
    _check_split("train", train_repr, y_train, n_classes)
    _check_split("test", test_repr, y_test, n_classes)
    if train_repr.shape[1] != test_repr.shape[1]:
        raise DataError(
            f"train and test representations must have the same size but got {train_repr.shape[1]} "
            f"and {test_repr.shape[1]}"
        )
    if len(np.unique(y_train)) < 2:
        raise DataError(f"`y_train` must contain at least 2 classes but got {np.unique(y_train).tolist()}")
    classifier = create_head(head, seed=seed, n_jobs=n_jobs, **(head_options or {})).fit(train_repr, y_train)
    predictions = np.asarray(classifier.predict(test_repr))
    scores = classifier.class_scores(test_repr, n_classes)
    area = auprc(y_test, scores, n_classes)
    metrics = {
        "task": "classification",
        "accuracy": float(np.mean(predictions == y_test)),
        "auprc": None if math.isnan(area) else area,
        "cv_accuracy": getattr(classifier, "cv_accuracy", None),
        "head": head,
    }
    confusion = confusion_matrix(y_test, predictions, labels=np.arange(n_classes))
    return ClassificationEvaluation(metrics, predictions, scores, confusion)


def evaluate_classification(
    train_repr: np.ndarray,
    y_train: np.ndarray,
    test_repr: np.ndarray,
    y_test: np.ndarray,
    n_classes: int,
    head: str = DEFAULT_HEAD,
    seed: int = 0,
    n_jobs: int = 1,
    head_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The classification protocol's metrics dict (see :func:`run_classification_protocol`)."""
    evaluation = run_classification_protocol(
        train_repr, y_train, test_repr, y_test, n_classes, head, seed, n_jobs, head_options
    )
    return evaluation.metrics


def _check_split(split: str, repr_: np.ndarray, y: np.ndarray, n_classes: int) -> None:
    """Raise DataError unless ``repr_`` is finite ``[N, D]`` and ``y`` holds N labels in range."""
    if repr_.ndim != 2 or y.ndim != 1 or repr_.shape[0] != y.shape[0] or y.shape[0] == 0:
        raise DataError(
            f"{split} representations [N, D] and labels [N] must be non-empty and aligned "
            f"but got shapes {repr_.shape} and {y.shape}"
        )
    if not np.isfinite(repr_).all():
        raise DataError(f"{split} representations must be finite but contain NaN or inf")
    if y.min() < 0 or y.max() >= n_classes:
        raise DataError(
            f"{split} labels must lie in 0..{n_classes - 1} but got range {y.min()}..{y.max()}",
            hint="map labels to 0..K-1 and pass the dataset's class count as `n_classes`",
        )
