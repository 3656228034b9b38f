"""The by-name loader :func:`load_dataset`: locate the files, read them, apply the dataset kind's protocol."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tscl.data import protocols
from tscl.data.csv_reader import TimeTable, read_forecast_csv
from tscl.data.dataset import ClassificationData, ForecastingData
from tscl.data.grouped import Grouping
from tscl.data.locate import Located, locate, locate_path, looks_like_path
from tscl.data.manifest import check_files
from tscl.data.readers import LabeledSeries, encode_labels, read_npy, read_npz, read_ucr_tsv
from tscl.data.ts_readers import read_arff, read_ts
from tscl.errors import ConfigError, DataError
from tscl.forecasting_protocols import ForecastingSetting
from tscl.paths import PathArg, as_data_dir, as_path
from tscl.text import plural

_READERS = {".tsv": read_ucr_tsv, ".ts": read_ts, ".arff": read_arff}


def load_dataset(
    name_or_path: PathArg,
    data_dir: PathArg | None = None,
    *,
    univariate: bool = False,
    time_col: str | None = None,
    target: str | None = None,
    forecasting: ForecastingSetting | None = None,
    grouping: Grouping | None = None,
) -> ClassificationData | ForecastingData:
    """Load a dataset by catalog name, by a name found in a data directory, or from a file path.

    Args:
        name_or_path: ``ETTh1``, ``GunPoint``, ``BasicMotions``, ... or a ``.csv`` (forecasting),
            ``.tsv``/``.ts``/``.arff`` (classification; the ``_TEST`` partner of a ``_TRAIN`` file is used),
            ``.npy``/``.npz`` (classification when labels are present, else unlabelled) file.
        data_dir: first root to search (then ``$TSCL_DATA_DIR``, ``./datasets``, the cache).
        univariate: forecasting: keep only the target column.
        time_col: forecasting CSV time column (default ``date`` or the first column of dates).
        target: forecasting univariate target column (default ``OT``/``MT_001``/the last column).
        forecasting: forecasting protocol, split, horizons and feature mode (default: TS2Vec's protocol;
            feature mode ``S`` when ``univariate`` else ``M``).
        grouping: grouped data (an ``.npz`` of recordings, a long CSV with a subject column, or any file with a
            ``.groups.csv`` sidecar): windows and split (see :mod:`tscl.data.grouped`).

    Raises:
        DataError: unknown name, missing or malformed files (message names file and line/case, plus a hint).
    """
    if not isinstance(name_or_path, str):  # a path-like is a file, whatever its name looks like
        name_or_path = as_path(name_or_path)
    if looks_like_path(name_or_path):
        located = locate_path(Path(name_or_path))
    else:
        located = locate(str(name_or_path), as_data_dir(data_dir))
    return load_located(
        located, univariate=univariate, time_col=time_col, target=target, forecasting=forecasting, grouping=grouping
    )


def load_located(
    located: Located,
    *,
    univariate: bool = False,
    time_col: str | None = None,
    target: str | None = None,
    forecasting: ForecastingSetting | None = None,
    grouping: Grouping | None = None,
) -> ClassificationData | ForecastingData:
    """Read and preprocess the files of a located dataset with the loader of its kind.

    Files that ``tscl data fetch`` recorded in their root's manifest are checked against their sha256 first.
    """
    if located.root is not None:
        check_files(located.root, located.paths)
    from tscl.data.grouped_load import load_if_grouped

    grouped = load_if_grouped(located, grouping or Grouping())
    if grouped is not None:
        return grouped
    return _LOADERS[located.task](
        located, univariate=univariate, time_col=time_col, target=target, forecasting=forecasting
    )


def check_forecasting_settings(
    data: ClassificationData | ForecastingData, univariate: bool, time_col: str | None, target: str | None
) -> None:
    """Refuse the forecasting settings (target column only, time column, target column) for data of another
    task, which would ignore them."""
    given = [flag for flag, value in (("univariate (--univariate)", univariate), ("time_col (--time-col)", time_col),
                                      ("target (--target)", target))
             if value]  # fmt: skip
    if isinstance(data, ForecastingData) or not given:
        return
    from tscl.data.catalog import list_entries

    names = ", ".join(entry.name for entry in list_entries(task=ForecastingData.task))
    raise ConfigError(
        f"{' and '.join(given)} must be given forecasting data but {data.name} is {data.task} data",
        hint=f"drop {' and '.join(given)}; forecasting data are {names}, or a CSV of your own",
    )


def read_pair(located: Located) -> tuple[LabeledSeries, LabeledSeries | None]:
    """Read the train and test parts of a classification dataset."""
    first = located.paths[0]
    suffix = first.suffix.lower()
    if suffix == ".npy":
        return read_npy(first), None
    if suffix == ".npz":
        return read_npz(first)
    reader = _READERS[suffix]
    return reader(first), reader(located.paths[1])


def load_classification(
    located: Located,
    *,
    univariate: bool = False,
    time_col: str | None = None,
    target: str | None = None,
    forecasting: ForecastingSetting | None = None,
) -> ClassificationData:
    """Read, check, label-encode and normalise a classification dataset.

    ``univariate``, ``time_col``, ``target`` and ``forecasting`` are forecasting settings: every channel of a
    classification dataset is kept and it has no time column, so they are accepted (one loader signature)
    and unused.
    """
    del univariate, time_col, target, forecasting
    train, test = read_pair(located)
    train_path, test_path = located.paths[0], located.paths[-1]
    X_train, X_test = _common_length(train.X, test.X if test is not None else None, train_path, test_path)
    for X, path in ((X_train, train_path), (X_test, test_path)):
        if X.size and _all_missing(X):
            raise DataError(
                f"{path} must hold at least one value but every value is missing (NaN)",
                "check the file; only some values may be missing",
            )
    y_train = y_test = None
    class_names: list[str] = []
    if train.labels is not None:
        test_labels = test.labels if test is not None else None
        if test is not None and test_labels is None:
            raise DataError(f"{test_path} must be labelled like {train_path} but has no labels", "add the labels")
        y_train, y_test, class_names = encode_labels(train.labels, test_labels, train_path, test_path)
        if len(class_names) < 2:
            raise DataError(
                f"{train_path} must hold at least 2 classes but got 1 ({class_names[0]!r})",
                "classification needs several classes; for pre-training only, drop the labels",
            )
        if y_test is None:
            y_test = np.zeros(0, dtype=np.int64)
    X_train, X_test = _normalise(located, X_train, X_test)
    return ClassificationData(located.name, X_train, y_train, X_test, y_test, class_names, located.source)


def _all_missing(X: np.ndarray) -> bool:
    """Whether every value is NaN, looking at a block of cases at a time (no full-size mask)."""
    step = max(1, (1 << 20) // max(1, X[0].size))
    return all(np.isnan(X[start : start + step]).all() for start in range(0, len(X), step))


def _common_length(
    X_train: np.ndarray, X_test: np.ndarray | None, train_path: Path, test_path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Pad train and test to one length (trailing NaN) and check their channel counts agree."""
    if X_test is None:
        return X_train, np.zeros((0, X_train.shape[1], X_train.shape[2]), dtype=np.float32)
    if X_train.shape[2] != X_test.shape[2]:
        raise DataError(
            f"{test_path} must have {plural(X_train.shape[2], 'channel')} like {train_path.name} "
            f"but got {X_test.shape[2]}",
            "check that the files belong to the same dataset",
        )
    length = max(X_train.shape[1], X_test.shape[1])
    return _pad_to(X_train, length), _pad_to(X_test, length)


