"""Batch experiments: a grid of datasets x objectives x seeds x settings, run resumably, summarised.

``run_sweep(grid)`` is the entry point (``tscl sweep GRID.toml`` calls it); ``compare_runs`` backs
``tscl runs compare``. The grid format is described in :mod:`tscl.sweep.grid`.
"""

from tscl.sweep.compare import Comparison, compare_runs
from tscl.sweep.grid import EvaluateSettings, Grid, Trial, load_grid
from tscl.sweep.runner import SweepEvent, SweepInterrupted, SweepResult, run_sweep
from tscl.sweep.summary import headline_metrics, mean_std
from tscl.sweep.trial import TrialRecord

__all__ = [
    "Comparison",
    "EvaluateSettings",
    "Grid",
    "SweepEvent",
    "SweepInterrupted",
    "SweepResult",
    "Trial",
    "TrialRecord",
    "compare_runs",
    "headline_metrics",
    "load_grid",
    "mean_std",
    "run_sweep",
]
