"""``run_sweep``: validate a grid, run its unfinished trials (in parallel if asked), write the summary."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tscl.errors import ConfigError, DataError
from tscl.paths import PathArg, as_data_dir
from tscl.runs.interrupt import Interrupted, signals_as_interrupt
from tscl.runs.layout import is_run_dir
from tscl.runs.tracking import check_trackers
from tscl.sweep.grid import Grid, Trial, load_grid
from tscl.sweep.preflight import check_evaluation_settings
from tscl.sweep.summary import summarise, summarise_archives, write_summary
from tscl.sweep.tracking import SweepTracking, close_sweep, open_sweep
from tscl.sweep.trial import DONE, Layout, TrialRecord, planned_action, read_state, run_trial
from tscl.text import plural
from tscl.training.checkpoint import atomic_write_text
from tscl.training.threads import choose_threads


@dataclass
class SweepEvent:
    """Progress of a sweep: ``fetch`` for each missing dataset downloaded first (``message`` says how it went),
    ``begin`` (once), then ``start`` and ``end`` of each trial run by this call."""

    kind: str
    trial: TrialRecord | None
    total: int
    done: int = 0
    running: int = 0
    failed: int = 0
    skipped: int = 0
    message: str = ""


EventHook = Callable[[SweepEvent], None]
BACKENDS = ("local", "ray")


@dataclass
class SweepResult:
    """Every trial's record and the summary rows; ``ok`` is True iff every trial finished."""

    name: str
    output: Path
    trials: list[TrialRecord]
    rows: list[dict[str, Any]]
    dry_run: bool = False
    files: list[Path] = field(default_factory=list)
    archives: list[dict[str, Any]] = field(default_factory=list)
    not_in_grid: list[str] = field(default_factory=list)  # trial folders of earlier grids (settings since changed)

    @property
    def ok(self) -> bool:
        return all(r.status == "finished" for r in self.trials)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.trials:
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "sweep": self.name, "output": str(self.output), "dry_run": self.dry_run, "ok": self.ok,
            "counts": self.counts(), "rows": self.rows, "archives": self.archives,
            "trials": [t.to_dict() for t in self.trials], "files": [str(f) for f in self.files],
            "not_in_grid": self.not_in_grid,
        }  # fmt: skip


