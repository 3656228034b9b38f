"""What every evaluation task provides, and the pieces tasks share (column names, timing, published numbers).

A task is a registered object (see :mod:`tscl.tasks`); ``tscl evaluate`` runs ``task.evaluate`` and then
writes ``task.metric_rows`` and ``task.plots``; ``tscl report`` prints ``task.tables``; run lists and sweep
summaries show ``task.headline``; pretraining asks ``task.covariate_channels`` and ``task.held_out_windows``;
``tscl encode`` reads ``task.split_array``. Methods take the dataset (or the stored metrics dict) they work on,
so one task object serves any number of datasets.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from tscl.errors import ConfigError, DataError
from tscl.text import plural

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "MODEL",
    "RANDOM",
    "RAW",
    "Encoder",
    "Task",
    "changed_options_label",
    "report_columns",
    "report_title",
    "timed",
]

# Column names of the encoder under evaluation and of its two baselines (metrics.json, CSV, tables, plots).
MODEL, RANDOM, RAW = "tscl", "random init", "raw input"


def changed_options_label(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    """``key-value`` parts, joined by ``-``, of the options whose value differs from its default (name order).

    Part of a protocol's name, so that evaluations with other option values are stored apart:
    ``{"finetune_lr": 3e-05}`` -> ``finetune_lr-3e-05``; lists join with ``_``; empty when nothing differs.
    """

    def text(value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return "_".join(text(v) for v in value)
        if isinstance(value, Mapping):
            return "_".join(f"{k}-{text(v)}" for k, v in sorted(value.items()))
        return f"{value:g}" if isinstance(value, float) else str(value)

    changed = [key for key in sorted(values) if key not in defaults or values[key] != defaults[key]]
    return "-".join(f"{key}-{text(values[key])}" for key in changed)


class Encoder(Protocol):
    """What a task needs from a model: representations of ``X`` [N, T, C] (``tscl.training.model.ContrastiveModel``)."""

    def encode(self, X: np.ndarray, mode: str = "instance", causal_window: int | None = None) -> np.ndarray: ...


class Task(ABC):
    """An evaluation task (see the module docstring).

    Attributes:
        name: The registry name; stored as ``"task"`` in metrics.json.
        headline_names: Test metrics shown in run lists and sweep summaries, in column order.
        validation_names: Metrics measured without the test split (cross-validation, a validation split) to
            compare settings on; shown before the headline, and sweeps choose their best setting on the first.
        validation_lower_is_better: Whether the first validation metric is better when lower (an error).
        same_setting: What else than the variables must match the run's data (the channel-count hint).
        metric_labels: How lists and comparisons label a metric whose name is not readable as it is
            (``{"valid_macro_f1": "valid F1"}``); other metrics are labelled by their name.
        chosen_by: A task that ``evaluates`` the data of another in its place: the flag whose setting chooses it
            (an option of it given alone is refused, naming that flag), and an example of that flag.
    """

    name: ClassVar[str]
    headline_names: ClassVar[tuple[str, ...]]
    validation_names: ClassVar[tuple[str, ...]] = ()
    validation_lower_is_better: ClassVar[bool] = False
    same_setting: ClassVar[str] = ""
    metric_labels: ClassVar[Mapping[str, str]] = {}
    chosen_by: ClassVar[str] = ""
    chosen_by_example: ClassVar[str] = ""

    # -- the dataset hooks ----------------------------------------------------------------------------------
    @abstractmethod
    def channels(self, data: Any) -> int:
        """Channels of the dataset's series, as the encoder sees them."""

    @abstractmethod
    def covariate_channels(self, data: Any) -> int:
        """Leading channels that are covariates, not values to model (objectives that augment values skip them)."""

    @abstractmethod
    def split_array(self, data: Any, split: str) -> np.ndarray:
        """The array ``tscl encode --split SPLIT`` represents, ``[N, T, C]``."""

    @abstractmethod
    def held_out_windows(self, data: Any, length: int) -> tuple[np.ndarray, str]:
        """Held-out series for diagnostics, ``[N, T, C]`` (labels unused), and where they come from."""

    def check_channels(self, data: Any, input_dims: int | None, pretrained_on: str) -> None:
        """Refuse data whose channel count differs from the encoder's input, naming both datasets.

        Raises:
            DataError: The counts differ (``input_dims`` None: the encoder takes any count).
        """
        found = self.channels(data)
        if input_dims is None or found == input_dims:
            return
        raise DataError(
            f"{data.name} must have {plural(input_dims, 'channel')} like {pretrained_on}, the run's pretraining data, "
            f"but got {found}",
            f"use data with the same variables{self.same_setting} as the run, or pretrain a run on {data.name}",
        )

    def check_data(self, data: Any, config: Any, own: bool) -> None:
        """Refuse, before any work, data this task's settings cannot evaluate (none refused unless overridden).

        Args:
            data: The loaded dataset.
            config: The run's resolved ``RunConfig`` (what the encoder was pretrained on).
            own: Whether ``data`` is the run's pretraining dataset.

        Raises:
            TsclError: A one-line error naming the option to change.
        """
        del data, config, own

    # -- evaluating --------------------------------------------------------------------------------------
    @abstractmethod
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
        """Run the protocol on ``model`` and the baselines; return ``(metrics, extras)``.

        Args:
            model: The pretrained encoder.
            data: The dataset.
            baseline: A randomly initialised encoder of the same architecture, or None to skip the baselines
                (``metrics["baselines"]`` is then empty).
            objective: The run's objective, whose published numbers go into ``metrics["paper"]``.
            seed: Seed of the head's random choices.
            timings: Phase durations in seconds, added to in place (``encode_s``, ``head_s``, ``baseline_s``).

        Returns:
            The JSON-ready metrics (with ``"task"``, ``"baselines"`` and ``"paper"``) and the arrays
            :meth:`plots` draws.
        """

    @abstractmethod
    def metric_rows(self, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Flat rows of a metrics dict (the encoder's and each baseline's), for metrics.csv."""

    @abstractmethod
    def plots(self, folder: Path, metrics: Mapping[str, Any], extras: Mapping[str, Any], data: Any) -> None:
        """Write the task's PNG plots into ``folder`` (``extras``: the second value of :meth:`evaluate`)."""

    def keep_baselines(self, metrics: dict[str, Any], stored: Mapping[str, Any]) -> bool:
        """Put into ``metrics``, evaluated without baselines, the baselines ``stored`` holds (an earlier evaluation
        by the same protocol, data and seeds: baselines do not depend on the pretrained weights).

        Returns:
            Whether any baseline was kept.
        """
        if metrics.get("baselines") or not stored.get("baselines"):
            return False
        metrics["baselines"] = dict(stored["baselines"])
        return True

    # -- reporting ---------------------------------------------------------------------------------------
    @abstractmethod
    def tables(self, metrics: Mapping[str, Any]) -> list[Table]:
        """The report tables of a stored metrics dict."""

    def headline(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        """The :attr:`headline_names` numbers of a metrics dict (or of :meth:`published` numbers) found in it."""
        source = self.headline_source(metrics)
        return {name: float(source[name]) for name in self.headline_names if isinstance(source.get(name), (int, float))}

    def headline_source(self, metrics: Mapping[str, Any]) -> Mapping[str, Any]:
        """The part of a metrics dict that holds the headline numbers (the whole dict unless overridden)."""
        return metrics

    def validation(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        """The :attr:`validation_names` numbers of a metrics dict found in it (metrics.json of older versions,
        and heads without a grid search, have none)."""
        source = self.headline_source(metrics)
        return {
            name: float(source[name]) for name in self.validation_names if isinstance(source.get(name), (int, float))
        }

    def aligned(self, metrics: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The metrics dicts of several runs of this task, each reduced so that their headlines measure the
        same thing (a run list shows them one under another); as they are unless a task overrides it."""
        return list(metrics)

    def summary_text(self, metrics: Mapping[str, Any]) -> str:
        """The validation numbers, then the headline, as one short text (``tscl runs``)."""
        validation = [
            f"{self.metric_labels.get(name, name)} {value:.3f}" for name, value in self.validation(metrics).items()
        ]
        return " · ".join([*validation, self.headline_text(metrics)])

    # -- protocols ---------------------------------------------------------------------------------------
    def protocol(self) -> str:
        """The name of the protocol this task object runs, e.g. ``classification-svm``: evaluations of one
        dataset by different protocols are stored apart (the task's name unless its options change the numbers)."""
        return self.name

    def protocol_settings(self) -> dict[str, Any]:
        """The options of this task object that change its numbers (recorded with every evaluation)."""
        return {}

    @abstractmethod
    def headline_text(self, metrics: Mapping[str, Any]) -> str:
        """The headline of a metrics dict as one short text (``tscl runs``)."""

    @abstractmethod
    def published(self, objective: str, dataset: str, univariate: bool = False) -> dict[str, Any] | None:
        """The published numbers comparable with this task's result, shaped like its metrics, or None.

        Args:
            objective: The objective whose paper is read (``paper`` attribute of its class).
            dataset: Dataset name, case-insensitive.
            univariate: The forecasting setting (tasks without one ignore it).
        """

    def paper(self, objective: str) -> dict[Any, Any]:
        """The numbers ``objective``'s paper publishes for this task (empty when none, or not installed)."""
        from tscl.objectives import get_objective_class

        try:
            published = getattr(get_objective_class(objective), "paper", {})
        except ConfigError:  # a run of an objective that is no longer installed
            return {}
        return dict(published.get(self.name, {}))


class PhaseTimings(dict[str, float]):
    """Phase durations that also announce each phase as it begins (``on_phase(name)``), for progress displays."""

    def __init__(self, on_phase: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.on_phase = on_phase

    def begin(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)


def begin_phase(timings: dict[str, float], name: str) -> None:
    """Announce phase ``name`` (``encode_s``, ``head_s``, ``baseline_s`` ...) when ``timings`` listens."""
    if isinstance(timings, PhaseTimings):
        timings.begin(name)


def timed(timings: dict[str, float], name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, its duration added to ``timings[name]`` (the phase announced first)."""
    begin_phase(timings, name)
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - began
    return out


def report_columns(metrics: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The encoder's results and each baseline's, by column name."""
    return {MODEL: metrics, **metrics.get("baselines", {})}


def report_title(metrics: Mapping[str, Any]) -> str:
    """``"<dataset> · <objective>"`` of a stored metrics dict."""
    return f"{metrics.get('dataset', '?')} · {metrics.get('objective', '?')}"
