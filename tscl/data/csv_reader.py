"""Reader for forecasting CSV files: one time column plus numeric columns."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tscl.data.readers import first_line, out_of_range, range_problem, read_text
from tscl.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

_TIME_HINT = "pass the time column with --time-col (time_col= in Python)"


@dataclass(frozen=True)
class TimeTable:
    """The content of a forecasting CSV.

    Attributes:
        timestamps: datetime64[ns] ``[T]``.
        values: float64 ``[T, V]`` of the numeric columns (NaN for empty cells).
        columns: the ``V`` numeric column names, in file order.
        time_col: name of the time column.
    """

    timestamps: np.ndarray
    values: np.ndarray
    columns: list[str]
    time_col: str


def read_forecast_csv(path: Path, time_col: str | None = None, *, allow_repeated_times: bool = False) -> TimeTable:
    """Read a CSV with a time column and numeric columns.

    Args:
        path: the CSV file.
        time_col: name of the time column; default ``date`` if present, else the first column that parses as
            dates. Dates are parsed by ``pandas.to_datetime`` without a fixed format, so both
            ``2016-07-01 00:00:00`` and ``1990/1/1 0:00`` work.
        allow_repeated_times: accept a time written on two consecutive rows. Only for the catalog's benchmark
            files, read as published (Autoformer's weather table repeats 2020-05-12 06:00, thuml/Autoformer#173);
            in a file of one's own a repeated time is a duplicated row or a local time that repeats when clocks
            go back.

    Raises:
        DataError: empty file, no time column, unparseable dates, times out of order or repeated, non-numeric or
            all-missing columns, inf.
    """
    import pandas as pd  # imported where used: 0.2 s that only CSV data need

    text = read_text(path)
    try:
        separator = _separator(text)
        decimal = "," if separator == ";" and "," in text else "."  # 1,5;2,25 is the ;-export of 1.5,2.25
        frame = pd.read_csv(path, sep=separator, decimal=decimal)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        message = first_line(exc)
        raise DataError(
            f"{path} must be a comma-separated table but pandas said: {message}", "check the line named"
        ) from exc
    if len(frame) == 0:
        raise DataError(f"{path} must hold data rows below the header but got none", "is the file truncated?")
    frame.columns = [str(c) for c in frame.columns]
    time_name = _time_column(frame, path, time_col)
    timestamps = _parse_times(frame[time_name], path, time_name)
    _check_time_order(timestamps, path, time_name, allow_repeated_times)
    numeric = frame.drop(columns=[time_name])
    if numeric.shape[1] == 0:
        raise DataError(
            f"{path} must have at least one numeric column besides {time_name!r} but got none",
            "check the header",
        )
    values = np.stack([_numeric_column(numeric[name], path, name) for name in numeric.columns], axis=1)
    return TimeTable(timestamps, values, list(numeric.columns), time_name)


def _separator(text: str) -> str:
    """``,`` unless the header row has no comma but semicolons or tabs (spreadsheet exports in locales whose
    decimal mark is a comma write ``;``)."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    if "," not in header:
        for candidate in (";", "\t"):
            if candidate in header:
                return candidate
    return ","


def _time_column(frame: pd.DataFrame, path: Path, time_col: str | None) -> str:
    import pandas as pd

    if time_col is not None:
        if time_col not in frame.columns:
            raise DataError(
                f"time column {time_col!r} must be a column of {path} but got columns {_names(frame)}",
                _TIME_HINT,
            )
        return time_col
    for name in frame.columns:
        if name.lower() == "date":
            return name
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        if _looks_like_dates(column):
            return name
    raise DataError(
        f"{path} must have a time column ('date' or a column of dates) but got columns {_names(frame)}",
        _TIME_HINT,
    )


def _names(frame: pd.DataFrame) -> str:
    shown = ", ".join(frame.columns[:12])
    return shown + (", ..." if len(frame.columns) > 12 else "")


def _looks_like_dates(column: pd.Series) -> bool:
    sample = column.dropna().astype(str).head(50)
    if sample.empty:
        return False
    parsed = _to_datetime(sample)
    return bool(parsed.notna().all())


def _to_datetime(text: pd.Series) -> pd.Series:
    """``pd.to_datetime`` with unparseable values as NaT, without pandas' format-guessing warnings.

    Several UTC offsets in one column (daylight saving time) are converted to UTC.
    """
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format": parsed one by one instead
        try:
            return pd.to_datetime(text, errors="coerce")
        except ValueError:  # "mixed timezones": pandas wants them brought to one
            pass
        try:
            return pd.to_datetime(text, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")


def _parse_times(column: pd.Series, path: Path, name: str) -> np.ndarray:
    text = column.astype("string")
    parsed = _to_datetime(text)
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        found = str(column.iloc[row])[:40]
        raise DataError(
            f"{path} line {row + 2}, column {name!r} must be a date/time but got {found!r}",
            "fix the value, or pass the right column with --time-col",
        )
    if parsed.dt.tz is not None:  # keep wall-clock UTC times; numpy has no time zones
        parsed = parsed.dt.tz_convert(None)
    times = parsed.to_numpy().astype("datetime64[ns]")
    return times


def _check_time_order(times: np.ndarray, path: Path, name: str, allow_repeated_times: bool) -> None:
    """Refuse the first row whose time is earlier than (or, unless allowed, equal to) the row above it: splits,
    windows and calendar features assume one row per time, in order."""
    steps = np.diff(times)
    zero = np.timedelta64(0, "ns")
    bad = np.flatnonzero(steps < zero if allow_repeated_times else steps <= zero)
    if not bad.size:
        return
    row = int(bad[0]) + 1
    here, above = (np.datetime_as_string(t, unit="s").replace("T", " ") for t in times[row - 1 : row + 1][::-1])
    if steps[row - 1] < zero:
        raise DataError(
            f"{path} column {name!r} must be in time order but line {row + 2} ({here}) "
            f"comes before line {row + 1} ({above})",
            "sort the rows by time, or fix that date",
        )
    raise DataError(
        f"{path} column {name!r} must hold each time once but line {row + 2} repeats {here} of line {row + 1}",
        "remove the duplicate rows (times in local time that repeat when clocks go back: add the UTC offset)",
    )


def _numeric_column(column: pd.Series, path: Path, name: str) -> np.ndarray:
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column):
        coerced = pd.to_numeric(column, errors="coerce")
        bad = (coerced.isna() & column.notna()).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            found = str(column.iloc[row])[:40]
            raise DataError(
                f"{path} column {name!r} must be numeric but got {found!r} on line {row + 2}",
                "drop text columns from the CSV (only the time column may hold text)",
            )
        column = coerced
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(values).all():
        raise DataError(f"{path} column {name!r} must hold at least one value but all are missing", "drop the column")
    bad = out_of_range(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path} column {name!r} {range_problem(values[row])} on line {row + 2}",
            "replace infinite or huge values by an empty cell (missing) or a finite number",
        )
    return values
