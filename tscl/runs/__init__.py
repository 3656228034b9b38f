"""A run, from start to report: one home for everything a run directory holds and every operation on it.

* :func:`pretrain` / :func:`resume` train into a run directory (:mod:`tscl.runs.pretraining`);
* :func:`evaluate_run` runs the dataset's task on the frozen encoder and writes the metrics
  (:mod:`tscl.runs.evaluation`); :func:`encode_dataset` gives representations (:mod:`tscl.runs.inference`);
* :func:`list_runs` and :func:`compare_runs` read run directories (:mod:`tscl.runs.listing`,
  :mod:`tscl.runs.comparison`) through one metrics reader (:mod:`tscl.runs.metrics`), with each run's state
  and whether its metrics are stale (:mod:`tscl.runs.state`, from the run's lock, :mod:`tscl.runs.lock`);
* every evaluation records what it was computed from (:mod:`tscl.runs.provenance`); what ``--resume`` may
  change is :mod:`tscl.runs.resuming`'s;
* the layout (:mod:`tscl.runs.layout`), exclusive creation (:mod:`tscl.runs.claim`), atomic files
  (:mod:`tscl.runs.files`), metadata (:mod:`tscl.runs.meta`), the loss log (:mod:`tscl.runs.logs`) and
  diagnostics (:mod:`tscl.runs.diagnostics`);
* :class:`Interrupted`, raised by every long operation stopped by a signal (:mod:`tscl.runs.interrupt`).

Modules are imported on first use of a name, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "pretrain": "pretraining",
    "resume": "pretraining",
    "build_model": "pretraining",
    "PretrainResult": "pretraining",
    "evaluate_run": "evaluation",
    "encode_dataset": "inference",
    "load_run": "inference",
    "list_runs": "listing",
    "compare_runs": "comparison",
    "Comparison": "comparison",
    "Interrupted": "interrupt",
    "default_runs_root": "layout",
}

__all__ = list(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"tscl.runs.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'tscl.runs' has no attribute {name!r}")
