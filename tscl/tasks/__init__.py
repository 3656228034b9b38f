"""Evaluation tasks as registered objects: forecasting, classification, and any installed plug-in.

A task owns everything that depends on what a dataset is evaluated by: its protocol and baselines, its
metrics and CSV rows, its report tables and headline numbers, its plots, the published numbers it compares
with, and the dataset hooks the rest of the code needs (channels, covariates, the array ``tscl encode``
reads, held-out windows). Nothing outside a task's own modules spells its name: callers look the task up —
by a loaded dataset's ``task`` attribute (:func:`task_for`) or by the ``"task"`` entry of a stored metrics
dict (:func:`task_of`) — and ask it.

Third-party tasks are found through the ``tscl.tasks`` entry-point group (see :mod:`tscl.registry`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tscl.errors import ConfigError
from tscl.registry import Options, Registry
from tscl.tasks.base import Task

__all__ = [
    "TASKS",
    "Task",
    "check_settings_given",
    "check_task_options",
    "create_task",
    "headline_names",
    "list_tasks",
    "metric_label",
    "named_by_flags",
    "register_task",
    "summary_names",
    "task_for",
    "task_named",
    "task_of",
    "validation_names",
]

TASKS: Registry[Task] = Registry(
    "task",
    "tscl.tasks",
    {
        "forecasting": "tscl.tasks.forecasting:ForecastingTask",
        "classification": "tscl.tasks.classification:ClassificationTask",
        "label-efficiency": "tscl.tasks.label_efficiency:LabelEfficiencyTask",
    },
)


def register_task(
    name: str, factory: Callable[..., Task], options: type[Options] | None = None, *, replace: bool = False
) -> None:
    """Add a task at run time (``options``: its options class, default ``factory.Options``)."""
    TASKS.register(name, factory, options, replace=replace)


def list_tasks() -> list[str]:
    """Names of every available task (built-in, registered, installed), sorted."""
    return TASKS.names()


def create_task(name: str, **options: Any) -> Task:
    """Task ``name`` with validated ``options``; ConfigError on an unknown name (listing the valid ones)
    or a bad option (naming it)."""
    return TASKS.create(name, **options)


def task_named(name: str, **settings: Any) -> Task:
    """Task ``name`` configured with those evaluation ``settings`` its options class declares.

    Evaluation settings are shared by every task (``evaluate_run(head=...)``, a sweep's ``head``); each
    task takes the ones it has an option for and leaves the others (a head means nothing to forecasting).
    """
    declared = TASKS.entry(name).options.model_fields
    return create_task(name, **{key: value for key, value in settings.items() if key in declared})


def task_for(dataset: Any, **settings: Any) -> Task:
    """The task that evaluates a loaded dataset: its ``task`` attribute looked up in :data:`TASKS`.

    Settings the dataset's own task does not declare (``label_fractions``) select instead the task whose class
    says it ``evaluates`` that kind of dataset and whose options declare most of them. None values are "not
    given".

    Args:
        dataset: A dataset from :func:`tscl.data.load_dataset` (or anything with a ``task`` name).
        settings: Evaluation settings, as in :func:`task_named`.
    """
    settings = {key: value for key, value in settings.items() if value is not None}
    name = dataset.task
    foreign = set(settings) - set(TASKS.entry(name).options.model_fields)
    if foreign:  # the task of this kind that declares most of them (an unknown key still names the right task)
        declared = {other: len(foreign & set(TASKS.entry(other).options.model_fields)) for other in list_tasks()
                    if getattr(TASKS.entry(other).factory, "evaluates", None) == name}  # fmt: skip
        best = max(declared, key=lambda other: declared[other], default=None)
        if best is not None and declared[best]:
            return task_named(best, **settings)
    return task_named(name, **settings)


def check_task_options(task: Task, options: Mapping[str, Any]) -> None:
    """Refuse options ``task`` does not declare (settings given to it explicitly, e.g. ``evaluate --set``).

    Raises:
        ConfigError: Naming the first unknown key and listing the task's options, or, when another task of the
            same kind of data declares it, naming that task and the flag that chooses it.
    """
    declared = TASKS.entry(task.name).options.model_fields
    unknown = [key for key in options if key not in declared]
    if not unknown:
        return
    owners = [other for other in list_tasks() if getattr(TASKS.entry(other).factory, "evaluates", None) == task.name
              and unknown[0] in TASKS.entry(other).options.model_fields]  # fmt: skip
    if owners:
        owner = create_task(owners[0])
        raise ConfigError(f"--set {unknown[0]} must come with {owner.chosen_by} (an option of the {owner.name} "
                          f"task) but the {task.name} task was chosen",
                          hint=f"add {owner.chosen_by}, e.g. {owner.chosen_by_example}")  # fmt: skip
    raise ConfigError(f"--set {unknown[0]} must be an option of the {task.name} task but is not",
                      hint=f"its options: {', '.join(declared)}")  # fmt: skip


def named_by_flags(error: ConfigError, flags: Mapping[str, str]) -> ConfigError:
    """``error`` of a task's options (``task.KEY must ...``) naming ``KEY`` as the user gave it when ``flags``
    (each setting's flag) has it: ``finetune_lr (--set finetune_lr) must ...``; other errors are returned as they are.
    """
    found = re.match(rf"{re.escape(TASKS.section)}\.(\w+)(?:\.\S+)? ", error.message)
    if found is None or found.group(1) not in flags:
        return error
    key = found.group(1)
    return ConfigError(f"{key} ({flags[key]}) {error.message[found.end() :]}", hint=error.hint)


def check_settings_given(task: Task, flags: Mapping[str, str], dataset: str) -> None:
    """Refuse settings given explicitly (``flags``: each setting's command-line flag, e.g. ``{"head": "--head"}``)
    that ``task``, the one chosen to evaluate ``dataset``, does not declare: it would leave them out silently.

    Raises:
        ConfigError: Naming the first such flag and the task.
    """
    declared = TASKS.entry(task.name).options.model_fields
    foreign = [flag for key, flag in flags.items() if key not in declared]
    if foreign:
        raise ConfigError(
            f"{foreign[0]} must be given only for runs whose task it applies to but the run's dataset {dataset} "
            f"is evaluated by the {task.name} task",
            hint=f"drop {foreign[0]}",
        )


def task_of(metrics: Mapping[str, Any] | None) -> Task | None:
    """The task that wrote a metrics dict (its ``"task"`` entry), or None when it names no available task."""
    name = (metrics or {}).get("task")
    return create_task(name) if isinstance(name, str) and name in TASKS else None


def headline_names() -> list[str]:
    """The headline metric names of every task, in task-name order (the columns of summaries)."""
    names = [metric for name in list_tasks() for metric in create_task(name).headline_names]
    return list(dict.fromkeys(names))


def validation_names() -> list[str]:
    """The validation metric names of every task, in task-name order (numbers to compare settings on)."""
    names = [metric for name in list_tasks() for metric in create_task(name).validation_names]
    return list(dict.fromkeys(names))


def metric_label(name: str) -> str:
    """How lists and comparisons label metric ``name``: as the task that measures it labels it, else its name."""
    labels = [create_task(task).metric_labels.get(name) for task in list_tasks()]
    return next((label for label in labels if label), name)


def summary_names() -> list[str]:
    """The validation metric names of every task, then the headline names (the columns of listings,
    comparisons and sweep summaries: numbers to compare settings on come before test numbers)."""
    return list(dict.fromkeys(validation_names() + headline_names()))
