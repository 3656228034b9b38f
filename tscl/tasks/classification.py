"""The classification task: TS2Vec's protocol (Yue et al., AAAI 2022) on a run's encoder, with baselines and reports.

Max-pooled instance representations train a classifier head (:mod:`tscl.tasks.heads`, RBF-SVM by default);
accuracy and AUPRC on the test split (:mod:`tscl.tasks.classification_protocol`). Baselines get the same head:
a randomly initialised encoder of the same architecture, and the flattened raw series. Published numbers are
the objective's ``paper["classification"][dataset]`` (``{"accuracy": ..}``), measured with the SVM protocol,
so they are shown for the default head only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field, field_validator, model_validator
from rich.table import Table

from tscl.errors import ConfigError, DataError
from tscl.registry import Options
from tscl.tasks.base import (
    RANDOM,
    RAW,
    Encoder,
    Task,
    begin_phase,
    changed_options_label,
    report_columns,
    report_title,
    timed,
)
from tscl.tasks.heads import DEFAULT_HEAD, HEADS
from tscl.tasks.report import MISSING, best_cells, format_metric

if TYPE_CHECKING:
    from tscl.tasks.classification_protocol import ClassificationEvaluation

__all__ = ["ClassificationOptions", "ClassificationTask", "classification_table", "require_labelled_test"]

_ROW_KEYS = ("accuracy", "auprc", "cv_accuracy")


class ClassificationOptions(Options):
    """Options of the classification task."""

    head: str = Field(DEFAULT_HEAD, description="Classifier head fitted on the instance representations.")
    head_options: dict[str, Any] = Field(default_factory=dict, description="Options of the head (its options class).")

    @field_validator("head")
    @classmethod
    def _registered(cls, head: str) -> str:
        if head not in HEADS:
            raise ValueError(f"must be one of {', '.join(HEADS.names())}")
        return head

    @model_validator(mode="after")
    def _head_options(self) -> ClassificationOptions:
        if self.head_options:  # the defaults need no check (and no import of the head's module)
            HEADS.entry(self.head).validate(self.head_options, "head")
        return self


def require_labelled_test(data: Any, protocol: str) -> None:
    """Refuse ``data`` the ``protocol`` cannot score: no labels, or no test series.

    Raises:
        DataError: A one-line error naming the dataset and what it lacks.
    """
    if data.y_train is None or data.y_test is None:
        raise DataError(
            f"dataset {data.name} must be labelled to be evaluated by {protocol} but has no labels",
            hint="evaluate a labelled dataset (--dataset), or use the run for `tscl encode` only",
        )
    if len(data.y_test) == 0:  # an .npz of X and y only: every series is for training
        raise DataError(
            f"dataset {data.name} must have test series to be evaluated by {protocol} but its test part is empty",
            hint="save the .npz with X_train, y_train, X_test, y_test, or evaluate another dataset (--dataset)",
        )


class ClassificationTask(Task):
    """Classification: a head on max-pooled instance representations; accuracy and AUPRC.

    Args:
        head: A registered classifier head.
        head_options: Its options.
    """

    Options = ClassificationOptions
    name = "classification"
    headline_names = ("accuracy", "auprc")
    validation_names = ("cv_accuracy",)
    metric_labels = {"cv_accuracy": "CV accuracy"}

    def __init__(self, head: str = DEFAULT_HEAD, head_options: Mapping[str, Any] | None = None) -> None:
        self.head = head
        self.head_options = dict(head_options or {})

    def protocol(self) -> str:
        """``classification-<head>``, then the head options given (``classification-svm-C-10``)."""
        label = changed_options_label(self.head_options, {})
        return "-".join(part for part in (self.name, self.head, label) if part)

    def protocol_settings(self) -> dict[str, Any]:
        return {"head": self.head, "head_options": dict(self.head_options)}

    # -- the dataset hooks ----------------------------------------------------------------------------------
    def channels(self, data: Any) -> int:
        return int(data.X_train.shape[2])

    def covariate_channels(self, data: Any) -> int:
        del data
        return 0

    def split_array(self, data: Any, split: str) -> np.ndarray:
        """``X_train``, ``X_valid`` (grouped data only), ``X_test`` or every part (``all``: train, valid, test in
        that order, padded to one length)."""
        valid = getattr(data, "X_valid", None)
        has_valid = valid is not None and len(valid) > 0
        parts = {"train": data.X_train, "valid": valid if has_valid else None, "test": data.X_test}
        if split == "all":
            present = [part for part in parts.values() if part is not None]
            if len(present) == 1:
                return present[0]
            length = max(part.shape[1] for part in present)
            return np.concatenate([_pad_to(part, length) for part in present])
        if split == "valid" and not has_valid:
            raise ConfigError(
                "split (--split) must be train, test or all (this dataset has no validation part) but got 'valid'",
                hint="only grouped data have a validation part; use --split train, test or all here",
            )
        if split in parts and parts[split] is not None:
            return parts[split]
        names = "train, valid, test or all" if has_valid else "train, test or all"
        raise ConfigError(f"split (--split) must be {names} but got {split!r}", hint="e.g. --split all")

    def held_out_windows(self, data: Any, length: int) -> tuple[np.ndarray, str]:
        """The test series whatever ``length`` (labels unused)."""
        del length
        return data.X_test, "test split (labels unused)"

    def check_data(self, data: Any, config: Any, own: bool) -> None:
        """Refuse unlabelled data and data without test series (an ``.npz`` of ``X`` and ``y`` only)."""
        del config, own
        require_labelled_test(data, self.name)

    # -- evaluating --------------------------------------------------------------------------------------
    def evaluate(
        self,
        model: Encoder,
        data: Any,
        *,
        baseline: Encoder | None,
        objective: str,
        seed: int,
        timings: dict[str, float],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """See :meth:`Task.evaluate`; the head's grid search uses torch's thread count (``--threads``)."""
        import torch

        require_labelled_test(data, self.name)
        fit = partial(_fit_head, data, self.head, self.head_options, seed, torch.get_num_threads())
        train = timed(timings, "encode_s", model.encode, data.X_train)
        test = timed(timings, "encode_s", model.encode, data.X_test)
        ours = timed(timings, "head_s", fit, train, test)
        metrics = dict(ours.metrics)
        metrics["baselines"] = {} if baseline is None else _baselines(baseline, data, fit, timings)
        metrics["paper"] = self.published(objective, data.name)
        return metrics, {"test_repr": test, "confusion": ours.confusion}

    def metric_rows(self, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One row per model."""
        return [
            {"model": name, **{key: result.get(key) for key in _ROW_KEYS}}
            for name, result in report_columns(metrics).items()
        ]

    def plots(self, folder: Path, metrics: Mapping[str, Any], extras: Mapping[str, Any], data: Any) -> None:
        """``embedding.png`` (PCA of the test representations) and ``confusion.png``."""
        from tscl.tasks.plots import plot_confusion_matrix, plot_embedding

        plot_embedding(extras["test_repr"], data.y_test, folder / "embedding.png", data.class_names,
                       title=f"{data.name}: test representations (PCA)")  # fmt: skip
        plot_confusion_matrix(extras["confusion"], folder / "confusion.png", data.class_names,
                              title=f"{data.name}: confusion ({metrics['head']})")  # fmt: skip

    # -- reporting ---------------------------------------------------------------------------------------
    def tables(self, metrics: Mapping[str, Any]) -> list[Table]:
        return [classification_table(report_columns(metrics), metrics.get("paper"), title=report_title(metrics))]

    def headline_text(self, metrics: Mapping[str, Any]) -> str:
        return f"acc {metrics.get('accuracy', float('nan')):.3f}"

    def published(self, objective: str, dataset: str, univariate: bool = False) -> dict[str, Any] | None:
        """The paper's ``{"accuracy": ..}`` for ``dataset``, or None (also for heads other than the default:
        the published accuracies are the SVM protocol's)."""
        del univariate
        if self.head != DEFAULT_HEAD:
            return None
        table = {name.lower(): numbers for name, numbers in self.paper(objective).items()}
        numbers = table.get(dataset.lower())
        return None if numbers is None else dict(numbers)


