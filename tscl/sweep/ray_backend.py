"""Trials as Ray tasks: a sweep on a Ray cluster (or a local Ray instance), same run directories and records.

Optional extra (``pip install "tscl[ray]"``). Each trial is one Ray task with ``num_cpus``/``num_gpus``
resources; it runs :func:`tscl.sweep.trial.run_trial` in a Ray worker, so the run directories, the trial locks
and state files, resume and the summary are those of the local back-end. The sweep's output folder must be on
storage every node sees (on one machine it is). A task that fails (its worker died, the node was lost) fails
that trial only; the others go on. A trial larger than every node (``--cpus-per-trial``, ``--gpus-per-trial``)
is refused before any work. Ctrl-C cancels the pending tasks; running trials are interrupted with their
checkpoints saved (the sweep waits for their records), and re-running the sweep resumes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tscl.errors import ConfigError
from tscl.net import unreachable
from tscl.sweep.grid import Trial
from tscl.sweep.parallel import STOP_GRACE_SECONDS
from tscl.sweep.tracking import SweepTracking
from tscl.sweep.trial import Layout, TrialRecord, one_line, run_trial, write_state

Hook = Callable[[TrialRecord], None]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "backend ray (--backend ray) must have the ray package installed but it is not",
            hint='pip install "tscl[ray]"',
        ) from None
    return ray


RAY_CLIENT_PORT = 10001  # the port of a ``ray://HOST`` address that names none


def check_ray(address: str | None = None) -> None:
    """Fail before any work when Ray is missing, or when nothing listens at a ``HOST:PORT`` (or
    ``ray://HOST[:PORT]``) ``address``: ``ray.init`` would retry for minutes before saying so."""
    _ray()
    if address is not None:
        check_listening(address)


def check_listening(address: str) -> None:
    """A plain TCP connect to the host and port of ``address`` (``auto``/``local`` and other forms without a
    port are left to Ray).

    Raises:
        ConfigError: Nothing accepted the connection within a few seconds (:func:`tscl.net.unreachable`).
    """
    endpoint = _endpoint(address)
    reason = unreachable(*endpoint) if endpoint is not None else None
    if reason is not None:
        raise ConfigError(
            f"address (--address) must be a Ray cluster that is listening but nothing answers at {address} ({reason})",
            hint="start one there with `ray start --head`, fix the host or port, or omit --address for a local "
            "instance",
        )


def _endpoint(address: str) -> tuple[str, int] | None:
    """The ``(host, port)`` an address names, None when it names none (``auto``, ``local``, no port)."""
    client = address.startswith("ray://")
    rest = address.removeprefix("ray://").rstrip("/")
    host, colon, port = rest.rpartition(":")
    if not colon or "]" in port:  # no port (an IPv6 literal's colons are inside its brackets)
        host, port = rest, str(RAY_CLIENT_PORT) if client else ""
    host = host.strip("[]")
    if not host or not port.isdigit():
        return None
    return host, int(port)


def connect(address: str | None, cpus_per_trial: float, gpus_per_trial: float) -> Any:
    """Join Ray (``address`` None: start a local instance) and check that one node can run a trial.

    Raises:
        ConfigError: Ray cannot be reached, or no node has the CPUs and GPUs of one trial (its task would
            wait for such a node forever, saying nothing).
    """
    ray = _ray()
    joined = not ray.is_initialized()
    if joined:  # run_sweep's check_ray has probed the address before
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            what = (f"address (--address) must be a Ray cluster Ray can join but joining {address} failed"
                    if address is not None else
                    "backend ray (--backend ray) must start a local Ray instance but starting it failed")  # fmt: skip
            raise ConfigError(
                f"{what}: {one_line(exc)}",
                hint="start a cluster with `ray start --head` and pass --address auto, or omit --address",
            ) from None
    try:
        nodes = [node.get("Resources") or {} for node in ray.nodes() if node.get("Alive")]
    except Exception:  # a connection that cannot list the nodes: Ray schedules as it can
        return ray
    if any(n.get("CPU", 0) >= cpus_per_trial and n.get("GPU", 0) >= gpus_per_trial for n in nodes):
        return ray
    if joined:
        ray.shutdown()
    cpus, gpus = (max((n.get(key, 0) for n in nodes), default=0) for key in ("CPU", "GPU"))
    if cpus_per_trial > cpus:
        name, wanted, most = "cpus_per_trial", cpus_per_trial, f"{cpus:g} CPUs"
    elif gpus_per_trial > gpus:
        name, wanted, most = "gpus_per_trial", gpus_per_trial, f"{gpus:g} GPUs"
    else:
        name, wanted, most = "cpus_per_trial", cpus_per_trial, f"{cpus:g} CPUs, but not with the GPUs asked for"
    flag = "--" + name.replace("_", "-")
    raise ConfigError(
        f"{name} ({flag}) must fit on one Ray node (at most {most}) but got {wanted:g}",
        hint=f"lower {flag}, or add a node that large to the cluster (a trial that fits nowhere waits forever)",
    )


def _trial_task(trial: Trial, layout: Layout, threads: int, tracking: SweepTracking | None) -> TrialRecord:
    import torch

    torch.set_num_threads(threads)
    return run_trial(trial, layout, tracking=tracking)


def run_on_ray(
    todo: list[Trial],
    layout: Layout,
    started: Hook,
    ended: Hook,
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    tracking: SweepTracking | None = None,
) -> None:
    """Run ``todo`` as Ray tasks; ``started`` when a task is submitted, ``ended`` with each trial's record.

    ``address``: None starts (or reuses) a local Ray instance; "auto" or "ray://host:port" joins a cluster.
    """
    ray = connect(address, cpus_per_trial, gpus_per_trial)  # run_sweep connected before any work
    task = ray.remote(num_cpus=cpus_per_trial, num_gpus=gpus_per_trial, max_retries=0)(_trial_task)
    threads = max(1, int(cpus_per_trial))
    pending: dict[Any, Trial] = {}
    for trial in todo:
        pending[task.remote(trial, layout, threads, tracking)] = trial
        started(TrialRecord.of(trial, layout))
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                trial = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as exc:  # the task itself failed (worker died, node lost): this trial only
                    record = TrialRecord.of(trial, layout)
                    record.status, record.error = "failed", f"Ray task failed: {one_line(exc)}"
                    write_state(layout, record, record.status)  # the task could not
                ended(record)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)  # a running task gets a KeyboardInterrupt: its trial checkpoints and ends
        _collect_cancelled(ray, pending, ended)
        raise


def _collect_cancelled(ray: Any, pending: dict[Any, Trial], ended: Hook) -> None:
    """Wait (at most :data:`STOP_GRACE_SECONDS`, a second Ctrl-C stops waiting) for the records of the trials
    that were running when the sweep was interrupted: they say "interrupted" once their checkpoints are saved,
    rather than being torn down with the sweep's own Ray instance half-way. Tasks that never started give none.
    """
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    try:
        while pending and time.monotonic() < deadline:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            for ref in ready:
                pending.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception:  # cancelled before it started (or lost): the trial stays pending
                    continue
                ended(record)
    except KeyboardInterrupt:
        pass
