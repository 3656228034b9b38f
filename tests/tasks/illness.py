"""A 966-row file in the layout of Autoformer's ``national_illness.csv``, made from real data.

The real illness file is not among the shared datasets, so its layout (a ``date`` column of weekly stamps from
2002-01-01, then seven numeric columns, ``OT`` last, 966 rows) is filled with a real series: every seventh
day of the first 6 762 days of ``exchange_rate.csv`` (LSTNet's daily exchange rates), columns 1-6 and OT.
"""

from __future__ import annotations

from pathlib import Path

ILLNESS_ROWS = 966
ILLNESS_COLUMNS = ("% WEIGHTED ILI", "%UNWEIGHTED ILI", "AGE 0-4", "AGE 5-24", "ILITOTAL", "NUM. OF PROVIDERS", "OT")


def write_illness_layout(shared_datasets: Path, path: Path) -> Path:
    """Write the illness-layout file to ``path`` (named ``national_illness.csv`` by the caller) and return it."""
    import pandas as pd

    source = pd.read_csv(shared_datasets / "forecasting" / "exchange_rate.csv")
    weekly = source.iloc[: 7 * ILLNESS_ROWS : 7][["1", "2", "3", "4", "5", "6", "OT"]].reset_index(drop=True)
    weekly.columns = list(ILLNESS_COLUMNS)
    dates = pd.date_range("2002-01-01", periods=ILLNESS_ROWS, freq="7D").strftime("%Y-%m-%d %H:%M:%S")
    weekly.insert(0, "date", dates)
    weekly.to_csv(path, index=False)
    return path
