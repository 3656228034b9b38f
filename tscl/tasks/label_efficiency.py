"""The label-efficiency task: classification with a fraction of the training labels, several seeds.

For each fraction (``--label-fraction 1,0.1,0.01``) and seed (``--seeds 5``), a seeded draw of labelled groups
(:func:`tscl.tasks.label_fractions.labelled_rows`) trains a linear probe on frozen max-pooled features and/or
fine-tunes the encoder with a small head (:mod:`tscl.tasks.finetune`); both select on the validation split's
macro-F1 (grouped data: its validation part; UCR/UEA: a stratified fifth of the training split, the group
being the sample) and are scored once on test. Reported: accuracy, macro F1 / precision / recall, AUROC and
AUPRC as mean ± std over seeds, for the encoder and - on the same draws - a random-init encoder of the same
architecture (probe and fine-tuning from scratch) and the raw inputs (probe). Selected by giving
``label_fractions`` to a classification dataset (see :func:`tscl.tasks.task_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, get_args

import numpy as np
from pydantic import Field, field_validator
from rich.table import Table

from tscl.registry import Options
from tscl.tasks.base import MODEL, RANDOM, RAW, Encoder, Task, changed_options_label, report_title, timed
from tscl.tasks.classification import ClassificationTask, require_labelled_test
from tscl.tasks.label_fractions import METRICS, HeadInit, labelled_rows, linear_probe

__all__ = ["LabelEfficiencyOptions", "LabelEfficiencyTask"]

Protocol = Literal["linear", "finetune"]


class LabelEfficiencyOptions(Options):
    """Options of the label-efficiency task."""

    label_fractions: list[float] = Field([1.0, 0.1, 0.01], description="Fractions of the training labels kept.")
    seeds: int = Field(5, ge=1, description="Seeds per fraction (label draw, probe, fine-tuning).")
    protocols: list[Protocol] = Field(["linear", "finetune"], description="linear probe and/or full fine-tuning.")
    finetune_steps: int = Field(300, ge=1, description="Most fine-tuning steps (batches).")
    finetune_lr: float = Field(1e-4, gt=0, description="Fine-tuning learning rate of the pretrained encoder.")
    finetune_head_lr: float = Field(1e-3, gt=0, description="Fine-tuning learning rate of the new head.")
    finetune_head: HeadInit = Field("probe", description="Head start: probe (the validation-chosen linear probe, "
                                    "LP-FT) or random.")  # fmt: skip
    finetune_weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay of fine-tuning.")
    finetune_batch_size: int = Field(32, ge=1, description="Fine-tuning batch size (at most the labelled rows).")
    eval_every: int = Field(25, ge=1, description="Fine-tuning steps between validation checks.")
    patience: int = Field(4, ge=1, description="Validation checks without improvement before stopping.")

    # Each choice once, in one order (fractions largest first, protocols as declared): the protocol's name, and
    # so where its results are stored, does not depend on how the choices were written.
    @field_validator("label_fractions")
    @classmethod
    def _fractions(cls, values: list[float]) -> list[float]:
        if not values or any(not 0 < v <= 1 for v in values):
            raise ValueError("must be one or more fractions in (0, 1]")
        _once(values)
        return sorted(values, reverse=True)

    @field_validator("protocols")
    @classmethod
    def _protocols(cls, values: list[Protocol]) -> list[Protocol]:
        _once(values)
        return [protocol for protocol in get_args(Protocol) if protocol in values]


def _once(values: list[Any]) -> None:
    repeated = [value for index, value in enumerate(values) if value in values[:index]]
    if repeated:
        raise ValueError(f"must name each value once ({repeated[0]} twice)")


def _summary(values: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in (*METRICS, "valid_macro_f1", "valid_cross_entropy"):
        found = [v[key] for v in values if v.get(key) is not None]
        out[key] = {"mean": float(np.mean(found)), "std": float(np.std(found)), "values": found} if found else None
    return out


class LabelEfficiencyTask(Task):
    """Linear probe and fine-tuning at fractions of the labels, mean ± std over seeds (module docstring)."""

    Options = LabelEfficiencyOptions
    name = "label-efficiency"
    evaluates: ClassVar[str] = "classification"
    chosen_by = "--label-fraction"
    chosen_by_example = "--label-fraction 1,0.1,0.01"
    # The classification columns of run lists and sweep summaries (no new column): the encoder's numbers at
    # all the labels (100 %, else the largest fraction evaluated), the validation macro-F1 first; the report's
    # table has every fraction, protocol and metric.
    headline_names = ("accuracy", "auprc")
    validation_names = ("valid_macro_f1",)
    metric_labels = {"valid_macro_f1": "valid F1"}

    def __init__(self, **options: Any) -> None:
        self.options = LabelEfficiencyOptions(**options)
        self._classification = ClassificationTask()

    def protocol(self) -> str:
        """``label-efficiency-linear-finetune``, then the options that differ from the defaults
        (``...-finetune_lr-3e-05``): evaluations with other protocols or options are stored apart."""
        defaults = LabelEfficiencyOptions().model_dump()
        options = {k: v for k, v in self.options.model_dump().items() if k != "protocols"}
        return "-".join(part for part in (self.name, *self.options.protocols, changed_options_label(options, defaults))
                        if part)  # fmt: skip

    def protocol_settings(self) -> dict[str, Any]:
        return self.options.model_dump()

    # -- the dataset hooks: those of classification ------------------------------------------------------
    def channels(self, data: Any) -> int:
        return self._classification.channels(data)

    def covariate_channels(self, data: Any) -> int:
        return self._classification.covariate_channels(data)

    def split_array(self, data: Any, split: str) -> np.ndarray:
        return self._classification.split_array(data, split)

    def held_out_windows(self, data: Any, length: int) -> tuple[np.ndarray, str]:
        return self._classification.held_out_windows(data, length)

    def check_data(self, data: Any, config: Any, own: bool) -> None:
        """Refuse unlabelled data and data without test series, as classification does."""
        del config, own
        require_labelled_test(data, self.name)

    # -- evaluating --------------------------------------------------------------------------------------
    def evaluate(
        self, model: Encoder, data: Any, *, baseline: Encoder | None, objective: str, seed: int,
        timings: dict[str, float],
    ) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
        require_labelled_test(data, self.name)
        parts = _parts(data, seed)
        encoders: dict[str, Any] = {MODEL: model, **({RANDOM: baseline} if baseline is not None else {})}
        features = self._features(encoders, parts, baseline is not None, timings)
        o = self.options
        results: dict[str, Any] = {}
        labelled: dict[str, float] = {}
        for fraction in o.label_fractions:
            runs: dict[str, dict[str, list[dict[str, Any]]]] = {p: {} for p in o.protocols}
            counts = []
            for draw in range(o.seeds):
                rows = labelled_rows(parts.groups, parts.train[1], fraction, seed=seed * 1000 + draw)
                counts.append(len(rows))
                for name, fitted in self._one_draw(encoders, features, parts, rows, draw, len(data.class_names),
                                                   timings):  # fmt: skip
                    runs[fitted.pop("protocol")].setdefault(name, []).append(fitted)
            key = f"{fraction:g}"
            labelled[key] = float(np.mean(counts))
            results[key] = {p: {name: _summary(v) for name, v in by_model.items()} for p, by_model in runs.items()}
        metrics = {
            "task": self.name, "label_fractions": list(o.label_fractions), "seeds": o.seeds,
            "protocols": list(o.protocols), "n_train": int(len(parts.train[1])), "labelled_rows": labelled,
            "label_unit": "trial" if getattr(data, "ids", None) else "sample", "results": results, "baselines": {},
            "paper": None,
        }  # fmt: skip
        return metrics, {}

    def _features(
        self, encoders: Mapping[str, Any], parts: Parts, raw: bool, timings: dict[str, float]
    ) -> dict[str, tuple[np.ndarray, ...]]:
        """Frozen features of train, valid and test for the linear probe (and the raw inputs, flattened)."""
        from tscl.tasks.classification_protocol import flatten_features

        if "linear" not in self.options.protocols:
            return {}
        arrays = (parts.train[0], parts.valid[0], parts.test[0])
        features = {name: tuple(timed(timings, "encode_s", encoder.encode, X) for X in arrays)
                    for name, encoder in encoders.items()}  # fmt: skip
        if raw:
            features[RAW] = tuple(flatten_features(X) for X in arrays)
        return features

    def _one_draw(
        self, encoders: Mapping[str, Any], features: Mapping[str, tuple[np.ndarray, ...]], parts: Parts,
        rows: np.ndarray, draw: int, n_classes: int, timings: dict[str, float],
    ) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
        """Every protocol's result on one draw of labelled rows, as ``(model, {"protocol": ..., metrics})``."""
        import torch

        from tscl.tasks.finetune import FinetuneSettings, finetune

        o = self.options
        labelled = (parts.train[0][rows], parts.train[1][rows])
        out: list[tuple[str, dict[str, Any]]] = []
        for name, (a, b, c) in features.items():
            fitted = timed(timings, "head_s", linear_probe, (a[rows], labelled[1]), (b, parts.valid[1]),
                           (c, parts.test[1]), n_classes, draw, torch.get_num_threads())  # fmt: skip
            out.append((name, {"protocol": "linear", **fitted}))
        if "finetune" in o.protocols:
            settings = FinetuneSettings(steps=o.finetune_steps, eval_every=o.eval_every, patience=o.patience,
                                        lr=o.finetune_lr, batch_size=o.finetune_batch_size,
                                        head_lr=o.finetune_head_lr, head=o.finetune_head,
                                        weight_decay=o.finetune_weight_decay)  # fmt: skip
            for name, encoder in encoders.items():
                tuned = timed(timings, "finetune_s", finetune, encoder.inference_network(), labelled, parts.valid,
                              parts.test, n_classes, draw, settings)  # fmt: skip
                out.append((name, {"protocol": "finetune", **tuned}))
        return out

    def keep_baselines(self, metrics: dict[str, Any], stored: Mapping[str, Any]) -> bool:
        """The baselines' entries of ``stored`` beside the encoder's, per fraction and protocol (this task keeps
        its baselines in ``results``, on the same draws as the encoder)."""
        kept = False
        for fraction, by_protocol in metrics.get("results", {}).items():
            for protocol, by_model in by_protocol.items():
                earlier = ((stored.get("results") or {}).get(fraction) or {}).get(protocol) or {}
                for name in earlier.keys() - by_model.keys():
                    by_model[name] = earlier[name]
                    kept = True
        return kept

    def metric_rows(self, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One row per fraction, protocol and model: mean and std of every metric."""
        rows = []
        for fraction, by_protocol in metrics.get("results", {}).items():
            for protocol, by_model in by_protocol.items():
                for name, summary in by_model.items():
                    row: dict[str, Any] = {"fraction": fraction, "protocol": protocol, "model": name}
                    for key, value in summary.items():
                        row[f"{key}_mean"] = None if value is None else value["mean"]
                        row[f"{key}_std"] = None if value is None else value["std"]
                    rows.append(row)
        return rows

    def plots(self, folder: Path, metrics: Mapping[str, Any], extras: Mapping[str, Any], data: Any) -> None:
        del folder, metrics, extras, data  # the table says it all

    # -- reporting ---------------------------------------------------------------------------------------
    def tables(self, metrics: Mapping[str, Any]) -> list[Table]:
        shown = {"accuracy": "accuracy", "macro_f1": "macro-F1", "auroc": "AUROC", "auprc": "AUPRC",
                 "valid_macro_f1": self.metric_labels["valid_macro_f1"]}  # fmt: skip
        tables = []
        for protocol in metrics.get("protocols", []):
            table = Table(title=f"{report_title(metrics)} · {protocol} · mean±std over {metrics.get('seeds')} seeds")
            for column in ("labels", "rows", "model", *shown.values()):
                table.add_column(column, justify="left" if column == "model" else "right")
            for fraction, by_protocol in metrics.get("results", {}).items():
                for name, summary in by_protocol.get(protocol, {}).items():
                    cells = [_cell(summary.get(key)) for key in shown]
                    rows = f"{metrics.get('labelled_rows', {}).get(fraction, 0):.0f}"
                    table.add_row(f"{float(fraction):.0%}", rows, name, *cells)
            tables.append(table)
        return tables

    def headline_source(self, metrics: Mapping[str, Any]) -> Mapping[str, Any]:
        """The encoder's means at the headline fraction (:func:`headline_fraction`), first protocol."""
        results = metrics.get("results") or {}
        fraction = headline_fraction(results)
        if fraction is None:
            return {}
        protocol = next(iter(results[fraction]), None)
        summary = results[fraction].get(protocol, {}).get(MODEL, {}) if protocol else {}
        return {key: value["mean"] for key, value in summary.items() if value is not None}

    def aligned(self, metrics: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Every run headlined at the same fraction: the largest one all of them were evaluated at (100 % when
        they all have it); as they are when they share none."""
        shared = (
            set.intersection(*({float(key) for key in m.get("results") or {}} for m in metrics)) if metrics else set()
        )
        if not shared:
            return list(metrics)
        fraction = max(shared)
        return [
            {**m, "results": {key: value for key, value in m["results"].items() if float(key) == fraction}}
            for m in metrics
        ]

    def headline_text(self, metrics: Mapping[str, Any]) -> str:
        source = self.headline_source(metrics)
        fraction = headline_fraction(metrics.get("results") or {})
        where = f" at {float(fraction):.0%} of the labels" if fraction is not None else ""
        return f"macro-F1 {source.get('macro_f1', float('nan')):.3f}{where}"

    def published(self, objective: str, dataset: str, univariate: bool = False) -> dict[str, Any] | None:
        del objective, dataset, univariate
        return None


def headline_fraction(results: Mapping[str, Any]) -> str | None:
    """The key of the fraction run lists and comparisons headline: 100 % of the labels when evaluated, else the
    largest fraction (the same for every run evaluated at 100 %, whatever smaller fractions each has)."""
    return max(results, key=float) if results else None


def _cell(value: Mapping[str, Any] | None) -> str:
    """Mean and std as two words, so that a narrow table wraps between them rather than cutting either."""
    return "-" if value is None else f"{value['mean']:.3f} ±{value['std']:.3f}"


class Parts(NamedTuple):
    """Arrays and labels of the three parts, and the group of every training row."""

    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    groups: np.ndarray


def _parts(data: Any, seed: int) -> Parts:
    """Grouped data bring their validation part and trial ids; other data get a stratified fifth of the
    training split as validation, each sample its own group."""
    from tscl.data.splits import assign_parts

    if getattr(data, "y_valid", None) is not None and len(data.y_valid):
        return Parts((data.X_train, data.y_train), (data.X_valid, data.y_valid), (data.X_test, data.y_test),
                     data.ids["train"]["trial"])  # fmt: skip
    split = assign_parts(np.arange(len(data.y_train)), data.y_train, seed, (0.8, 0.2, 0.0))
    keep, hold = split == 0, split == 1
    return Parts((data.X_train[keep], data.y_train[keep]), (data.X_train[hold], data.y_train[hold]),
                 (data.X_test, data.y_test), np.arange(int(keep.sum())))  # fmt: skip