def run_sweep(
    grid: PathArg | Mapping[str, Any] | Grid,
    workers: int = 1,
    data_dir: PathArg | None = None,
    dry_run: bool = False,
    output: PathArg | None = None,
    on_event: EventHook | None = None,
    backend: str = "local",
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    track: Iterable[str] = (),
    threads: int | None = None,
) -> SweepResult:
    """Run every unfinished trial of ``grid`` and write ``summary.json``/``summary.csv`` in its output folder.

    Args:
        grid: Path of a grid TOML file, the same content as a mapping, or a loaded :class:`Grid`.
        workers: Trials at once; above 1, in spawned processes sharing the CPUs (threads = cores // workers).
        data_dir: Where datasets are found; overrides the grid's ``data_dir``. Catalog datasets found nowhere
            are fetched into the cache before any trial starts; the trials of one that cannot be fetched fail
            with the download error (the next run tries again).
        dry_run: Only list the trials and what each still needs (run, resume, evaluate, skip).
        output: Output folder; overrides the grid's ``output``.
        on_event: Called with a :class:`SweepEvent` when trials start and end (for progress displays).
        backend: "local" (this machine, ``workers`` processes) or "ray" (Ray tasks; see
            :mod:`tscl.sweep.ray_backend`), with ``address`` (None: a local Ray instance; "auto" or
            "ray://host:port": a cluster) and each trial's ``cpus_per_trial`` / ``gpus_per_trial``.
        track: Experiment trackers ("mlflow", "tensorboard"): one tracked run per trial, nested under one for
            the sweep (see :mod:`tscl.sweep.tracking`).
        threads: CPU threads of every trial (pretraining, resuming and evaluating), over the grid's ``threads``;
            None: the grid's, else each trial takes the cores left free when it starts (``tscl.training.threads``).

    Raises:
        ConfigError: The grid is invalid (checked for every trial before any starts).
        Interrupted: SIGINT/SIGTERM (finished trials are kept, interrupted ones have checkpoints); re-running
            the same sweep resumes it.
    """
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ConfigError(f"workers must be a positive integer but got {workers!r}", hint="pass --workers N, N >= 1")
    workers = int(workers)
    if threads is not None:
        choose_threads(threads)  # a bad count fails before anything is read or run
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)} but got {backend!r}")
    ray_settings = (("address (--address)", address is not None),
                    ("cpus_per_trial (--cpus-per-trial)", cpus_per_trial != 1),
                    ("gpus_per_trial (--gpus-per-trial)", gpus_per_trial != 0))  # fmt: skip
    ray_only = [flag for flag, given in ray_settings if given]
    if backend == "ray" and workers != 1:  # Ray runs as many trials at once as their resources allow
        raise ConfigError(
            f"workers (--workers) must not come with backend ray (--backend ray) but got workers {workers}",
            hint="Ray runs as many trials at once as fit its CPUs: set --cpus-per-trial instead",
        )
    if ray_only and backend != "ray":
        raise ConfigError(f"{', '.join(ray_only)} must come with backend ray (--backend ray) but it is {backend}",
                          hint=f"add --backend ray, or drop {', '.join(ray_only)}")  # fmt: skip
    if backend == "ray":
        from tscl.sweep.ray_backend import check_ray

        check_ray(address)  # nothing listening at --address fails here, in seconds, before any work
    track = check_trackers(track)
    if not isinstance(grid, Grid):
        grid = load_grid(grid, data_dir)
    elif data_dir is not None:
        directory = as_data_dir(data_dir)
        grid = dataclasses.replace(grid, data_dir=None if directory is None else str(directory.expanduser().resolve()))
    if output is not None:
        grid = dataclasses.replace(grid, output=Path(output))
    trials = grid.trials()
    if threads is not None:
        trials = [dataclasses.replace(t, config=t.config.model_copy(update={"threads": threads})) for t in trials]
    check_output_folder(grid.output)
    layout = Layout(grid.output)
    records = {t.id: _planned(t, layout) for t in trials}
    if dry_run:
        check_datasets_found(grid)
        check_evaluation_settings([t for t in trials if records[t.id].action != DONE], grid.name)  # as a run would
        return SweepResult(grid.name, grid.output, list(records.values()), [], dry_run=True,
                           not_in_grid=not_in_grid(layout, records))  # fmt: skip
    unfinished = [t for t in trials if records[t.id].action != DONE]
    checked = check_evaluation_settings(unfinished, grid.name)  # the data at hand, before anything is written
    if backend == "ray" and unfinished:
        from tscl.sweep.ray_backend import connect

        connect(address, cpus_per_trial, gpus_per_trial)  # a trial no node can run fails here, not forever
    try:
        grid.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"sweep output folder {grid.output} must be creatable but got: {exc.strerror or exc}",
            hint="set `output` in the grid (or --output) to a folder you may write to",
        ) from exc
    atomic_write_text(grid.output / "grid.toml", grid.to_toml())
    _fetch_missing(grid, trials, records, on_event)
    check_evaluation_settings(unfinished, grid.name, checked)  # the data fetched just now
    todo = [t for t in trials if records[t.id].action != DONE and records[t.id].status == "pending"]
    tracking = open_sweep(track, grid.name, grid.output) if todo else None
    interrupted = False
    try:
        with signals_as_interrupt():
            if backend == "ray":
                _run_ray(todo, layout, records, on_event, address, cpus_per_trial, gpus_per_trial, tracking)
            else:
                _run(todo, layout, workers, records, on_event, tracking)
    except KeyboardInterrupt:
        interrupted = True
    result = _finish(grid, trials, records, layout)
    result.not_in_grid = not_in_grid(layout, records)
    close_sweep(tracking, grid.output, result.rows, result.ok)
    if interrupted or any(r.status == "interrupted" for r in result.trials):
        raise Interrupted(
            f"sweep interrupted: {result.counts().get('finished', 0)} of {plural(len(trials), 'trial')} finished",
            hint="re-run the same command to resume the rest",
        )
    return result


def _fetch_missing(
    grid: Grid, trials: list[Trial], records: dict[str, TrialRecord], on_event: EventHook | None
) -> None:
    """Download the catalog datasets no unfinished trial can find; mark the trials of failed ones failed."""
    from tscl.data.fetch import FetchResult, fetch_missing

    needed = list(dict.fromkeys(t.dataset for t in trials if records[t.id].action != DONE))

    def report(result: FetchResult) -> None:
        if on_event is not None:
            text = "fetched" if result.error is None else f"could not fetch: {result.error.message}"
            on_event(SweepEvent("fetch", None, total=len(trials), message=f"{result.name}: {text}"))

    for result in fetch_missing(needed, grid.data_dir, on_result=report):
        if result.error is None:
            continue
        for trial in trials:
            if trial.dataset.lower() == result.name.lower() and records[trial.id].action != DONE:
                records[trial.id].status = "failed"
                records[trial.id].error = f"fetching {result.name} failed: {result.error.message}"


