"""Evaluating a run: the dataset's task runs its protocol on the frozen encoder, then reports are written.

Every report holds the pretrained encoder beside two baselines fitted with the same head and protocol: a
randomly initialised encoder of the same architecture (same seed) and the raw inputs. ``baselines=False``
skips them (they cost twice the encoder's own protocol, which matters on large sets): the report keeps those of
the evaluation it replaces when that one measured them with the same protocol, data and seeds (they do not
depend on the pretrained weights; ``provenance["baselines_evaluated"]`` says when), else has none. Published
numbers are added as a "paper" entry where the objective's paper has them.
What is measured, drawn and compared is the task's (:mod:`tscl.tasks`); this module only sequences it.

Where results go (:mod:`tscl.runs.metrics`): the run's own dataset, by the protocol it was first evaluated
with, in ``metrics.json``; any other dataset or protocol in ``evaluations/<dataset>-<protocol>/``. Each
evaluation records what it was computed from (:mod:`tscl.runs.provenance`). A run that is still training is
evaluated at its latest checkpoint, whose step the provenance (``run_status: running``) records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tscl.config import RunConfig
from tscl.data.splits import split_warnings
from tscl.errors import CheckpointError, ConfigError
from tscl.forecasting_protocols import DEFAULT_PROTOCOL, ForecastingSetting
from tscl.paths import PathArg, as_data_dir, as_path, dataset_arg
from tscl.runs.files import read_json_or_none
from tscl.runs.inference import load_run_checkpoint, load_run_dataset_files
from tscl.runs.interrupt import Interrupted, stop_on_signals
from tscl.runs.layout import EVALUATIONS, META, METRICS, PLOTS, check_run_dir, is_run_dir
from tscl.runs.meta import read_meta, write_meta
from tscl.runs.metrics import evaluation_key, protocol_of, read_metrics, write_metrics
from tscl.runs.pretraining import build_model
from tscl.runs.provenance import dataset_fingerprint, evaluation_provenance
from tscl.runs.state import is_live, run_state, stale_reason
from tscl.seeds import check_eval_seed
from tscl.tasks import TASKS, check_settings_given, check_task_options, named_by_flags, task_for
from tscl.tasks.base import PhaseTimings, Task
from tscl.text import shell
from tscl.training.threads import ThreadChoice, thread_scope


def evaluate_run(
    run_dir: PathArg,
    dataset: PathArg | None = None,
    data_dir: PathArg | None = None,
    task: str | None = None,
    head: str | None = None,
    seed: int = 0,
    device: str = "auto",
    plots: bool = True,
    baselines: bool = True,
    threads: int | None = None,
    forecasting: ForecastingSetting | None = None,
    on_phase: Callable[[str], None] | None = None,
    split_by: str | None = None,
    task_settings: dict[str, Any] | None = None,
    task_options: dict[str, Any] | None = None,
    flags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Evaluate the averaged encoder of ``run_dir`` and write its metrics (``metrics.json``/``.csv``, plots).

    Args:
        run_dir: A run directory made by ``tscl pretrain``.
        dataset: Another dataset with the same channels, by name or path (default: the run's own).
        data_dir: Where to look for it.
        task: The task expected (default: the dataset's); a ConfigError when it is not the dataset's.
        head: Classifier head of tasks that fit one (see :mod:`tscl.tasks.heads`; None: the task's default);
            other tasks leave it out unless ``flags`` names it.
        seed: Seed of the head's random choices, 0 to 2**32 - 1 (a ConfigError otherwise).
        device: Device of the encoders.
        plots: Write the task's PNG plots beside the metrics.
        baselines: Also evaluate the random-init and raw-input baselines (the encoder's numbers are the same
            either way).
        threads: Torch threads (default: the cores other processes leave free, see
            :mod:`tscl.training.threads`; torch's count is restored afterwards).
        forecasting: Forecasting protocol, horizons, split and feature mode (default: the TS2Vec protocol, the
            run's variables); a ConfigError for a dataset another task evaluates.
        on_phase: Called with each phase's name as it begins: ``load_s``, ``encode_s``, ``head_s``,
            ``baseline_s`` (the names of ``metrics["timings"]``), then ``write_s``.
        split_by: Grouped data: evaluate on another kind of split than the run's stored one (``random``:
            windows of one subject in every part; stored beside, with a warning in ``metrics["warnings"]``).
        task_settings: Further evaluation settings (e.g. ``label_fractions``, ``seeds``); a task that declares
            them and evaluates the dataset's kind takes over (see :func:`tscl.tasks.task_for`).
        task_options: Options of the task (over ``task_settings``); each must be one the task chosen by the
            dataset and the settings declares (``finetune_lr`` with ``label_fractions``): a ConfigError listing
            its options otherwise. Options never choose the task.
        flags: The settings given explicitly, each with the flag that gave it (``{"head": "--head",
            "label_fractions": "--label-fraction"}``): one the chosen task does not declare is a ConfigError
            naming the flag and the task, not left out.

    Returns:
        The metrics written, with their ``provenance`` (whose ``file`` says where, relative to ``run_dir``).
    """
    check_eval_seed(seed, "seed")
    with thread_scope(threads) as chosen:
        return _evaluate(
            as_path(run_dir), dataset_arg(dataset), as_data_dir(data_dir), task, head, seed, device, plots,
            baselines, chosen, forecasting, on_phase, split_by, task_settings or {}, task_options or {}, flags or {},
        )  # fmt: skip


