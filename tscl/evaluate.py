"""Evaluating a run: the dataset's task runs its protocol on the frozen encoder, then reports are written.

Every report holds the pretrained encoder beside two baselines fitted with the same head and protocol: a
randomly initialised encoder of the same architecture (same seed) and the raw inputs. ``baselines=False``
skips them (they cost twice the encoder's own protocol, which matters on large sets) and records
``"baselines": {}``. Published numbers are added as a "paper" entry where the objective's paper has them.
What is measured, drawn and compared is the task's (:mod:`tscl.tasks`); this module only sequences it.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

from tscl.errors import ConfigError
from tscl.inference import load_run, load_run_dataset
from tscl.pretraining import build_model
from tscl.rundir import read_json, write_json
from tscl.tasks import task_for
from tscl.tasks.heads import DEFAULT_HEAD
from tscl.training.checkpoint import atomic_write_text


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

    Returns:
        The metrics written to ``metrics.json``.
    """
    timings: dict[str, float] = {}
    began = time.perf_counter()
    model, config = load_run(run_dir, device)
    meta_path = run_dir / "meta.json"
    meta = read_json(meta_path, "run metadata") if meta_path.exists() else None  # fail before writing
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
    _write_metrics(run_dir, metrics, evaluation.metric_rows(metrics))
    if plots:
        evaluation.plots(run_dir / "plots", metrics, extras, data)
    if meta is not None:
        meta.setdefault("timings", {})["evaluate"] = metrics["timings"]
        write_json(meta_path, meta)
    return metrics


def _write_metrics(run_dir: Path, metrics: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    write_json(run_dir / "metrics.json", metrics)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(run_dir / "metrics.csv", buffer.getvalue())
