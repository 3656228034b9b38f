"""Evaluating a run: the dataset's task runs its protocol on the frozen encoder, then reports are written.

Every report holds the pretrained encoder beside two baselines fitted with the same head and protocol: a
randomly initialised encoder of the same architecture (same seed) and the raw inputs. ``baselines=False``
skips them (they cost twice the encoder's own protocol, which matters on large sets) and records
``"baselines": {}``. Published numbers are added as a "paper" entry where the objective's paper has them.
What is measured, drawn and compared is the task's (:mod:`tscl.tasks`); this module only sequences it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tscl.errors import CheckpointError, ConfigError
from tscl.runs.inference import load_run, load_run_dataset
from tscl.runs.layout import METRICS, PLOTS, check_run_dir
from tscl.runs.meta import read_meta, write_meta
from tscl.runs.metrics import read_metrics, write_metrics
from tscl.runs.pretraining import build_model
from tscl.tasks import task_for
from tscl.tasks.heads import DEFAULT_HEAD


def evaluate_run(
    run_dir: Path,
    dataset: str | None = None,
    data_dir: Path | None = None,
    task: str | None = None,
    head: str = DEFAULT_HEAD,
    seed: int = 0,
    device: str = "auto",
    plots: bool = True,
    baselines: bool = True,
    threads: int | None = None,
) -> dict[str, Any]:
    """Evaluate the averaged encoder of ``run_dir`` and write ``metrics.json``/``metrics.csv`` (and plots).

    Args:
        run_dir: A run directory made by ``tscl pretrain``.
        dataset: Another dataset with the same channels (default: the run's own).
        data_dir: Where to look for it.
        task: The task expected (default: the dataset's); a ConfigError when it is not the dataset's.
        head: Classifier head of tasks that fit one (see :mod:`tscl.tasks.heads`).
        seed: Seed of the head's random choices.
        device: Device of the encoders.
        plots: Write the task's PNG plots into ``run_dir/plots``.
        baselines: Also evaluate the random-init and raw-input baselines (the encoder's numbers are the same
            either way).
        threads: Torch threads (default: torch's own choice).

    Returns:
        The metrics written to ``metrics.json``.
    """
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads must be a positive integer but got {threads}", hint="pass --threads N, N >= 1")
        import torch

        torch.set_num_threads(threads)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    model, config = load_run(run_dir, device)
    meta = read_meta(run_dir)  # a damaged meta.json fails before anything is written
    data = load_run_dataset(config, dataset, data_dir)
    evaluation = task_for(data, head=head)
    evaluation.check_channels(data, model.input_dims, config.dataset)
    timings["load_s"] = time.perf_counter() - began
    if task is not None and task != evaluation.name:
        raise ConfigError(f"task must match the dataset's ({evaluation.name}) but got {task!r}", hint="drop --task")
    # The baseline: the pretrained model's architecture (its resolved configuration), weights as initialised.
    random_model = build_model(model.config.replace(device=device), model.input_dims or 1) if baselines else None
    objective = str(config.objective.name)
    metrics, extras = evaluation.evaluate(
        model, data, baseline=random_model, objective=objective, seed=seed, timings=timings
    )
    metrics.update(
        dataset=data.name, objective=objective, run_dir=str(run_dir),
        timings={k: round(v, 3) for k, v in timings.items()},
    )  # fmt: skip
    write_metrics(run_dir, metrics, evaluation.metric_rows(metrics))
    if plots:
        evaluation.plots(run_dir / PLOTS, metrics, extras, data)
    if meta is not None:
        meta.setdefault("timings", {})["evaluate"] = metrics["timings"]
        write_meta(run_dir, meta)
    return metrics


def stored_metrics(run_dir: Path) -> dict[str, Any]:
    """The metrics ``evaluate_run`` stored in ``run_dir`` (a clear error before any evaluation)."""
    check_run_dir(run_dir)
    metrics = read_metrics(run_dir)
    if metrics is None:
        if (run_dir / METRICS).exists():
            raise CheckpointError(f"metrics {run_dir / METRICS} is corrupted (not a JSON object)")
        raise CheckpointError(f"{run_dir} has no {METRICS} yet", hint=f"run `tscl evaluate {run_dir}` first")
    return metrics