def _evaluate(
    run_dir: Path,
    dataset: str | None,
    data_dir: Path | None,
    task: str | None,
    head: str | None,
    seed: int,
    device: str,
    plots: bool,
    baselines: bool,
    threads: ThreadChoice,
    forecasting: ForecastingSetting | None,
    on_phase: Callable[[str], None] | None,
    split_by: str | None,
    task_settings: dict[str, Any],
    task_options: dict[str, Any],
    flags: Mapping[str, str],
) -> dict[str, Any]:
    timings = PhaseTimings(on_phase)
    timings.begin("load_s")
    began = time.perf_counter()
    check_run_dir(run_dir)
    meta = read_meta(run_dir)  # a damaged meta.json fails before anything is written
    status = run_state(run_dir, meta)
    model, config, digest = load_run_checkpoint(run_dir, device)
    model.threads = threads.threads
    data, files = load_run_dataset_files(
        config, dataset, data_dir, forecasting=forecasting, run_dir=run_dir, split_by=split_by
    )
    settings = forecasting.to_dict() if forecasting is not None else {}
    check_settings_apply(data.task, settings)
    chosen = {"head": head, **settings, **task_settings}
    named = {**flags, **{key: f"--set {key}" for key in task_options}}  # how the user gave each setting
    evaluation = _task(data, chosen, named)  # the settings choose the task, its options do not
    check_settings_given(evaluation, flags, data.name)
    check_task_options(evaluation, task_options)
    if task_options:
        evaluation = _task(data, {**chosen, **task_options}, named)
    own_dataset = _is_own_dataset(dataset, config)
    evaluation.check_data(data, config, own_dataset)
    evaluation.check_channels(data, model.input_dims, config.dataset)
    timings["load_s"] = time.perf_counter() - began
    if task is not None and task != evaluation.name:
        raise ConfigError(f"task must match the dataset's ({evaluation.name}) but got {task!r}", hint="drop --task")
    # The baseline: the pretrained model's architecture (its resolved configuration), weights as initialised.
    random_model = build_model(model.config.replace(device=device), model.input_dims or 1) if baselines else None
    if random_model is not None:
        random_model.threads = threads.threads
    objective = str(config.objective.name)
    metrics, extras = evaluation.evaluate(
        model, data, baseline=random_model, objective=objective, seed=seed, timings=timings
    )
    split = split_summary(data)
    resplit = split is not None and split_by is not None and split_by != (config.split_by or "subject")
    own = own_dataset and protocol_of(read_metrics(run_dir)) in (None, evaluation.protocol()) and not resplit
    key_name = f"{data.name}-split-{split_by}" if resplit else data.name
    folder = run_dir if own else run_dir / EVALUATIONS / evaluation_key(key_name, evaluation.protocol())
    checkpoint = {"step": model.progress.step, "sha256": digest}
    provenance = evaluation_provenance(
        checkpoint, dataset_fingerprint(data, files), evaluation, seed, config.seed, status
    )
    if random_model is None:
        _keep_baselines(evaluation, metrics, read_metrics(folder), provenance)
    if split is not None:
        metrics["group_split"] = split
        warnings = split_warnings(split)
        if warnings:
            metrics["warnings"] = warnings
    if meta and meta.get("objective_log"):  # the objective's per-epoch records, shown under the report
        metrics["objective_log"] = meta["objective_log"]
    metrics.update(
        dataset=data.name, objective=objective, run_dir=str(run_dir),
        timings={k: round(v, 3) for k, v in timings.items()}, threads=threads.threads,
        provenance={**provenance, "file": str((folder / METRICS).relative_to(run_dir))},
    )  # fmt: skip
    timings.begin("write_s")
    if plots:  # first: Ctrl-C while drawing (seconds) leaves the stored metrics as they were
        evaluation.plots(folder / PLOTS, metrics, extras, data)
    with stop_on_signals() as received:  # the metrics files and meta.json are written together or not at all
        write_metrics(folder, metrics, evaluation.metric_rows(metrics))
        if own:
            _record_timings(run_dir, metrics["timings"])
    if received["signal"] is not None:
        raise Interrupted(f"{received['signal']} received while the evaluation was being written: it was written "
                          f"in full ({folder / METRICS})")  # fmt: skip
    return metrics


