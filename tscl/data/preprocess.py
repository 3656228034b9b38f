"""Preprocessing steps that turn upstream forecasting files into the benchmark CSV (date column + numeric columns).

A catalog entry names its step and options in ``tables/forecasting.toml`` (``[<name>.preprocess]``); each step
is a function ``step(inputs, output, **options)`` registered here under the name the table uses. Steps only
read their inputs and write ``output``: :mod:`tscl.data.fetch` runs them in a temporary folder and moves the
result into place once it is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tscl.errors import DataError

PreprocessStep = Callable[..., None]
PREPROCESS_STEPS: dict[str, PreprocessStep] = {}


def register(name: str) -> Callable[[PreprocessStep], PreprocessStep]:
    """Register a preprocessing step under ``name``."""

    def decorate(step: PreprocessStep) -> PreprocessStep:
        PREPROCESS_STEPS[name] = step
        return step

    return decorate


def run_step(name: str, inputs: list[Path], output: Path, options: dict[str, Any]) -> None:
    """Run the registered step ``name``.

    Raises:
        DataError: no step has that name.
    """
    if name not in PREPROCESS_STEPS:
        raise DataError(
            f"preprocessing step must be one of {', '.join(sorted(PREPROCESS_STEPS))} but got {name!r}",
            "fix the [<name>.preprocess] table of tscl/data/tables/forecasting.toml",
        )
    PREPROCESS_STEPS[name](inputs, output, **options)


@register("resample_sum")
def resample_sum(
    inputs: list[Path], output: Path, *, sep: str, decimal: str, every: str, active_by_row: int, start: str
) -> None:
    """Sum a table of sub-period readings into ``every`` periods, as TS2Vec builds electricity.csv.

    The first column holds timestamps. Periods are closed on the right (the 00:15 ... 01:00 readings make the
    00:00 hour), only the columns with a non-zero running total by row ``active_by_row`` are kept (the
    reference's way of dropping clients that had not started yet), and rows from ``start`` on.
    """
    import pandas as pd  # imported where used: 0.2 s that only CSV data need

    frame = pd.read_csv(inputs[0], sep=sep, decimal=decimal, index_col=0, parse_dates=True)
    sums = frame.resample(every, closed="right").sum()
    active = sums.cumsum(axis=0).iloc[active_by_row] != 0
    sums = sums.loc[:, active]
    sums.index = sums.index.rename("date")
    sums.loc[start:].to_csv(output)


@register("add_time_index")
def add_time_index(
    inputs: list[Path], output: Path, *, start: str, every: str, sep: str = ",", last_column: str = "OT"
) -> None:
    """Give a header-less matrix (one row per step) a date column and the column names ``0 .. n-2, OT``."""
    import pandas as pd

    frame = pd.read_csv(inputs[0], sep=sep, header=None)
    frame.columns = [str(i) for i in range(frame.shape[1] - 1)] + [last_column]
    frame.insert(0, "date", pd.date_range(start, periods=len(frame), freq=every))
    frame.to_csv(output, index=False)


@register("join_tables")
def join_tables(
    inputs: list[Path], output: Path, *, encoding: str, time_column: str, dayfirst: bool, last_column: str
) -> None:
    """Concatenate tables with the same columns (in download order); the time column becomes ``date``
    (ISO format) and the last column is renamed ``last_column``."""
    import pandas as pd

    frame = pd.concat([pd.read_csv(path, encoding=encoding) for path in inputs], ignore_index=True)
    times = pd.to_datetime(frame.pop(time_column), dayfirst=dayfirst)
    frame.columns = [*frame.columns[:-1], last_column]
    frame.insert(0, "date", times)
    frame.to_csv(output, index=False)
