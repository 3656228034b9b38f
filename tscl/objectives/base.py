"""What an objective is given, what it must do, and how it states what it needs.

An objective turns batches into optimisation steps: it makes views, encodes them, applies its loss and
steps its optimizer(s). Its factory is ``factory(setup, **options)`` with the runtime pieces in
:class:`Setup` and its own hyper-parameters validated by its ``Options`` class. What the rest of tscl needs to
know about it is stated as class attributes, never by testing its name:

* ``default_encoder`` / ``default_loss``: used when the run configuration names none (``default_loss =
  None``: the objective has a loss of its own and a ``[loss]`` section is refused);
* ``default_views``: the view maker it takes from the ``[views]`` section (None: it makes its own views);
* ``task_defaults``: per evaluation task, configuration values that replace the defaults (below presets,
  config files and flags), e.g. ``{"forecasting": {"encoder": {"name": "cost"}}}``;
* ``presets``: named published settings (:class:`Preset`);
* ``paper``: published numbers, ``{task: {key: numbers}}`` (read by the evaluation tasks);
* ``min_length`` (optional): the shortest series it can train on;
* ``needs_of(options)`` (optional, a wrapper): the objective class whose needs above it takes, given its
  options (e.g. the objective it wraps).

Optional hooks the training loop calls when an objective has them:

* ``takes_index = True``: ``training_step(x, generator, index=...)`` also gets the rows' indices in the
  training array ``[B]`` (per-series state such as a loss history);
* ``plan(planned_iters, iters_per_epoch)``: at the start of every ``fit``, the iterations planned in total
  and per epoch (schedules by the length of training);
* ``encoder_stepped``: False after a step that did not update the encoder (that step is then no sample of
  the averaged encoder used for inference);
* ``epoch_log``: per-epoch records, rows with ``step`` and ``epoch``, written as extra columns of
  ``losses.csv`` (on the step that ended the epoch), into ``meta.json`` and under the evaluation report;
* ``artifacts()``: ``{file name: state}`` of models of its own, written beside the run's checkpoint
  (``checkpoints/NAME``, with its sha256) at every save; the checkpoint holds them too (resume reads that);
* ``check_batches(batch_size, shape)``: before the run exists, the run's batch size and the training array's
  shape ``[N, T, C]``; raises a :class:`~tscl.errors.TsclError` when such batches would teach it nothing (e.g.
  a loss with no negatives in a batch of one series);
* ``run_notes()``: when pretraining ends, lines the user should read about the run (e.g. that the data gave
  the objective nothing to do); shown as ``note:`` lines and kept in the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import torch
from pydantic import AfterValidator
from torch import nn

from tscl.errors import ConfigError, DataError

__all__ = ["Objective", "Preset", "Setup", "WindowLength", "refuse_batches_of_too_few_series"]


def _window_length(value: int) -> int:
    if value == 1:
        raise ValueError("must be 0 (whole series) or at least 2")
    return value


# Length of random training windows: 0 means whole series (TOML has no null), else at least 2 steps.
WindowLength = Annotated[int, AfterValidator(_window_length)]


@dataclass
class Setup:
    """The runtime pieces an objective is built from (not options: they come from the data and the run).

    Attributes:
        encoder: The encoder f being trained, ``[B, T, C] -> [B, T, D]``.
        loss: The loss built from the ``[loss]`` section (see :mod:`tscl.losses` for the contract); None for
            objectives with a loss of their own (``default_loss = None``).
        input_dims: Input channels C.
        lr: Learning rate of the encoder's optimizer.
        batch_size: Series per iteration (the default of objectives that draw windows).
        n_covariates: Leading calendar channels of forecasting data (never augmented).
        views: The view maker built from the ``[views]`` section, for objectives that take one.
        device: Where the encoder lives.
        rank, world_size: This process's place in a data-parallel run (one process: 0 of 1). Every rank draws
            from the same generator; per-series draws made for the global batch of ``batch_size * world_size``
            rows and sliced to the rank's rows (see :func:`tscl.views.crop.draw_crop`) equal one process's.
    """

    encoder: nn.Module
    loss: nn.Module | None
    input_dims: int
    lr: float = 1e-3
    batch_size: int = 8
    n_covariates: int = 0
    views: Any | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    rank: int = 0
    world_size: int = 1

    def require_loss(self) -> nn.Module:
        """The ``[loss]`` section's loss, for objectives built on one."""
        if self.loss is None:
            raise ConfigError("the objective must be given a loss but got none", hint="set --loss or [loss] name")
        return self.loss


class Objective(Protocol):
    """What the training loop needs from an objective."""

    def training_step(self, x: torch.Tensor, generator: torch.Generator) -> float:
        """One optimisation step on batch ``x`` [B, T, C]; returns the loss value."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Preset:
    """A named set of run-configuration values (nested like a config file) and where they come from."""

    name: str
    description: str
    values: Mapping[str, Any] = field(default_factory=dict)


def refuse_batches_of_too_few_series(
    objective: str, needed: int, batch_size: int, n_series: int, *, batch_hint: str, data_hint: str
) -> None:
    """Refuse a run whose batches hold fewer than ``needed`` series (a loss's ``min_batch``): its loss would
    contrast nothing (a ``check_batches`` hook's common case).

    Raises:
        ConfigError: ``batch_size`` is below ``needed``.
        DataError: the training data has fewer than ``needed`` series.
    """
    why = f"for objective {objective}: its loss's only negatives are the batch's other rows,"
    if batch_size < needed:
        raise ConfigError(f"batch_size must be at least {needed} {why} but got {batch_size}", hint=batch_hint)
    if n_series < needed:
        raise DataError(f"the training data must have at least {needed} series {why} but has {n_series}",
                        hint=data_hint)  # fmt: skip
