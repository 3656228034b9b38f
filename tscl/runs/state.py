"""What state a run is in, and whether stored metrics still describe its latest checkpoint.

The process training a run holds its lock (``run.lock``, :mod:`tscl.runs.lock`), which the operating system
releases however that process ends. So a run is ``running`` while its lock is held, and ``dead`` when its
``meta.json`` still says running but nobody holds the lock (killed: SIGKILL, out of memory, power cut; runs of
older versions, which took no lock, the same); otherwise its state is the status ``meta.json`` records
(``finished``, ``interrupted``, ``failed``).

Metrics are ``stale`` when the checkpoint they were computed from is no longer the run's latest: each
evaluation records the sha256 (and step) of the checkpoint it loaded (:mod:`tscl.runs.provenance`), compared
with the sha256 written beside ``checkpoints/last.pt``. Metrics of older versions, which record neither, are
stale when the checkpoint is newer than the metrics file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tscl.errors import CheckpointError
from tscl.runs.layout import CHECKPOINT, LOCK
from tscl.runs.lock import ProcessLock, is_held
from tscl.training.checkpoint import current_sha256s

RUNNING, DEAD = "running", "dead"

__all__ = [
    "DEAD",
    "RUNNING",
    "holder_text",
    "is_live",
    "run_lock",
    "run_state",
    "stale_reason",
    "take_run_lock",
]


def run_lock(run_dir: Path) -> ProcessLock:
    """The lock the process training ``run_dir`` holds."""
    return ProcessLock(run_dir / LOCK)


def take_run_lock(run_dir: Path) -> ProcessLock:
    """The run's lock, held by this process until it stops training the run (release it then)."""
    lock = run_lock(run_dir)
    if not lock.acquire():
        raise CheckpointError(
            f"run {run_dir} must not be in training to be trained but {holder_text(run_dir)} is training it",
            hint="wait for it to finish (see `tscl runs`), or stop that process first",
        )
    return lock


def is_live(run_dir: Path) -> bool:
    """Whether a process is training the run now (holds its lock); nothing is written."""
    return is_held(run_dir / LOCK)


def run_state(run_dir: Path, meta: Mapping[str, Any] | None) -> str:
    """``running``, ``dead``, or the status in ``meta.json`` (``finished``, ``interrupted``, ``failed``)."""
    if is_live(run_dir):
        return RUNNING
    status = str((meta or {}).get("status") or "unknown")
    return DEAD if status == RUNNING else status


def holder_text(run_dir: Path) -> str:
    """``process PID on HOST`` of the lock's holder, as far as its record says."""
    owner = run_lock(run_dir).owner() or {}
    return f"process {owner.get('pid', '?')} on {owner.get('host', '?')}"


def stale_reason(
    run_dir: Path, metrics: Mapping[str, Any] | None, meta: Mapping[str, Any] | None, metrics_file: Path
) -> str | None:
    """Why ``metrics`` (stored in ``metrics_file``) no longer describe the run's latest checkpoint, or None.

    Args:
        run_dir: The run directory.
        metrics: The stored metrics (None: not evaluated, never stale).
        meta: The run's ``meta.json``.
        metrics_file: Where the metrics are stored (its time is compared for metrics of older versions).
    """
    if metrics is None:
        return None
    recorded = (metrics.get("provenance") or {}).get("checkpoint")
    if not isinstance(recorded, Mapping):
        checkpoint = run_dir / CHECKPOINT
        try:
            newer = checkpoint.stat().st_mtime > metrics_file.stat().st_mtime
        except OSError:
            return None
        return f"the checkpoint is newer than {metrics_file.name}" if newer else None
    current, step = current_sha256s(run_dir / CHECKPOINT), (meta or {}).get("step")
    if current and recorded.get("sha256") is not None:
        if recorded["sha256"] in current:
            return None
    elif step is None or step == recorded.get("step"):  # checkpoints of older versions record no sha256
        return None
    return f"computed at step {recorded.get('step', '?')}, the latest checkpoint is step {step or '?'}"