def check_datasets_found(grid: Grid) -> None:
    """Every dataset of ``grid`` is a catalog name (fetched by the sweep when missing), a known name with its
    files or an existing file, checked without loading it: a dry run catches a misspelt name. (A real sweep
    fails such trials alone and runs the rest.)"""
    from tscl.data.catalog import find_entry
    from tscl.data.locate import locate, locate_path, looks_like_path

    for name in grid.datasets:
        if not looks_like_path(name) and find_entry(name) is not None:
            continue  # a catalog dataset: the sweep fetches it when it is not found
        try:
            if looks_like_path(name):
                locate_path(Path(name).expanduser())
            else:
                locate(name, grid.data_dir)
        except DataError as exc:
            raise DataError(f"{grid.name}: {exc.message}", exc.hint) from None


def _planned(trial: Trial, layout: Layout) -> TrialRecord:
    record = TrialRecord.of(trial, layout)
    record.action = planned_action(layout.run_dir(trial.id))
    if record.action == DONE:
        record.status = "finished"
    return record


def _run(
    todo: list[Trial],
    layout: Layout,
    workers: int,
    records: dict[str, TrialRecord],
    on_event: EventHook | None,
    tracking: SweepTracking | None,
) -> None:
    started, ended = _tally(todo, records, on_event)
    if workers == 1 or len(todo) <= 1:
        for trial in todo:
            record = run_trial(trial, layout, on_start=started, tracking=tracking)
            ended(record)
            if record.status == "interrupted":
                return
    elif todo:
        from tscl.sweep.parallel import WorkerPool

        WorkerPool(todo, layout, workers, tracking).run(started, ended)


def _run_ray(
    todo: list[Trial],
    layout: Layout,
    records: dict[str, TrialRecord],
    on_event: EventHook | None,
    address: str | None,
    cpus_per_trial: float,
    gpus_per_trial: float,
    tracking: SweepTracking | None,
) -> None:
    from tscl.sweep.ray_backend import run_on_ray

    started, ended = _tally(todo, records, on_event)
    if todo:
        run_on_ray(todo, layout, started, ended, address, cpus_per_trial, gpus_per_trial, tracking)


def _tally(
    todo: list[Trial], records: dict[str, TrialRecord], on_event: EventHook | None
) -> tuple[Callable[[TrialRecord], None], Callable[[TrialRecord], None]]:
    """The start and end hooks that keep ``records`` and the progress events up to date."""
    finished = sum(record.action == DONE for record in records.values())  # not the trials whose data failed
    tally = SweepEvent("begin", None, total=len(todo), skipped=finished)
    emit = on_event or (lambda event: None)
    emit(dataclasses.replace(tally))
    running: set[str] = set()

    def started(record: TrialRecord) -> None:
        running.add(record.id)
        tally.running = len(running)
        emit(dataclasses.replace(tally, kind="start", trial=record))

    def ended(record: TrialRecord) -> None:
        records[record.id] = record
        running.discard(record.id)
        tally.running = len(running)
        tally.done += 1
        tally.failed += record.status != "finished"
        emit(dataclasses.replace(tally, kind="end", trial=record))

    return started, ended


def check_output_folder(output: Path) -> None:
    """The output folder must be new or a folder that is not a run directory (dry runs check it too).

    Raises:
        ConfigError: It is a file, or a run directory made by ``tscl pretrain``.
    """
    hint = "set `output` in the grid (or --output) to a new folder or an earlier output of this sweep"
    if output.exists() and not output.is_dir():
        raise ConfigError(f"sweep output folder {output} must be a folder but is a file", hint=hint)
    if is_run_dir(output):
        raise ConfigError(f"sweep output folder {output} must not be a run directory but it holds a run", hint=hint)


def not_in_grid(layout: Layout, records: Mapping[str, TrialRecord]) -> list[str]:
    """The trial folders in the output folder that are no trial of this grid: made by an earlier version of the
    grid whose settings changed (a trial's id hashes its settings) or that listed more. Left as they are."""
    trials = layout.output / "trials"
    found = [p.name for p in trials.iterdir() if p.is_dir()] if trials.is_dir() else []
    return sorted(name for name in found if name not in records)


def _finish(grid: Grid, trials: list[Trial], records: dict[str, TrialRecord], layout: Layout) -> SweepResult:
    """Final status of every trial, read from disk (another sweep may have finished some), and the summary."""
    for trial in trials:
        record = records[trial.id]
        if planned_action(layout.run_dir(trial.id)) == DONE:
            record.status, record.error = "finished", None
        elif record.status == "pending":
            state = read_state(layout, trial.id)
            if state.get("status") in ("failed", "interrupted"):
                record.status, record.error = state["status"], state.get("error")
    ordered = [records[t.id] for t in trials]
    rows = summarise(trials, records, layout)
    archives = summarise_archives(rows, grid.archives)
    files = list(write_summary(layout, grid.name, rows, ordered, archives))
    if any(trial.evaluate.plots for trial in trials):
        from tscl.sweep.plots import plot_summaries

        files += plot_summaries(grid.output / "plots", rows)
    return SweepResult(grid.name, grid.output, ordered, rows, files=files, archives=archives)
