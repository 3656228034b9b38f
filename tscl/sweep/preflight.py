"""Checks of a grid's evaluation settings against the data, before any trial starts.

Settings that depend on the data (a forecasting protocol, horizons, split or feature mode) can only be judged
once the dataset is read: a horizon too long for a short series would otherwise fail every trial after its
pretraining. The data itself is checked the same way, with or without settings: a classification set without
labels or test series cannot be evaluated, and would fail every trial after its pretraining. Each (dataset,
data options, setting) is loaded and checked once.
"""

from __future__ import annotations

from collections.abc import Iterable

from tscl.errors import ConfigError, DataError, TsclError
from tscl.sweep.grid import Trial


def check_evaluation_settings(
    trials: Iterable[Trial], grid_name: str, checked: set[tuple[object, ...]] | None = None
) -> set[tuple[object, ...]]:
    """Raise, naming the grid entry, when a trial's dataset cannot be evaluated with its evaluation settings.

    Datasets that cannot be found are left for later (call again once they are fetched, with the returned
    set as ``checked``; their trials fail with the data error if they never are).

    Returns:
        What was checked, to skip it in a later call.

    Raises:
        ConfigError: A setting given for a dataset another task evaluates, or one the data cannot serve.
    """
    from pathlib import Path

    from tscl.data.locate import locate, locate_path, looks_like_path
    from tscl.runs.evaluation import check_settings_apply
    from tscl.runs.inference import load_run_dataset_files
    from tscl.tasks import task_for

    seen: set[tuple[object, ...]] = set(checked or ())
    for trial in trials:
        setting = trial.evaluate.forecasting()
        config = trial.config
        key = (trial.dataset, config.data_dir, config.univariate, config.target, config.time_col, setting)
        if key in seen:
            continue
        where = (
            f"{grid_name}: setting {trial.setting!r} on {trial.dataset}" if setting else f"{grid_name}: {trial.dataset}"
        )
        try:
            path = trial.dataset
            _ = locate_path(Path(path)) if looks_like_path(path) else locate(path, config.data_dir)
        except DataError:
            continue
        seen.add(key)
        try:
            data, _files = load_run_dataset_files(config, forecasting=setting)
            options = setting.to_dict() if setting is not None else {}
            check_settings_apply(data.task, options)
            task_for(data, **options).check_data(data, config, True)
        except TsclError as exc:
            raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
    return seen