def _task(data: Any, settings: dict[str, Any], flags: Mapping[str, str]) -> Task:
    """The task evaluating ``data`` with ``settings``; a refused value is named with the flag it came from."""
    try:
        return task_for(data, **settings)
    except ConfigError as exc:
        raise named_by_flags(exc, flags) from None


def check_settings_apply(task: str, settings: dict[str, Any]) -> None:
    """Refuse settings given for another task than the dataset's (e.g. ``--horizons`` for classification).

    Raises:
        ConfigError: naming the first such setting.
    """
    declared = TASKS.entry(task).options.model_fields
    given = [key for key, value in settings.items() if value is not None and key not in declared]
    given = [key for key in given if not (key == "protocol" and settings[key] == DEFAULT_PROTOCOL)]
    if given:
        raise ConfigError(
            f"{given[0]} (--{given[0]}) must be given only for datasets it applies to but the dataset is evaluated "
            f"by {task}",
            f"drop --{given[0]}",
        )


# What the baselines' numbers depend on: the same in an earlier evaluation, its baselines are still valid.
BASELINE_INPUTS = ("dataset", "task", "protocol", "settings", "seed", "run_seed")


def _keep_baselines(evaluation: Task, metrics: dict[str, Any], stored: dict[str, Any] | None,
                    provenance: dict[str, Any]) -> None:  # fmt: skip
    """Keep the baselines of the evaluation stored where ``metrics`` go, when measured from the same inputs."""
    earlier = (stored or {}).get("provenance") or {}
    if stored is None or any(earlier.get(key) != provenance[key] for key in BASELINE_INPUTS):
        return
    if evaluation.keep_baselines(metrics, stored):
        provenance["baselines_evaluated"] = earlier.get("baselines_evaluated", earlier.get("evaluated"))


def split_summary(data: Any) -> dict[str, Any] | None:
    """How grouped data was split (kind, seed, groups per part), or None for data without groups."""
    record = getattr(data, "split", None)
    if not record:
        return None
    from tscl.data.splits import PARTS

    return {"split_by": record["split_by"], "seed": record["seed"],
            "groups": {part: len(record.get(part, [])) for part in PARTS}}  # fmt: skip


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
            raise CheckpointError(
                f"metrics {path / METRICS} is corrupted (not a JSON object)",
                hint=f"write it again: tscl evaluate {shell(owning_run(path))}",
            )
        raise CheckpointError(
            f"{path} has no {METRICS} yet", hint=f"run `tscl evaluate {shell(owning_run(path))}` first"
        )
    return metrics


def stored_stale_reason(path: Path, metrics: dict[str, Any]) -> str | None:
    """Why the metrics stored in ``path`` no longer describe the run's latest checkpoint (None: they do)."""
    run_dir = owning_run(path)
    return stale_reason(run_dir, metrics, read_json_or_none(run_dir / META), path / METRICS)
