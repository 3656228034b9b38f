"""Batch experiments: a grid of datasets x objectives x seeds x settings, run resumably, summarised.

``run_sweep(grid)`` is the entry point (``tscl sweep GRID.toml`` calls it). The grid format is described in
:mod:`tscl.sweep.grid`; run directories are read through :mod:`tscl.runs`.
"""

from tscl.sweep.grid import EvaluateSettings, Grid, Trial, load_grid
from tscl.sweep.runner import SweepEvent, SweepResult, run_sweep
from tscl.sweep.summary import mean_std
from tscl.sweep.trial import TrialRecord

__all__ = [
    "EvaluateSettings",
    "Grid",
    "SweepEvent",
    "SweepResult",
    "Trial",
    "TrialRecord",
    "load_grid",
    "mean_std",
    "run_sweep",
]
