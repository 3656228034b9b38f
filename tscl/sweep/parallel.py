"""Trials in parallel worker processes (``spawn`` context), the machine's threads split between them.

Each worker takes trials from a shared queue and reports "start" and "end" messages. A worker that dies in the
middle of a trial (out of memory, segfault, killed) fails that trial only: a replacement worker takes over the
rest of the queue. Workers exit when they see their parent is gone, so killing a sweep leaves no orphans busy.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from tscl.sweep.grid import Trial
from tscl.sweep.tracking import SweepTracking
from tscl.sweep.trial import Layout, TrialRecord, run_trial, write_state

Hook = Callable[[TrialRecord], None]
STOP_GRACE_SECONDS = 120.0


def cpu_count() -> int:
    """CPUs this process may use (the affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int) -> int:
    return max(1, cpu_count() // workers)


def worker_main(tasks: Any, results: Any, threads: int, layout: Layout, tracking: SweepTracking | None) -> None:
    """Body of a worker process: run trials from ``tasks`` until a ``None`` sentinel or the parent's death."""
    import torch

    torch.set_num_threads(threads)
    parent = os.getppid()
    pid = os.getpid()
    _interrupt_when_orphaned(parent)
    try:
        while True:
            try:
                trial = tasks.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:
                    return
                continue
            if trial is None:
                return
            results.put(("take", pid, trial.id))
            record = run_trial(trial, layout, on_start=lambda r: results.put(("start", pid, r)), tracking=tracking)
            results.put(("end", pid, record))
            if record.status == "interrupted":
                return
    except KeyboardInterrupt:
        return


def _interrupt_when_orphaned(parent: int, poll_seconds: float = 1.0) -> None:
    """Interrupt this worker (SIGINT: the trial checkpoints and the worker ends) once ``parent`` is gone.

    Between trials the worker notices by itself; this covers a trial in progress when the sweep is killed
    (``kill -9`` of the sweep alone), which would otherwise run to its end as an orphan.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="tscl-orphan-watch", daemon=True).start()


class WorkerPool:
    """``workers`` processes working through ``trials``, reporting each trial's start and end to hooks."""

    def __init__(
        self, trials: list[Trial], layout: Layout, workers: int, tracking: SweepTracking | None = None
    ) -> None:
        self.context = mp.get_context("spawn")
        self.layout, self.tracking = layout, tracking
        self.size = max(1, min(workers, len(trials)))
        self.threads = threads_per_worker(self.size)
        self.tasks = self.context.Queue()
        self.results = self.context.Queue()
        self.trials = {t.id: t for t in trials}
        self.ended: set[str] = set()
        self.holding: dict[int, str] = {}  # worker pid -> id of the trial it took from the queue
        self.running: dict[int, TrialRecord] = {}  # worker pid -> trial it is working on
        self.processes: dict[int, Any] = {}
        self.stopping = False
        self.spawned = 0
        for trial in trials:
            self.tasks.put(trial)
        for _ in range(self.size):
            self.tasks.put(None)

    def run(self, on_start: Hook, on_end: Hook) -> None:
        """Run every trial; on KeyboardInterrupt, stop the workers gracefully and re-raise."""
        self.on_start, self.on_end = on_start, on_end
        try:
            for _ in range(self.size):
                self._spawn()
            while len(self.ended) < len(self.trials):
                if not self._receive(timeout=0.5):
                    self._reap()
        except KeyboardInterrupt:
            self._stop()
            raise
        finally:
            self.tasks.cancel_join_thread()
        for process in self.processes.values():
            process.join(timeout=10)

    def _spawn(self) -> None:
        process = self.context.Process(
            target=worker_main, args=(self.tasks, self.results, self.threads, self.layout, self.tracking), daemon=True
        )
        process.start()
        assert process.pid is not None
        self.processes[process.pid] = process
        self.spawned += 1

    def _receive(self, timeout: float) -> bool:
        """Handle one message from a worker; False when none came within ``timeout`` seconds."""
        try:
            kind, pid, payload = self.results.get(timeout=timeout) if timeout else self.results.get_nowait()
        except queue.Empty:
            return False
        if kind == "take":
            self.holding[pid] = payload
        elif kind == "start":
            self.running[pid] = payload
            self.on_start(payload)
        else:
            self._end(pid, payload)
        return True

    def _end(self, pid: int, record: TrialRecord) -> None:
        self.holding.pop(pid, None)
        self.running.pop(pid, None)
        if record.id not in self.ended:
            self.ended.add(record.id)
            self.on_end(record)

    def _reap(self) -> None:
        """Fail the trial of each worker that died, and replace the worker while trials are left."""
        dead = [pid for pid, process in self.processes.items() if not process.is_alive()]
        if not dead:
            return
        while self._receive(timeout=0):  # reports the dead sent just before exiting
            pass
        for pid in dead:
            process = self.processes.pop(pid)
            trial_id = self.holding.get(pid)
            if trial_id is not None:
                record = self.running.get(pid) or TrialRecord.of(self.trials[trial_id], self.layout)
                record.status = "failed"
                record.error = f"worker process died (exit code {process.exitcode}) while running this trial"
                write_state(self.layout, record, record.status)  # the worker could not
                self._end(pid, record)
        waiting = len(self.trials) - len(self.ended) - len(self.holding)
        if waiting > 0 and not self.processes and self.spawned >= len(self.trials) + self.size:
            self._fail_lost()  # safety net: trials vanished from the queue with their workers
            return
        while not self.stopping and waiting > 0 and len(self.processes) < self.size:
            self.tasks.put(None)  # the replacement's own sentinel: extra ones are harmless
            self._spawn()

    def _fail_lost(self) -> None:
        for trial_id, trial in self.trials.items():
            if trial_id not in self.ended:
                record = TrialRecord.of(trial, self.layout)
                record.status, record.error = "failed", "lost when its worker process died; re-run the sweep"
                write_state(self.layout, record, record.status)
                self._end(-1, record)

    def _stop(self) -> None:
        """Ask every worker to stop (SIGTERM: pretraining saves a checkpoint), wait for their reports."""
        self.stopping = True
        for process in self.processes.values():
            if process.is_alive() and process.pid is not None:
                try:
                    os.kill(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        try:
            while any(p.is_alive() for p in self.processes.values()) and time.monotonic() < deadline:
                self._receive(timeout=0.2)
            while self._receive(timeout=0.05):
                pass
        except KeyboardInterrupt:
            pass
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
