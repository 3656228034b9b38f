"""tscl: self-supervised contrastive representation learning for multivariate time series.

The heavy pieces are imported on first use, so ``import tscl`` (and ``tscl --help``) stays quick.
"""

from __future__ import annotations

from typing import Any

from tscl.errors import CheckpointError, ConfigError, DataError, DownloadError, TrainingError, TsclError

__version__ = "0.1.0"

_LAZY = {
    "ContrastiveModel": "tscl.training.model",
    "TS2Vec": "tscl.training.model",
    "load_dataset": "tscl.data",
    "RunConfig": "tscl.config",
    "pretrain": "tscl.runs.pretraining",
    "resume": "tscl.runs.pretraining",
    "evaluate_run": "tscl.runs.evaluation",
    "encode_dataset": "tscl.runs.inference",
    "list_runs": "tscl.runs.listing",
    "compare_runs": "tscl.runs.comparison",
    "Interrupted": "tscl.runs.interrupt",
    "run_sweep": "tscl.sweep",
    "SweepResult": "tscl.sweep",
}

__all__ = [
    "TsclError", "DataError", "DownloadError", "ConfigError", "CheckpointError", "TrainingError", "__version__",
    *_LAZY,
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tscl' has no attribute {name!r}")