def _pad_to(X: np.ndarray, length: int) -> np.ndarray:
    if X.shape[1] == length:
        return X
    out = np.full((X.shape[0], length, X.shape[2]), np.nan, dtype=np.float32)
    out[:, : X.shape[1]] = X
    return out


def _normalise(located: Located, X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UCR rule for UCR sets (and unknown univariate ones), UEA per-channel scaler otherwise."""
    collection = located.collection
    if collection is None:
        collection = "UCR" if X_train.shape[2] == 1 else "UEA"
    if collection == "UCR":
        return protocols.normalise_ucr(located.name, X_train, X_test)
    return protocols.normalise_uea(X_train, X_test)


def load_forecasting(
    located: Located,
    *,
    univariate: bool,
    time_col: str | None,
    target: str | None,
    forecasting: ForecastingSetting | None = None,
) -> ForecastingData:
    """Read a forecasting CSV and apply its protocol (covariates, splits, train-fit scalers, feature mode).

    A feature mode in ``forecasting`` decides ``univariate`` (``S``: True; ``M``, ``MS``: False).
    """
    setting = forecasting or ForecastingSetting()
    if setting.features is not None:
        univariate = setting.features == "S"
    # a catalog benchmark is read as published, repeated times included (see read_forecast_csv)
    table = read_forecast_csv(located.paths[0], time_col, allow_repeated_times=located.collection is not None)
    resolved = setting.resolve(located.name, len(table.timestamps), univariate)
    train, valid, test = resolved.splits
    names, values = _select_targets(located, table, univariate, target)
    scaler = protocols.Standardizer.fit(values[train], [f"column {n!r}" for n in names])
    targets = scaler.transform(values)
    raw_covariates = protocols.calendar_covariates(table.timestamps)
    covariates = protocols.Standardizer.fit(raw_covariates[train]).transform(raw_covariates)
    as_instances = protocols.variables_as_instances(located.name, univariate)
    if as_instances:
        series = targets.T[:, :, None]  # [V, T, 1]: each variable is an instance, as the reference does
    else:
        series = targets[None]
    covariates = np.repeat(covariates[None], series.shape[0], axis=0)
    target_channels = None
    target_mean, target_std = scaler.mean, scaler.std
    if resolved.features == "MS":
        if as_instances:
            raise ConfigError(
                f"features MS (--features MS) needs the variables of {located.name} as channels but they are separate "
                "instances under its protocol",
                "use --features M",
            )
        index = names.index(target or protocols.default_target(located.name, table.columns))
        target_channels = (covariates.shape[-1] + index,)
        names, target_mean, target_std = [names[index]], scaler.mean[[index]], scaler.std[[index]]
    return ForecastingData(
        name=located.name,
        data=np.concatenate([covariates, series], axis=-1).astype(np.float32),
        n_covariates=covariates.shape[-1],
        train_slice=train,
        valid_slice=valid,
        test_slice=test,
        horizons=resolved.horizons,
        target_names=names,
        target_mean=target_mean,
        target_std=target_std,
        timestamps=table.timestamps,
        univariate=univariate,
        source=located.source,
        variables=len(table.columns),
        protocol=resolved.protocol,
        split_label=resolved.split_label,
        features=resolved.features,
        target_channels=target_channels,
    )


def _select_targets(
    located: Located, table: TimeTable, univariate: bool, target: str | None
) -> tuple[list[str], np.ndarray]:
    """Target names and raw values: the one target column when univariate, else every numeric column."""
    if target is not None and target not in table.columns:
        raise DataError(
            f"target must be a numeric column of {located.paths[0]} but got {target!r}",
            f"columns: {', '.join(table.columns[:20])}",
        )
    if not univariate:
        return list(table.columns), table.values
    name = target or protocols.default_target(located.name, table.columns)
    return [name], table.values[:, [table.columns.index(name)]]


# Dataset kind (``Located.task``) -> its loader.
_LOADERS: dict[str, Callable[..., ClassificationData | ForecastingData]] = {
    ForecastingData.task: load_forecasting,
    ClassificationData.task: load_classification,
}
