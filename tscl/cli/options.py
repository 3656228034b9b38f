"""Options shared by several commands, defined once as ``Annotated`` aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        "-d",
        help="Catalog name (ETTh1, GunPoint, BasicMotions, ...) or a path to a .csv/.tsv/.ts/.arff/.npy/.npz file.",
    ),
]


def _data_dir(value: str) -> Path:
    """An empty ``--data-dir`` is refused: it is what ``--data-dir "$UNSET"`` passes, and it would mean the
    current folder (a fetch would write its files and manifest there)."""
    if not value.strip():
        raise typer.BadParameter("must be a folder but got an empty value (an unset shell variable?)")
    return Path(value)


DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where to look for dataset files (default: $TSCL_DATA_DIR, then ./datasets, then the user cache).",
        envvar="TSCL_DATA_DIR",
        parser=_data_dir,
        metavar="<path>",
    ),
]
FetchDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where to write the files (default: $TSCL_DATA_DIR, else the user cache; created when missing).",
        envvar="TSCL_DATA_DIR",
        parser=_data_dir,
        metavar="<path>",
    ),
]
TimeColOpt = Annotated[str | None, typer.Option("--time-col", help="Time column of a forecasting CSV given as a path.")]
TargetOpt = Annotated[
    str | None, typer.Option("--target", help="Target column of a forecasting CSV (default: OT or the last).")
]
UnivariateOpt = Annotated[
    bool, typer.Option("--univariate/--multivariate", help="Forecasting: target column only, or all columns.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout instead of tables.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed of every random choice (default 42).")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps (default auto).")]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="CPU threads for torch (default: the cores other processes leave free, measured at start; "
        "give it for bit-identical reruns).",
    ),
]
WindowOpt = Annotated[
    int | None, typer.Option("--window", help="Grouped data: cut each recording into windows of this many steps.")
]
StrideOpt = Annotated[
    int | None, typer.Option("--stride", help="Grouped data: steps between windows (default: --window).")
]
SplitByOpt = Annotated[
    str | None,
    typer.Option(
        "--split-by",
        help="Grouped data: subject (default; no subject in two of train/valid/test), trial, or random (windows: "
        "optimistic, warned about).",
    ),
]
SplitSeedOpt = Annotated[int | None, typer.Option("--split-seed", help="Grouped data: seed of the split (0).")]
