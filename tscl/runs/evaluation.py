"""Evaluating a run: the dataset's task runs its protocol on the frozen encoder, then reports are written.

Every report holds the pretrained encoder beside two baselines fitted with the same head and protocol: a
randomly initialised encoder of the same architecture (same seed) and the raw inputs. ``baselines=False``
skips them (they cost twice the encoder's own protocol, which matters on large sets) and records
``"baselines": {}``. Published numbers are added as a "paper" entry where the objective's paper has them.
What is measured, drawn and compared is the task's (:mod:`tscl.tasks`); this module only sequences it.

Where results go (:mod:`tscl.runs.metrics`): the run's own dataset, by the protocol it was first evaluated
with, in ``metrics.json``; any other dataset or protocol in ``evaluations/<dataset>-<protocol>/``. Each
evaluation records what it was computed from (:mod:`tscl.runs.provenance`). A run that is still training is
evaluated at its latest checkpoint, whose step the provenance (``run_status: running``) records.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tscl.config import RunConfig
from tscl.errors import CheckpointError, ConfigError
from tscl.runs.files import read_json_or_none
from tscl.runs.inference import load_run_checkpoint, load_run_dataset_files
from tscl.runs.layout import EVALUATIONS, META, METRICS, PLOTS, check_run_dir, is_run_dir
from tscl.runs.meta import read_meta, write_meta
from tscl.runs.metrics import evaluation_key, protocol_of, read_metrics, write_metrics
from tscl.runs.pretraining import build_model
from tscl.runs.provenance import dataset_fingerprint, evaluation_provenance
from tscl.runs.state import is_live, run_state, stale_reason
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
    """Evaluate the averaged encoder of ``run_dir`` and write its metrics (``metrics.json``/``.csv``, plots).

    Args:
        run_dir: A run directory made by ``tscl pretrain``.
        dataset: Another dataset with the same channels (default: the run's own).
        data_dir: Where to look for it.
        task: The task expected (default: the dataset's); a ConfigError when it is not the dataset's.
        head: Classifier head of tasks that fit one (see :mod:`tscl.tasks.heads`).
        seed: Seed of the head's random choices.
        device: Device of the encoders.
        plots: Write the task's PNG plots beside the metrics.
        baselines: Also evaluate the random-init and raw-input baselines (the encoder's numbers are the same
            either way).
        threads: Torch threads (default: torch's own choice).

    Returns:
        The metrics written, with their ``provenance`` (whose ``file`` says where, relative to ``run_dir``).
    """
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads must be a positive integer but got {threads}", hint="pass --threads N, N >= 1")
        import torch

        torch.set_num_threads(threads)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    check_run_dir(run_dir)
    meta = read_meta(run_dir)  # a damaged meta.json fails before anything is written
    status = run_state(run_dir, meta)
    model, config, digest = load_run_checkpoint(run_dir, device)
    data, files = load_run_dataset_files(config, dataset, data_dir)
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
    own = _is_own_dataset(dataset, config) and protocol_of(read_metrics(run_dir)) in (None, evaluation.protocol())
    folder = run_dir if own else run_dir / EVALUATIONS / evaluation_key(data.name, evaluation.protocol())
    checkpoint = {"step": model.progress.step, "sha256": digest}
    provenance = evaluation_provenance(
        checkpoint, dataset_fingerprint(data, files), evaluation, seed, config.seed, status
    )
    if meta and meta.get("objective_log"):  # the objective's per-epoch records, shown under the report
        metrics["objective_log"] = meta["objective_log"]
    metrics.update(
        dataset=data.name, objective=objective, run_dir=str(run_dir),
        timings={k: round(v, 3) for k, v in timings.items()},
        provenance={**provenance, "file": str((folder / METRICS).relative_to(run_dir))},
    )  # fmt: skip
    write_metrics(folder, metrics, evaluation.metric_rows(metrics))
    if plots:
        evaluation.plots(folder / PLOTS, metrics, extras, data)
    if own:
        _record_timings(run_dir, metrics["timings"])
    return metrics


def _is_own_dataset(dataset: str | None, config: RunConfig) -> bool:
    """Whether ``dataset`` (None: the run's own) names the dataset the run was pretrained on."""
    if dataset is None or dataset == config.dataset:
        return True
    from tscl.data.locate import looks_like_path

    if looks_like_path(dataset) and looks_like_path(config.dataset):
        return Path(dataset).expanduser().resolve() == Path(config.dataset).expanduser().resolve()
    return False


def _record_timings(run_dir: Path, timings: dict[str, float]) -> None:
    """The evaluation's timings into ``meta.json`` - unless the run is training (its process owns the file)."""
    if is_live(run_dir):
        return
    meta = read_meta(run_dir)
    if meta is not None:
        meta.setdefault("timings", {})["evaluate"] = timings
        write_meta(run_dir, meta)


def owning_run(path: Path) -> Path:
    """The run directory of ``path``: itself, or the run an evaluation folder (``RUN/evaluations/KEY``) is in."""
    return path.parent.parent if path.parent.name == EVALUATIONS and is_run_dir(path.parent.parent) else path


def stored_metrics(path: Path) -> dict[str, Any]:
    """The metrics ``evaluate_run`` stored in a run directory, or in the folder of an evaluation stored beside
    the run's own (``RUN/evaluations/KEY``); a clear error before any evaluation."""
    check_run_dir(owning_run(path))
    metrics = read_metrics(path)
    if metrics is None:
        if (path / METRICS).exists():
            raise CheckpointError(f"metrics {path / METRICS} is corrupted (not a JSON object)")
        raise CheckpointError(f"{path} has no {METRICS} yet", hint=f"run `tscl evaluate {owning_run(path)}` first")
    return metrics


def stored_stale_reason(path: Path, metrics: dict[str, Any]) -> str | None:
    """Why the metrics stored in ``path`` no longer describe the run's latest checkpoint (None: they do)."""
    run_dir = owning_run(path)
    return stale_reason(run_dir, metrics, read_json_or_none(run_dir / META), path / METRICS)
