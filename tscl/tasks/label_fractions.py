"""Pieces of the label-efficiency protocol: which training labels a fraction keeps, the metrics, the linear probe.

Fractions are taken per group: whole groups (trials when the data has them, else subjects; the sample itself
for UCR/UEA) are labelled or not, so the labelled windows of a recording never hide among unlabelled
near-duplicates (the public COMET code draws single samples). Groups are drawn stratified by class: each
class gets its share of the ``round(fraction * groups)`` labelled groups (largest remainders), and at least
two classes are always present so that a classifier can be fitted.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal, NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.preprocessing import StandardScaler, label_binarize
from threadpoolctl import threadpool_limits

from tscl.errors import DataError
from tscl.tasks.classification_protocol import auprc

__all__ = ["METRICS", "FittedProbe", "HeadInit", "classification_metrics", "fit_probe", "labelled_rows", "linear_probe"]

METRICS = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "auroc", "auprc")
# How fine-tuning's head starts (:mod:`tscl.tasks.finetune`; declared here, where the options can import it
# without torch): from the linear probe (LP-FT) or at random.
HeadInit = Literal["probe", "random"]
PROBE_C = (0.01, 0.1, 1.0)  # chosen on validation macro-F1; a small grid keeps the many fits quick


def labelled_rows(groups: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of the rows whose labels a ``fraction`` keeps (see the module docstring).

    Args:
        groups: ``[N]`` group of each training row (its own index when there are no groups).
        labels: ``[N]`` int labels.
        fraction: In (0, 1]; 1 keeps every row.
        seed: Seed of the draw.
    """
    if not 0 < fraction <= 1:
        raise DataError(f"a label fraction must be in (0, 1] but got {fraction}", hint="e.g. --label-fraction 1,0.1")
    if fraction == 1:
        return np.arange(len(labels))
    keys = np.asarray(groups).astype(str)
    unique, first = np.unique(keys, return_index=True)
    group_label = np.asarray(labels)[first]  # a group's class: that of its first row (groups are one recording)
    classes = np.unique(group_label)
    wanted = max(2, round(fraction * len(unique)))
    share = np.array([(group_label == c).sum() for c in classes]) * wanted / len(unique)
    take = np.floor(share).astype(int)
    rng = np.random.default_rng(seed)
    remainder = share - take + rng.random(len(classes)) * 1e-9  # ties broken at random
    for index in np.argsort(-remainder)[: wanted - take.sum()]:
        take[index] += 1
    if (take > 0).sum() < 2:  # a classifier needs two classes
        take[np.argsort(-share)[:2]] = np.maximum(take[np.argsort(-share)[:2]], 1)
    chosen = [rng.choice(unique[group_label == c], size=min(k, (group_label == c).sum()), replace=False)
              for c, k in zip(classes, take, strict=True) if k > 0]  # fmt: skip
    return np.flatnonzero(np.isin(keys, np.concatenate(chosen)))


def classification_metrics(y_true: np.ndarray, scores: np.ndarray, n_classes: int) -> dict[str, float | None]:
    """Accuracy, macro F1 / precision / recall, macro one-vs-rest AUROC and AUPRC of class scores ``[M, K]``.

    AUROC and AUPRC leave out classes absent from ``y_true`` (undefined there); None when none is defined.
    """
    predictions = scores.argmax(axis=1)
    labels = np.arange(n_classes)
    present = np.unique(y_true)
    metrics: dict[str, float | None] = {
        "accuracy": float(np.mean(predictions == y_true)),
        "macro_f1": float(f1_score(y_true, predictions, labels=present, average="macro", zero_division=0)),
        "macro_precision": float(
            precision_score(y_true, predictions, labels=present, average="macro", zero_division=0)
        ),  # fmt: skip
        "macro_recall": float(recall_score(y_true, predictions, labels=present, average="macro", zero_division=0)),
    }
    if len(present) < 2:
        metrics["auroc"] = None
    elif n_classes == 2:
        metrics["auroc"] = float(roc_auc_score(y_true, scores[:, 1]))
    else:
        onehot = label_binarize(y_true, classes=labels)[:, present]
        metrics["auroc"] = float(roc_auc_score(onehot, scores[:, present], average="macro"))
    area = auprc(y_true, scores, n_classes)
    metrics["auprc"] = None if math.isnan(area) else area
    return metrics


def _probe_scores(model: Any, classes: np.ndarray, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities ``[M, K]`` with a column for every class (zero for classes the probe never saw)."""
    scores = np.zeros((len(X), n_classes))
    scores[:, classes] = model.predict_proba(X)
    return scores


class FittedProbe(NamedTuple):
    """A logistic regression on standardised features, with the C and validation macro-F1 that chose it."""

    scaler: StandardScaler
    model: LogisticRegression
    C: float
    valid_macro_f1: float


def fit_probe(
    train: tuple[np.ndarray, np.ndarray], valid: tuple[np.ndarray, np.ndarray], seed: int, threads: int = 1
) -> FittedProbe:
    """Logistic regression on standardised features ``[N, D]``, C from :data:`PROBE_C` by validation macro-F1
    (ties: the smaller C).

    ``threads`` caps the BLAS threads of the fits (numpy's default, every core, thrashes on a busy machine).
    """
    (X, y), (X_valid, y_valid) = train, valid
    if len(np.unique(y)) < 2:
        raise DataError(f"the labelled rows must hold at least 2 classes but got {np.unique(y).tolist()}")
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        # lbfgs may stop at max_iter on nearly separable features (the raw inputs); the probe is still scored
        warnings.simplefilter("ignore", ConvergenceWarning)
        scaler = StandardScaler().fit(X)
        X, X_valid = scaler.transform(X), scaler.transform(X_valid)
        best: FittedProbe | None = None
        for c in PROBE_C:
            probe = LogisticRegression(C=c, max_iter=300, random_state=seed).fit(X, y)
            score = float(f1_score(y_valid, probe.predict(X_valid), average="macro", zero_division=0))
            if best is None or score > best.valid_macro_f1:
                best = FittedProbe(scaler, probe, c, score)
    assert best is not None
    return best


def linear_probe(
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    n_classes: int,
    seed: int,
    threads: int = 1,
) -> dict[str, Any]:
    """Logistic regression on standardised frozen features, C chosen on the validation macro-F1 (:func:`fit_probe`).

    Returns:
        The test metrics of :func:`classification_metrics`, plus ``C`` and ``valid_macro_f1``.
    """
    fitted = fit_probe(train, valid, seed, threads)
    with threadpool_limits(limits=threads):
        X_test = fitted.scaler.transform(test[0])
        scores = _probe_scores(fitted.model, fitted.model.classes_, X_test, n_classes)
    metrics: dict[str, Any] = classification_metrics(test[1], scores, n_classes)
    return {**metrics, "C": fitted.C, "valid_macro_f1": fitted.valid_macro_f1}
