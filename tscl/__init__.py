"""tscl: self-supervised contrastive representation learning for multivariate time series.

The heavy pieces are imported on first use, so ``import tscl`` (and ``tscl --help``) stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tscl.errors import CheckpointError, ConfigError, DataError, DownloadError, TrainingError, TsclError, TsclWarning

if TYPE_CHECKING:  # type checkers see the real objects; at run time __getattr__ imports them on first use
    from tscl.config import RunConfig as RunConfig
    from tscl.data import load_dataset as load_dataset
    from tscl.runs.comparison import compare_runs as compare_runs
    from tscl.runs.evaluation import evaluate_run as evaluate_run
    from tscl.runs.inference import encode_dataset as encode_dataset
    from tscl.runs.interrupt import Interrupted as Interrupted
    from tscl.runs.listing import list_runs as list_runs
    from tscl.runs.pretraining import pretrain as pretrain
    from tscl.runs.pretraining import resume as resume
    from tscl.sweep import SweepResult as SweepResult
    from tscl.sweep import run_sweep as run_sweep
    from tscl.training.model import ContrastiveModel as ContrastiveModel
    from tscl.training.model import TS2Vec as TS2Vec

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
    "TsclError", "DataError", "DownloadError", "ConfigError", "CheckpointError", "TrainingError", "TsclWarning",
    "__version__",
    *_LAZY,
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tscl' has no attribute {name!r}")
