"""Project error types.

Library code raises these with a message of the form "`name` must <expectation> but got <actual>" and a hint;
the CLI prints them as ``error: ...`` / ``hint: ...`` and exits with code 1, never with a traceback.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path


class TsclError(Exception):
    """Base class of every error the project raises on bad input or bad state."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class DataError(TsclError):
    """A data file or dataset name is missing, malformed or unsuitable."""


class DownloadError(TsclError):
    """A download failed: no network, HTTP error or checksum mismatch."""


class ConfigError(TsclError):
    """A configuration value or flag is invalid."""


class CheckpointError(TsclError):
    """A checkpoint or run directory is missing, corrupted or incompatible."""


class TrainingError(TsclError):
    """Training cannot go on (e.g. the loss diverged to NaN or inf)."""


class DivergedError(TrainingError):
    """The loss became NaN or inf; ``step`` is the iteration it happened at."""

    def __init__(self, message: str, hint: str | None = None, step: int = 0) -> None:
        super().__init__(message, hint)
        self.step = step


class TsclWarning(UserWarning):
    """What the user must know about a run's data while the work goes on (e.g. a split that leaks, data the
    default evaluation refuses); the command line prints these as ``warning: ...`` lines instead."""


def warn_user(messages: Iterable[str], stacklevel: int = 3) -> None:
    """Each message as a :class:`TsclWarning`, attributed to the caller's caller (the user's code)."""
    for message in messages:
        warnings.warn(message, TsclWarning, stacklevel=stacklevel)


class Interrupted(TsclError):
    """Long work stopped on a signal, its state saved so that it can be continued (``hint`` says how)."""

    def __init__(self, message: str, hint: str | None = None, run_dir: Path | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_dir = run_dir

    @classmethod
    def training(cls, run_dir: Path, step: int, signal_name: str, world_size: int = 1) -> Interrupted:
        """Training stopped by a signal; ``world_size``: the run's number of processes (torchrun ranks)."""
        from tscl.text import shell

        hint = f"resume with `tscl pretrain --resume {shell(run_dir)}`"
        if world_size > 1:  # a run continues on as many processes as it ran on (tscl.runs.resuming)
            hint = (
                f"resume with `torchrun --nproc_per_node={world_size} -m tscl pretrain --resume {shell(run_dir)}` "
                f"({world_size} processes in all, as the run had)"
            )
        return cls(f"{signal_name} received: stopped at iteration {step}, checkpoint saved in {run_dir}", hint, run_dir)
