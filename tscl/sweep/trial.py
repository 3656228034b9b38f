"""Running one trial: pretrain (or resume) then evaluate, in a normal run directory, fail-soft.

Layout of a sweep's output folder::

    grid.toml               the grid as run
    trials/<trial-id>/      a normal run directory (config.toml, meta.json, checkpoints/, metrics.json, ...)
    state/<trial-id>.json   the trial's last outcome (status, one-line error, seconds), written atomically
    state/<trial-id>.lock   present while a process works on the trial
    summary.json, summary.csv

Whether a trial is done is read from its run directory (``metrics.json`` present and ``meta.json`` status
finished), never from the state file alone, so a re-run skips exactly the finished trials.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tscl.errors import TsclError, TsclWarning
from tscl.runs.files import read_json_or_none, write_json
from tscl.runs.layout import CONFIG, META
from tscl.runs.metrics import read_metrics
from tscl.sweep.grid import Trial
from tscl.sweep.lock import TrialLock
from tscl.sweep.tracking import SweepTracking, track_evaluation, trial_trackers

# What a trial needs, read from its run directory.
NEW, RESUME, EVALUATE, DONE = "run", "resume", "evaluate", "skip"


@dataclass(frozen=True)
class Layout:
    """Paths inside a sweep's output folder."""

    output: Path

    def run_dir(self, trial_id: str) -> Path:
        return self.output / "trials" / trial_id

    def state(self, trial_id: str) -> Path:
        return self.output / "state" / f"{trial_id}.json"

    def lock(self, trial_id: str) -> Path:
        return self.output / "state" / f"{trial_id}.lock"


@dataclass
class TrialRecord:
    """What happened to a trial; ``status`` is finished, failed, interrupted, locked or pending."""

    id: str
    dataset: str
    objective: str
    setting: str
    seed: int
    run_dir: str
    status: str = "pending"
    action: str = NEW
    error: str | None = None
    seconds: float | None = None

    @classmethod
    def of(cls, trial: Trial, layout: Layout) -> TrialRecord:
        return cls(trial.id, trial.dataset, trial.objective, trial.setting, trial.seed, str(layout.run_dir(trial.id)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def planned_action(run_dir: Path) -> str:
    """What the trial in ``run_dir`` still needs: run (from scratch), resume, evaluate or skip (finished)."""
    meta = read_json_or_none(run_dir / META)
    if meta is None or not (run_dir / CONFIG).is_file():
        return NEW
    if meta.get("status") != "finished":
        return RESUME
    return DONE if read_metrics(run_dir) is not None else EVALUATE


def read_state(layout: Layout, trial_id: str) -> dict[str, Any]:
    return read_json_or_none(layout.state(trial_id)) or {}


def one_line(exc: BaseException) -> str:
    """A one-line description of an error: the project's message, or the exception type and text."""
    text = exc.message if isinstance(exc, TsclError) else f"{type(exc).__name__}: {exc}"
    return " ".join(str(text).split()) or type(exc).__name__


def run_trial(
    trial: Trial,
    layout: Layout,
    on_start: Callable[[TrialRecord], None] | None = None,
    tracking: SweepTracking | None = None,
) -> TrialRecord:
    """Bring ``trial`` to finished (pretrain or resume, then evaluate); errors are recorded, never raised.

    ``tracking``: send the trial's run to the sweep's trackers (see :mod:`tscl.sweep.tracking`).

    A KeyboardInterrupt (or the pretraining's own SIGINT/SIGTERM handling) ends the trial as "interrupted"
    with its checkpoint saved; the next sweep resumes it.
    """
    record = TrialRecord.of(trial, layout)
    lock = TrialLock(layout.lock(trial.id))
    if not lock.acquire():
        owner = lock.owner() or {}
        record.status = "locked"
        record.error = f"being run by process {owner.get('pid', '?')} on {owner.get('host', '?')}"
        return record
    with lock:
        record.action = planned_action(layout.run_dir(trial.id))
        if record.action == DONE:
            record.status = "finished"
            return record
        if on_start is not None:
            on_start(record)
        began = time.perf_counter()
        write_state(layout, record, "running")
        try:
            _execute(trial, layout.run_dir(trial.id), record.action, tracking)
            record.status = "finished"
        except KeyboardInterrupt:
            record.status, record.error = "interrupted", "interrupted; re-run the sweep to resume"
        except Exception as exc:  # fail-soft: any error ends this trial only
            from tscl.runs.interrupt import Interrupted

            record.status = "interrupted" if isinstance(exc, Interrupted) else "failed"
            record.error = one_line(exc)
        record.seconds = round(time.perf_counter() - began, 3)
        write_state(layout, record, record.status)
    return record


def _execute(trial: Trial, run_dir: Path, action: str, tracking: SweepTracking | None) -> None:
    from tscl.runs.evaluation import evaluate_run
    from tscl.runs.pretraining import pretrain, resume

    if action in (NEW, RESUME):
        trackers = [] if tracking is None else trial_trackers(tracking, run_dir, resumed=action == RESUME)

        def tracked(step: int, total: int, loss: float) -> None:
            for tracker in trackers:
                tracker.step(step, loss)

        try:
            with warnings.catch_warnings():  # kept in the trial's meta.json, not printed by every trial
                warnings.simplefilter("ignore", TsclWarning)
                if action == NEW:
                    if run_dir.exists():  # killed before the run wrote its metadata: nothing worth keeping
                        shutil.rmtree(run_dir)
                    on_step = tracked if trackers else None
                    pretrain(trial.config, run_dir=run_dir, on_step=on_step, forecasting_options_everywhere=True)
                else:
                    threads = {"threads": trial.config.threads} if trial.config.threads else {}
                    resume(run_dir, on_step=tracked if trackers else None, changes=threads)
        except BaseException:
            for tracker in trackers:
                tracker.abort()
            raise
        for tracker in trackers:
            tracker.finish(run_dir)
    settings = trial.evaluate
    metrics = evaluate_run(
        run_dir, data_dir=Path(trial.config.data_dir) if trial.config.data_dir else None, task=settings.task,
        head=settings.head, seed=settings.eval_seed, device=trial.config.device, plots=settings.plots,
        baselines=settings.baselines, forecasting=settings.forecasting(), threads=trial.config.threads,
    )  # fmt: skip
    if tracking is not None:
        track_evaluation(tracking, run_dir, metrics)


def write_state(layout: Layout, record: TrialRecord, status: str) -> None:
    """``state/<id>.json``: the trial's last outcome (also written by the sweep for a worker that died)."""
    state = {
        **record.to_dict(),
        "status": status,
        "pid": os.getpid(),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_json(layout.state(record.id), state)
