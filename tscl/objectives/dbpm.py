"""DBPM: Dynamic Bad Pair Mining, a wrapper that down-weights bad positive pairs of another objective.

Lan et al., "Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining Approach",
ICLR 2024. Some positive pairs are bad: *noisy* pairs (views dominated by noise, a suspiciously low loss) and
*faulty* pairs (the augmentation destroyed the meaning, a persistently high loss). The wrapper builds the
objective named by ``inner`` around a ``[loss]`` that gives one loss per series (``per_sample``, e.g.
``infonce``), and keeps, per training series (its index in the training array), the mean of its loss over
each epoch. After ``warmup`` of the planned epochs, each series' history is summarised as a mean weighted
toward recent epochs (epoch e weighs e^``recency``; kept as two running sums, so memory stays constant), a
Gaussian (mean mu, std sigma) is fitted to all summaries, series with summary <= mu - ``noisy_cutoff`` sigma
are flagged noisy and those >= mu + ``faulty_cutoff`` sigma faulty; during the next epoch a flagged series'
loss is multiplied by exp(-z^2/2), z its standardised summary (the wrapped objective's step is otherwise
unchanged). Flag counts per epoch go to ``losses.csv`` (columns ``noisy``, ``faulty``), ``meta.json`` and the
evaluation report.

Differences from the public code: the weight is exp(-z^2/2) <= 1, never the Gaussian density, which exceeds 1
when sigma is small and then up-weights the bad pairs; the warm-up is a share of the planned training rather
than a fixed epoch; it wraps any objective whose loss gives per-series losses, not one SimCLR pipeline.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from pydantic import Field
from torch import Tensor, nn

from tscl.errors import ConfigError, DataError, TrainingError, TsclError
from tscl.losses import loss_name
from tscl.objectives.base import Setup
from tscl.registry import Options

DEFAULT_INNER = "augment"


class DBPMOptions(Options):
    inner: str = Field(DEFAULT_INNER, description="The objective wrapped; its loss must give per-series losses.")
    inner_options: dict[str, Any] = Field(default_factory=dict, description="Options of the wrapped objective.")
    warmup: float = Field(0.6, ge=0, lt=1, description="Share of the planned epochs before pairs are flagged.")
    noisy_cutoff: float = Field(2.0, gt=0, description="Noisy when the summary <= mean - noisy_cutoff x std.")
    faulty_cutoff: float = Field(3.0, gt=0, description="Faulty when the summary >= mean + faulty_cutoff x std.")
    recency: float = Field(1.0, ge=0, description="Epoch e weighs e^recency in a series' summary (0: plain mean).")


def history_summary(history: Tensor, recency: float) -> Tensor:
    """Per series, the mean of its per-epoch losses weighted toward recent epochs.

    Args:
        history: [E, N] loss of series n in epoch e (NaN: not seen that epoch).
        recency: Epoch e (1-based) weighs e^recency.

    Returns:
        [N] summaries; NaN for a series never seen.
    """
    epochs = torch.arange(1, history.size(0) + 1, dtype=history.dtype, device=history.device)
    weights = epochs.pow(recency).unsqueeze(1) * ~torch.isnan(history)
    total = (history.nan_to_num() * weights).sum(dim=0)
    norm = weights.sum(dim=0)
    return torch.where(norm > 0, total / norm.clamp_min(1e-30), torch.full_like(total, math.nan))


def bad_pair_weights(
    summaries: Tensor, noisy_cutoff: float = 2.0, faulty_cutoff: float = 3.0
) -> tuple[Tensor, Tensor, Tensor]:
    """DBPM's flags and bounded weights from the series' summaries.

    A Gaussian is fitted to the summaries (NaN ignored; population std). Series at or below mean -
    ``noisy_cutoff`` std are noisy, at or above mean + ``faulty_cutoff`` std faulty; their weight is
    exp(-z^2/2) with z = (summary - mean) / std, every other weight is 1.

    Args:
        summaries: [N] (see :func:`history_summary`).

    Returns:
        ``(weights [N], noisy [N] bool, faulty [N] bool)``; no flags when std is 0 or fewer than 2 are known.
    """
    known = ~torch.isnan(summaries)
    ones = torch.ones_like(summaries)
    none = torch.zeros_like(known)
    if int(known.sum()) < 2:
        return ones, none, none
    values = summaries[known]
    mean, std = values.mean(), values.std(unbiased=False)
    if float(std) <= 0:
        return ones, none, none
    z = ((summaries - mean) / std).nan_to_num()
    noisy = known & (z <= -noisy_cutoff)
    faulty = known & (z >= faulty_cutoff)
    weights = torch.where(noisy | faulty, torch.exp(-z.square() / 2), ones)
    return weights, noisy, faulty


class WeightedSampleLoss(nn.Module):
    """The wrapped objective's loss: per-series losses recorded, then weighted by the rows' DBPM weights."""

    def __init__(self, loss: nn.Module, miner: DBPMObjective) -> None:
        super().__init__()
        self.loss = loss
        self.aligned_views = bool(getattr(loss, "aligned_views", False))
        self.temporal_unit = int(getattr(loss, "temporal_unit", 0))
        self.min_batch = int(getattr(loss, "min_batch", 1))
        self._miner = [miner]  # a list: not a submodule

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        per_sample: Tensor = self.loss.per_sample(z1, z2)  # type: ignore[operator]
        return self._miner[0].weigh(per_sample)


class DBPMObjective:
    """Dynamic bad pair mining around another objective: noisy and faulty positive pairs down-weighted."""

    Options = DBPMOptions
    takes_index = True
    paper: dict[str, Any] = {}

    @classmethod
    def needs_of(cls, options: dict[str, Any]) -> Any:
        """The wrapped objective's class: its defaults (encoder, loss, views, task defaults) are DBPM's."""
        from tscl.objectives import OBJECTIVES, get_objective_class

        inner = str(options.get("inner", DEFAULT_INNER))
        if inner not in OBJECTIVES:
            unknown = OBJECTIVES.unknown(inner)
            raise ConfigError(f"objective.inner{str(unknown).removeprefix('objective')}", hint=unknown.hint)
        wrapped = get_objective_class(inner)
        if wrapped is cls:
            raise ConfigError("objective.inner must be another objective but got 'dbpm'", hint="e.g. augment")
        return wrapped

    def __init__(
        self,
        setup: Setup,
        *,
        inner: str = DEFAULT_INNER,
        inner_options: dict[str, Any] | None = None,
        warmup: float = 0.6,
        noisy_cutoff: float = 2.0,
        faulty_cutoff: float = 3.0,
        recency: float = 1.0,
    ) -> None:
        from tscl.objectives import OBJECTIVES

        inner_options = dict(inner_options or {})
        self.needs_of({"inner": inner})
        _check_wrappable(inner, inner_options, setup)
        self.warmup, self.recency, self.inner_name = warmup, recency, inner
        self.cutoffs = (noisy_cutoff, faulty_cutoff)
        assert setup.loss is not None  # _check_wrappable
        wrapped = dataclasses.replace(setup, loss=WeightedSampleLoss(setup.loss, self))
        self.inner = OBJECTIVES.create(inner, wrapped, prefix="objective.inner_options", **inner_options)
        self.min_length = int(getattr(self.inner, "min_length", 1))
        self.device = setup.device
        # Per series: this epoch's loss sum and count, the recency-weighted sum of its per-epoch means and the
        # sum of their weights (the summary is their ratio: the history in constant memory), its weight.
        self.epoch_sum, self.epoch_count = _zeros(0), _zeros(0)
        self.weighted_sum, self.weight_total = _zeros(0), _zeros(0)
        self.weights = torch.ones(0, dtype=torch.float64)
        self.epochs, self.steps, self.iters_per_epoch, self.warmup_epochs = 0, 0, 0, 1
        self._log: list[tuple[float, ...]] = []  # tuples of floats: not tracked by the garbage collector
        self._rows: Tensor | None = None

    # -- the training loop's hooks ---------------------------------------------------------------------
    def plan(self, planned_iters: int, iters_per_epoch: int) -> None:
        self.iters_per_epoch = iters_per_epoch
        planned_epochs = planned_iters / max(iters_per_epoch, 1)
        self.warmup_epochs = max(1, math.ceil(self.warmup * planned_epochs))
        inner_plan = getattr(self.inner, "plan", None)
        if callable(inner_plan):
            inner_plan(planned_iters, iters_per_epoch)

    def check_batches(self, batch_size: int, shape: tuple[int, ...]) -> None:
        """The wrapped objective's check of the run's batches (objectives.base), when it has one; its remedies
        speak of its own options, which are ``objective.inner_options.*`` here, and dbpm trains on whole
        series (no windows)."""
        inner_check = getattr(self.inner, "check_batches", None)
        if not callable(inner_check):
            return
        try:
            inner_check(batch_size, shape)
        except DataError as exc:
            raise DataError(
                f"{exc.message} (wrapped by objective dbpm)",
                hint="dbpm weighs whole series (no windows): train on more series, or use another objective",
            ) from None
        except TsclError as exc:
            hint = None if exc.hint is None else exc.hint.replace("objective.", "objective.inner_options.")
            raise type(exc)(f"{exc.message} (wrapped by objective dbpm)", hint=hint) from None

    @property
    def encoder_stepped(self) -> bool:
        return bool(getattr(self.inner, "encoder_stepped", True))

    def training_step(self, x: Tensor, generator: torch.Generator, index: Tensor | None = None) -> float:
        if index is None:
            raise TrainingError("objective dbpm must be given the rows' series indices (takes_index) but got none")
        self._grow(int(index.max()) + 1)
        self._rows = index.cpu()
        try:
            loss = self.inner.training_step(x, generator)
        finally:
            self._rows = None
        self.steps += 1
        if self.iters_per_epoch and self.steps % self.iters_per_epoch == 0:
            self._end_epoch()
        return loss

    def weigh(self, per_sample: Tensor) -> Tensor:
        """Record the rows' losses and return their weighted mean (called by the wrapped objective's loss)."""
        rows = self._rows
        if rows is None or per_sample.shape != rows.shape:
            got = "no rows" if rows is None else f"{rows.numel()} series"
            raise TrainingError(
                f"dbpm must get one loss per training series but got {tuple(per_sample.shape)} for {got}",
                hint="set objective.inner_options.window=0 so the wrapped objective keeps the batch's rows",
            )
        values = per_sample.detach().cpu().double()  # float64 on the CPU (MPS has no float64)
        self.epoch_sum.index_add_(0, rows, values)
        self.epoch_count.index_add_(0, rows, torch.ones_like(values))
        weights = self.weights[rows].to(per_sample.device, per_sample.dtype)
        return (weights * per_sample).mean()

    # -- mining ----------------------------------------------------------------------------------------
    def _grow(self, size: int) -> None:
        extra = size - self.epoch_sum.numel()
        if extra > 0:
            self.epoch_sum, self.epoch_count = _extend(self.epoch_sum, extra), _extend(self.epoch_count, extra)
            self.weighted_sum, self.weight_total = _extend(self.weighted_sum, extra), _extend(self.weight_total, extra)
            self.weights = torch.cat([self.weights, torch.ones(extra, dtype=torch.float64)])

    def summaries(self) -> Tensor:
        """Each series' recency-weighted mean of its per-epoch losses so far, [N] (NaN: never seen);
        :func:`history_summary` of the full history, kept as two running sums."""
        known = self.weight_total > 0
        return torch.where(known, self.weighted_sum / self.weight_total.clamp_min(1e-300), math.nan)

    def _end_epoch(self) -> None:
        self.epochs += 1
        seen = self.epoch_count > 0
        mean = self.epoch_sum / self.epoch_count.clamp_min(1)
        weight = float(self.epochs) ** self.recency
        self.weighted_sum += torch.where(seen, weight * mean, 0.0)
        self.weight_total += torch.where(seen, weight, 0.0)
        self.epoch_sum.zero_(), self.epoch_count.zero_()
        noisy, faulty = self.flags()
        if self.epochs >= self.warmup_epochs:
            self.weights, _, _ = bad_pair_weights(self.summaries(), *self.cutoffs)
        flagged = noisy | faulty
        mean_weight = float(self.weights[flagged].mean()) if bool(flagged.any()) else 1.0
        self._log.append((self.steps, self.epochs, float(noisy.sum()), float(faulty.sum()), mean_weight))

    def flags(self) -> tuple[Tensor, Tensor]:
        """The series flagged noisy and faulty at the last epoch's end (bool [N] each; none before the warm-up)."""
        _, noisy, faulty = bad_pair_weights(self.summaries(), *self.cutoffs)
        if self.epochs < self.warmup_epochs:
            return torch.zeros_like(noisy), torch.zeros_like(faulty)
        return noisy, faulty

    def run_notes(self) -> list[str]:
        """Say so when the mining could not, or did not, change any pair's weight in this run."""
        series = self.epoch_sum.numel()
        # With the population std, no z-score of N values exceeds sqrt(N - 1) (Samuelson's inequality).
        reach, lowest = math.sqrt(max(series - 1, 0)), min(self.cutoffs)
        if reach < lowest:
            needed = math.ceil(lowest**2) + 1
            return [
                f"dbpm could flag no pair: with {series} training series no z-score exceeds sqrt({series} - 1) = "
                f"{reach:.2f}, below its cutoffs {self.cutoffs[0]:g} and {self.cutoffs[1]:g}, so every pair kept "
                f"weight 1 (objective.inner {self.inner_name!r} alone); it needs at least {needed} series"
            ]
        if self.steps <= self.warmup_epochs * self.iters_per_epoch:
            return [
                f"dbpm weighed no pair: training ended after {self.epochs} epoch(s), within its warm-up of "
                f"{self.warmup_epochs} (objective.warmup {self.warmup:g} of the planned epochs)"
            ]
        return []

    @property
    def epoch_log(self) -> list[dict[str, float]]:
        """Per epoch: the step that ended it, its number, the series flagged noisy and faulty, their mean weight."""
        return [dict(zip(LOG_COLUMNS, map(float, row), strict=True)) for row in self._log]

    # -- state -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "inner": self.inner.state_dict(), "epoch_sum": self.epoch_sum, "epoch_count": self.epoch_count,
            "weighted_sum": self.weighted_sum, "weight_total": self.weight_total, "weights": self.weights,
            "epochs": self.epochs, "steps": self.steps, "log": torch.tensor(self._log, dtype=torch.float64),
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict(state["inner"])
        for name in ("epoch_sum", "epoch_count", "weighted_sum", "weight_total", "weights"):
            setattr(self, name, state[name].double().clone())
        self.epochs, self.steps = int(state["epochs"]), int(state["steps"])
        self._log = [tuple(row) for row in state["log"].tolist()]