def _fit_head(
    data: Any, head: str, options: dict[str, Any], seed: int, n_jobs: int, train: np.ndarray, test: np.ndarray
) -> ClassificationEvaluation:
    """The protocol with ``head`` on the representations of ``data``'s training and test series."""
    from tscl.tasks.classification_protocol import run_classification_protocol

    n_classes = len(data.class_names)
    return run_classification_protocol(train, data.y_train, test, data.y_test, n_classes, head, seed, n_jobs, options)


def _baselines(
    baseline: Encoder, data: Any, fit: Callable[[np.ndarray, np.ndarray], ClassificationEvaluation],
    timings: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    """The protocol's metrics on a random-init encoder's representations and on the flattened raw series."""
    from tscl.tasks.classification_protocol import flatten_features

    begin_phase(timings, "baseline_s")
    began = time.perf_counter()
    random = fit(baseline.encode(data.X_train), baseline.encode(data.X_test))
    length = max(data.X_train.shape[1], data.X_test.shape[1])
    raw = fit(flatten_features(_pad_to(data.X_train, length)), flatten_features(_pad_to(data.X_test, length)))
    timings["baseline_s"] = time.perf_counter() - began
    return {RANDOM: random.metrics, RAW: raw.metrics}


def _pad_to(X: np.ndarray, length: int) -> np.ndarray:
    """``X`` ``[N, T, C]`` padded with trailing NaN to ``length`` steps."""
    return np.pad(X, ((0, 0), (0, length - X.shape[1]), (0, 0)), constant_values=np.nan)


def classification_table(
    results: Mapping[str, Mapping[str, Any]],
    paper: Mapping[str, Any] | None = None,
    title: str | None = None,
    digits: int = 3,
) -> Table:
    """Classification metrics: rows accuracy / AUPRC / head, one column per result (+ "paper").

    Args:
        results: Column name -> the protocol's metrics dict.
        paper: Published numbers such as ``{"accuracy": 0.98}``, or None.
        title: Table title.
        digits: Decimals shown.

    Returns:
        The rich table; the best accuracy / AUPRC among ``results`` is bold.
    """
    columns: dict[str, Mapping[str, Any]] = dict(results)
    if paper is not None:
        columns["paper"] = paper
    table = Table(title=title or "Classification")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for key, label in (("accuracy", "accuracy"), ("auprc", "AUPRC")):
        values = [columns[name].get(key) for name in columns]
        competing = best_cells(values[: len(results)], digits, lower_is_better=False)
        table.add_row(label, *competing, *[format_metric(v, digits) for v in values[len(results) :]])
    cv_values = [columns[name].get("cv_accuracy") for name in results]
    if any(v is not None for v in cv_values):
        table.add_row("CV accuracy (train)", *best_cells(cv_values, digits, lower_is_better=False),
                      *[MISSING] * (len(columns) - len(results)))  # fmt: skip
    table.add_row("head", *[str(columns[name].get("head", MISSING)) for name in columns])
    return table
