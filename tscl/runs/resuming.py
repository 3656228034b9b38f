"""The rules of ``--resume``: what may change when a run is continued, and when there is nothing to do.

A resumed run continues exactly where its checkpoint stopped, so only what does not change its result may
differ from the run's configuration: where it runs (``device``, ``threads``), where its data is
(``data_dir``), how often it saves (``checkpoint_every``) and how far it goes (a new ``iters`` or ``epochs``
target). Any other setting given with ``--resume`` must equal the run's own; the rest are refused together, in
one error naming them. A finished run asked for no larger target has nothing to do, and no file is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tscl.config import SECTIONS, RunConfig, config_from_mapping, merge_layers, resolve_for_task
from tscl.errors import CheckpointError, ConfigError
from tscl.runs.layout import CHECKPOINT, CONFIG
from tscl.runs.state import holder_text, is_live
from tscl.text import shell

RESUMABLE = ("iters", "epochs", "device", "threads", "data_dir", "checkpoint_every")
FINISHED = "finished"

__all__ = [
    "RESUMABLE",
    "check_not_training",
    "check_same_processes",
    "check_target_ahead",
    "extends_target",
    "resumed_config",
]


def resumed_config(stored: RunConfig, task: str, layer: Mapping[str, Any]) -> RunConfig:
    """The run's configuration with the settings of ``layer`` (a nested layer, as flags give it) applied.

    A new ``iters`` target replaces an ``epochs`` one and the other way round (unless both are given).

    Raises:
        ConfigError: ``layer`` changes a setting that is not in :data:`RESUMABLE`; every such setting is named.
    """
    before = resolve_for_task(stored, task)
    requested = config_from_mapping(merge_layers(before.to_dict(), layer), source="--resume")
    requested = resolve_for_task(requested, task)
    for target, other in (("iters", "epochs"), ("epochs", "iters")):
        if layer.get(target) is not None and layer.get(other) is None:
            requested = requested.model_copy(update={other: None})
    old, new = before.flat(), requested.flat()
    changed = [key for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)]
    renamed = {key for key in changed if key in SECTIONS}  # another component: its options are not news
    forbidden = [
        key for key in changed if key not in RESUMABLE and (key in renamed or key.partition(".")[0] not in renamed)
    ]
    if forbidden:
        shown = ", ".join(f"{key} {old.get(key)!r} -> {new.get(key)!r}" for key in forbidden)
        raise ConfigError(
            f"--resume must not change {', '.join(forbidden)} but got {shown}",
            hint=f"--resume may change only {', '.join(RESUMABLE)}; for other settings start a new run with "
            "--config RUN/config.toml",
        )
    return requested


def extends_target(meta: Mapping[str, Any] | None, layer: Mapping[str, Any]) -> bool:
    """Whether resuming has anything to do: the run is not finished, or ``layer`` sets a larger target."""
    if meta is None or meta.get("status") != FINISHED:
        return True
    iters, epochs = layer.get("iters"), layer.get("epochs")
    return (iters is not None and iters > int(meta.get("step") or 0)) or (
        epochs is not None and epochs > int(meta.get("epoch") or 0)
    )


def check_target_ahead(meta: Mapping[str, Any] | None, layer: Mapping[str, Any]) -> None:
    """Refuse a new target below what an unfinished run has already done (it would end the run at once, its
    config saying a total it never trained to).

    Raises:
        ConfigError: ``layer``'s ``iters`` or ``epochs`` is below the run's step or epoch count.
    """
    if meta is None or meta.get("status") == FINISHED:
        return
    for key, done in (("iters", int(meta.get("step") or 0)), ("epochs", int(meta.get("epoch") or 0))):
        target = layer.get(key)
        if target is not None and target < done:
            raise ConfigError(
                f"{key} (--{key}) must be at least the {done} {'iterations' if key == 'iters' else 'epochs'} this "
                f"run has already done but got {target}",
                hint=f"give --{key} {done} or more, or --resume without it to train to the run's own target",
            )


def check_same_processes(run_dir: Path, meta: Mapping[str, Any] | None, world_size: int) -> None:
    """Refuse to continue a trained run on another number of processes (torchrun ranks) than it ran on.

    Each process trains its slice of every global batch of ``batch_size * world_size`` series, and the
    checkpoint's place in the epoch counts such batches: another number of processes changes what every later
    iteration trains on, so the continuation would not be the run (a run with no checkpoint yet starts over).

    Raises:
        ConfigError: ``meta`` records another ``world_size`` (runs without the field ran on one process).
    """
    if meta is None or not (run_dir / CHECKPOINT).exists():
        return
    recorded = int(meta.get("world_size") or 1)
    if recorded != world_size:
        launch = "without torchrun" if recorded == 1 else f"under torchrun with {recorded} processes in all"
        raise ConfigError(
            f"--resume must not change the number of processes but got {recorded} -> {world_size}",
            hint=f"resume it {launch}; to train it on {world_size} start a new run with its settings: "
            f"--config {shell(run_dir / CONFIG)} --run-dir NEW",
        )


def check_not_training(run_dir: Path) -> None:
    """Raise unless no process is training ``run_dir`` (nothing is taken or written)."""
    if is_live(run_dir):
        raise CheckpointError(
            f"run {run_dir} must not be in training to be resumed but {holder_text(run_dir)} is training it",
            hint="wait for it to finish (see `tscl runs`), or stop that process first",
        )