LOG_COLUMNS = ("step", "epoch", "noisy", "faulty", "flagged_weight")


def _zeros(size: int) -> Tensor:
    return torch.zeros(size, dtype=torch.float64)


def _extend(values: Tensor, extra: int) -> Tensor:
    return torch.cat([values, _zeros(extra)])


def _check_wrappable(inner: str, inner_options: dict[str, Any], setup: Setup) -> None:
    """One-line errors before training when the wrapped objective cannot give one loss per series."""
    if setup.world_size > 1:
        raise ConfigError(
            f"objective dbpm must run in one process but got {setup.world_size}",
            hint="its per-series loss history is not shared between processes; drop torchrun",
        )
    if setup.loss is None:
        raise ConfigError(
            f"objective.inner must be an objective built on a [loss] but {inner} has a loss of its own",
            hint="e.g. objective.inner=augment (InfoNCE) or ts2vec with --loss infonce",
        )
    if not callable(getattr(setup.loss, "per_sample", None)):
        raise ConfigError(
            f"loss must give per-series losses (per_sample) for dbpm but {loss_name(setup.loss)} does not",
            hint="use --loss infonce",
        )
    if inner_options.get("window"):
        raise ConfigError(
            f"objective.inner_options.window must be 0 for dbpm (one row per series) but got {inner_options['window']}",
            hint="drop objective.inner_options.window",
        )
